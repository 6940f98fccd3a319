"""Stage 4, generate: the accepted policy and its parent answer fresh prompts; the comparisons go into the
annotation queue (newest round first), which is also how annotators measure the new policy's win rate."""

import math

from annotation.models import Comparison
from annotation.rounds.generation import fresh_prompts, responses_generate
from annotation.rounds.protocol import round_record
from annotation.rounds.stages.context import StageContext, StageError
from annotation.rounds.summary import GenerateRecord, read_summary


def stage_generate(ctx: StageContext) -> None:
    training_round = ctx.load_round()
    summary = read_summary(training_round.metrics)
    if not summary.policy_accepted or summary.generated_comparisons is not None:
        return
    if Comparison.objects.filter(round=training_round).exists():
        return
    project = training_round.project
    new_policy = training_round.policy
    previous = new_policy.parent if new_policy else None
    if new_policy is None or previous is None:
        raise StageError("The accepted policy has no parent version to compare against.")
    prompts = fresh_prompts(project, ctx.config.generate_prompts)
    newer = math.ceil(project.responses_per_task / 2)
    comparisons = responses_generate(
        project=project,
        prompts=prompts,
        sources=[(new_policy, newer), (previous, project.responses_per_task - newer)],
        generation=ctx.config.generation_config(),
        progress=ctx.progress,
        should_stop=ctx.should_stop,
        training_round=training_round,
    )
    round_record(
        round_id=ctx.round_id,
        runner=ctx.runner,
        summary=GenerateRecord(generated_comparisons=len(comparisons)),
    )
    ctx.progress(1.0, {})
