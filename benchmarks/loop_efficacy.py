"""Does one default round move the policy toward what the annotators prefer? (DESIGN sections 5 and 9.)

The whole loop through the product's own services, on the shipped models:
1. a project with the default policy (SmolLM2-135M-Instruct) imports `--train` prompts (and `--eval` eval
   split prompts, which only the acceptance checks use);
2. the policy writes the comparisons (`generate_responses`, `--per-task` samples a prompt, two by
   default) — once per run; the other rules' projects import the same texts;
3. a scripted annotator (`benchmarks/loop_rules.py`) leases and labels every comparison by its rule
   (with more than two responses: a ranking, equal scores tied);
4. a round with the project's default config (no preset) runs in this process, as a gpu worker runs it;
5. the old and the new policy (the accepted one, or the rejected candidate) answer `--heldout` prompts
   that no stage saw, `--samples` times each at the serving temperature, and the same rule judges them.

Prints per rule and kind: the oracle win rate of new over old with its 95% interval (ties half) and the
decisive-only rate, the exact KL per response, the round's reward-model accuracy (its own held-out pairs)
and the accuracy on the held-out prompts' pairs labelled by the rule, whether the round accepted the policy
(and why not), and seconds per stage. Uses its own database (<DATABASE_URL's name>_bench).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/loop_efficacy.py --kind ppo --rules length,steps
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/loop_efficacy.py --kind ppo,dpo --rules all --train 192
"""

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from benchmarks.loop_prompts import all_prompts
from benchmarks.loop_rules import RULES, Rule
from benchmarks.serving import bench_django


def _lines(rows: list[dict], split: str, responses: dict[str, list[str]] | None = None) -> list[bytes]:
    out = []
    for row in rows:
        line = {"id": row["id"], "prompt": row["prompt"], "split": split, "metadata": row["metadata"]}
        if responses is not None:
            line["responses"] = [{"text": t, "model": "smollm2-135m-instruct"} for t in responses[row["id"]]]
        out.append((json.dumps(line, ensure_ascii=False) + "\n").encode())
    return out


def annotate_by_rule(project, annotator, rule: Rule) -> dict[str, int]:
    """Leases and labels every comparison of the project by the rule (equal scores: a tie)."""
    from annotation.models import Comparison
    from annotation.queue.leasing import task_lease_next
    from annotation.queue.submission import annotation_submit

    counts = {"decisive": 0, "ties": 0}
    while (lease := task_lease_next(project=project, user=annotator)) is not None:
        comparison = Comparison.objects.select_related("prompt").get(pk=lease.comparison_id)
        prompt = comparison.prompt.messages[-1]["content"]
        kind = comparison.prompt.metadata.get("kind", "")
        items = list(comparison.items.select_related("response"))
        scored = [(rule(prompt, item.response.text, kind), str(item.response.public_id)) for item in items]
        # Best first; responses with equal scores share a group (a tie within the ranking).
        levels = sorted({score for score, _ in scored}, reverse=True)
        ranking = [[rid for score, rid in scored if score == level] for level in levels]
        # "How much better" applies when one response is best alone.
        strength = "clear" if len(ranking) > 1 and len(ranking[0]) == 1 else ""
        counts["ties" if len(ranking) == 1 else "decisive"] += 1
        annotation_submit(
            comparison_id=lease.comparison_id, user=annotator, client_token=uuid.uuid4().hex,
            ranking=ranking, strength=strength,
        )  # fmt: skip
    return counts


def oracle(
    candidate: str, heldout: list[dict], rule: Rule, samples: int, models_dir: Path, reward: str | None
):
    """New vs old on prompts no stage saw, judged by the rule (and the round's reward model's accuracy on
    the old policy's pairs of those prompts, labelled by the rule)."""
    from annotation.rounds.config import RoundConfig
    from training.acceptance import outcome, win_rate_test
    from training.evaluation import sample_pair
    from training.reward import pairwise_correct

    generation = RoundConfig.from_dict({}).generation_config()
    generation.per_prompt, generation.seed = samples, 4321
    prompts = [[{"role": "user", "content": row["prompt"]}] for row in heldout]
    pair = sample_pair(
        candidate, "smollm2-135m-instruct", prompts, models_dir=models_dir, generation=generation
    )
    outcomes: list[list[float]] = []
    decisive: list[float] = []
    rm_rows = []
    for row, conversation, new, old in zip(heldout, prompts, pair.candidate, pair.baseline, strict=True):
        kind = row["metadata"]["kind"]
        scores = [
            (rule(row["prompt"], n.text, kind), rule(row["prompt"], o.text, kind))
            for n, o in zip(new, old, strict=True)
        ]
        outcomes.append([outcome(a, b) for a, b in scores])
        decisive += [1.0 if a > b else 0.0 for a, b in scores if a != b]
        # The rule's own label of the old policy's two answers: what the reward model should have learned.
        first, second = old[0].text, old[-1].text
        a, b = rule(row["prompt"], first, kind), rule(row["prompt"], second, kind)
        if a != b:
            chosen, rejected = (first, second) if a > b else (second, first)
            rm_rows.append(
                {
                    "prompt": conversation,
                    "chosen": [{"role": "assistant", "content": chosen}],
                    "rejected": [{"role": "assistant", "content": rejected}],
                }
            )
    test = win_rate_test(outcomes)
    rm_accuracy = None
    if reward and rm_rows:
        correct = pairwise_correct(reward, rm_rows, models_dir=models_dir)
        rm_accuracy = sum(correct) / len(correct)
    return {
        "oracle_win_rate": test.win_rate, "ci_low": test.ci_low, "ci_high": test.ci_high,
        "p_value": test.p_value, "decisive_win_rate": sum(decisive) / len(decisive) if decisive else None,
        "decisive": len(decisive), "comparisons": test.comparisons, "kl": pair.kl_mean,
        "rm_heldout_accuracy": rm_accuracy, "rm_heldout_pairs": len(rm_rows),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kind", default="ppo", help="ppo, dpo or ppo,dpo")
    parser.add_argument(
        "--rules", default="length,steps,examples,refusal", help=f"comma list or 'all' ({', '.join(RULES)})"
    )
    parser.add_argument("--train", type=int, default=192, help="train prompts (each becomes one comparison)")
    parser.add_argument("--eval", type=int, default=32, help="eval-split prompts (the acceptance checks')")
    parser.add_argument("--heldout", type=int, default=48, help="prompts no stage sees, for the oracle")
    parser.add_argument(
        "--samples", type=int, default=2, help="oracle samples per held-out prompt and policy"
    )
    parser.add_argument(
        "--per-task", type=int, default=2,
        help="responses per comparison (the project's responses_per_task; 3-6: the annotator ranks them)",
    )  # fmt: skip
    parser.add_argument("--config", default="{}", help="round config JSON (default: the project default)")
    parser.add_argument("--json", help="also append every result as a JSON line to this file")
    parser.add_argument(
        "--responses-cache",
        help="JSON file of the policy-written comparisons: read when it exists (same --train prompts), "
        "written after the first generation otherwise, so that several runs judge the same texts",
    )
    args = parser.parse_args()

    bench_django()
    from django.conf import settings

    from annotation.data.imports import prompts_import
    from annotation.models import Comparison, Role
    from annotation.projects.services import membership_set, project_create, user_create
    from annotation.rounds.generation import project_generate_responses
    from annotation.rounds.runner import round_execute
    from annotation.rounds.services import round_launch
    from annotation.rounds.summary import read_summary

    models_dir = Path(settings.PREFER_DATA_DIR) / "models"
    rows = all_prompts()
    needed = args.train + args.eval + args.heldout
    if needed > len(rows):
        parser.error(f"--train + --eval + --heldout is {needed}; the prompt set has {len(rows)}")
    train, evaluation, heldout = (
        rows[: args.train],
        rows[args.train : args.train + args.eval],
        rows[-args.heldout :],
    )
    rules = list(RULES) if args.rules == "all" else args.rules.split(",")
    written: dict[str, list[str]] | None = None
    cache = Path(args.responses_cache) if args.responses_cache else None
    if cache is not None and cache.exists():
        written = json.loads(cache.read_text())
        missing = [row["id"] for row in train if row["id"] not in written]
        if missing:
            parser.error(f"{cache} has no responses for {len(missing)} train prompt(s), e.g. {missing[0]}")
        if any(len(written[row["id"]]) != args.per_task for row in train):
            parser.error(f"{cache} does not hold {args.per_task} responses per prompt (--per-task)")
        written = {row["id"]: written[row["id"]] for row in train}
    run = uuid.uuid4().hex[:6]
    print(
        f"# loop efficacy: {len(train)} train, {len(evaluation)} eval, {len(heldout)} held-out prompts; "
        f"rules {rules}; kinds {args.kind}"
    )
    for kind in args.kind.split(","):
        for name in rules:
            rule = RULES[name]
            slug = f"eff-{run}-{kind}-{name}"[:64]
            admin = user_create(username=f"{slug}-admin", password=uuid.uuid4().hex)
            project = project_create(
                slug=slug, name=f"Loop efficacy {name}", created_by=admin, responses_per_task=args.per_task
            )
            started = time.perf_counter()
            if written is None:
                prompts_import(project=project, lines=_lines(train, "train"))
                project_generate_responses(project=project, limit=len(train))
                written = {}
                for comparison in Comparison.objects.filter(project=project).select_related("prompt"):
                    written[comparison.prompt.external_id] = [
                        i.response.text for i in comparison.items.select_related("response")
                    ]
                print(
                    f"# the policy wrote {len(written)} comparisons in {time.perf_counter() - started:.0f} s"
                )
                if cache is not None:
                    cache.write_text(json.dumps(written, ensure_ascii=False))
            else:
                prompts_import(project=project, lines=_lines(train, "train", written))
            prompts_import(project=project, lines=_lines(evaluation, "eval"))
            annotator = user_create(username=f"{slug}-annotator", password=uuid.uuid4().hex)
            membership_set(project=project, username=annotator.username, role=Role.ANNOTATOR)
            labels = annotate_by_rule(project, annotator, rule)
            training_round = round_launch(
                project=project, kind=kind, config=json.loads(args.config), user=admin, enqueue=False
            )
            launched = time.perf_counter()
            status = round_execute(round_id=training_round.pk)
            round_seconds = time.perf_counter() - launched
            training_round.refresh_from_db()
            summary = read_summary(training_round.metrics)
            candidate = summary.policy_artifact
            why_not = summary.policy_rejected_because or summary.rm_rejected_because or training_round.error
            result = {
                "rule": name, "kind": kind, "status": status, "round_s": round(round_seconds),
                "labels": labels, "accepted": summary.policy_accepted,
                "rm_eval_accuracy": summary.rm_eval_accuracy, "rm_accepted": summary.rm_accepted,
                "round_kl": summary.policy_kl_to_previous, "rm_win_rate": summary.policy_win_rate,
                "rm_win_p": summary.policy_win_p_value, "dpo_eval_accuracy": summary.dpo_eval_accuracy,
                "why_not": (why_not or "")[:300],
                "stage_s": {k: round(v) for k, v in summary.seconds.items()},
            }  # fmt: skip
            if candidate:
                reward = training_round.reward_model.artifact_path if training_round.reward_model else None
                result.update(oracle(candidate, heldout, rule, args.samples, models_dir, reward))
            print(json.dumps(result), flush=True)
            if args.json:
                with open(args.json, "a") as handle:
                    handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
