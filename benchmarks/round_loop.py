"""Loop latency at demo scale: from launching a round to the new policy's comparisons being served.

A project with SmolLM2-135M-Instruct as its policy gets a few hundred annotated comparisons (synthetic
prompts; the annotator prefers the more helpful of two written responses), then one PPO round runs with the
default round config (MiniLM reward model, 64 PPO prompts) in this process, exactly as a gpu worker runs it.
Prints the total and each stage's share. Uses its own database (<DATABASE_URL's name>_bench).

    .venv/bin/python benchmarks/round_loop.py [--pairs 300] [--kind ppo] [--config '{...}']
"""

import argparse
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.serving import bench_django

TOPICS = [
    "a sourdough starter", "binary search", "the water cycle", "a job interview", "compound interest",
    "photosynthesis", "a bike tyre puncture", "Python list comprehensions", "jet lag", "a budget",
]  # fmt: skip
ASKS = [
    "Explain {t} to a beginner.", "Give me three tips about {t}.", "What is a common mistake with {t}?",
    "Summarise {t} in two sentences.", "How would you teach {t} to a child?",
]  # fmt: skip


def synthetic_lines(pairs: int) -> list[bytes]:
    rng = random.Random(0)
    lines = []
    for index in range(pairs):
        topic, ask = rng.choice(TOPICS), rng.choice(ASKS)
        prompt = ask.format(t=topic)
        good = (
            f"Here is a clear answer about {topic}: start with the basics, give one concrete example, "
            f"and check your understanding with a small exercise."
        )
        bad = "I am not sure."
        lines.append(json.dumps({
            "id": f"loop-{index}", "prompt": prompt, "split": "eval" if index % 10 == 0 else "train",
            "responses": [{"text": good, "model": "writer-good"}, {"text": bad, "model": "writer-bad"}],
        }).encode() + b"\n")  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--kind", default="ppo", choices=["ppo", "dpo"])
    parser.add_argument("--config", default="{}", help="round config JSON (default: the production defaults)")
    args = parser.parse_args()

    bench_django()

    from annotation.data.imports import prompts_import
    from annotation.models import Comparison, Role
    from annotation.projects.services import membership_set, project_create, user_create
    from annotation.queue.leasing import task_lease_next
    from annotation.queue.submission import annotation_submit
    from annotation.rounds.runner import round_execute
    from annotation.rounds.services import round_launch
    from annotation.rounds.summary import read_summary

    slug = f"loop-{uuid.uuid4().hex[:6]}"
    admin = user_create(username=f"{slug}-admin", password=uuid.uuid4().hex)
    project = project_create(slug=slug, name="Loop latency", created_by=admin, policy="smollm2-135m-instruct")
    prompts_import(project=project, lines=synthetic_lines(args.pairs))
    annotator = user_create(username=f"{slug}-annotator", password=uuid.uuid4().hex)
    membership_set(project=project, username=annotator.username, role=Role.ANNOTATOR)
    started = time.perf_counter()
    annotated = 0
    while (lease := task_lease_next(project=project, user=annotator)) is not None:
        items = list(Comparison.objects.get(pk=lease.comparison_id).items.select_related("response"))
        ranking = sorted(items, key=lambda item: item.response.source_model != "writer-good")
        annotation_submit(
            comparison_id=lease.comparison_id, user=annotator, client_token=uuid.uuid4().hex,
            ranking=[[str(item.response.public_id)] for item in ranking], strength="clear",
        )  # fmt: skip
        annotated += 1
    print(f"# {annotated} preferences annotated in {time.perf_counter() - started:.1f} s; launching a round")

    # Launched as the dashboard does, then run in this process instead of on a worker (the worker's code
    # path: round_execute is what the Celery task calls).
    training_round = round_launch(
        project=project, kind=args.kind, config=json.loads(args.config), user=admin, enqueue=False
    )
    launched = time.perf_counter()
    status = round_execute(round_id=training_round.pk)
    lease = task_lease_next(project=project, user=annotator)
    served = time.perf_counter()
    training_round.refresh_from_db()
    summary = read_summary(training_round.metrics)
    total = served - launched
    print(f"round {training_round.pk} {status}: {training_round.error[:300]}")
    print(
        f"loop_latency_s={total:.1f} (target < 900 s) served_new_comparison="
        f"{bool(lease and Comparison.objects.get(pk=lease.comparison_id).round_id == training_round.pk)}"
    )
    for stage in ("snapshot", "reward_model", "policy", "generate"):
        seconds = summary.seconds.get(stage, 0.0)
        print(f"stage={stage:<12} seconds={seconds:7.1f} share={seconds / total:6.1%}")
    keys = ["train_pairs", "rm_eval_accuracy", "policy_kl_to_previous", "policy_win_rate", "policy_accepted"]
    for key in [*keys, "generated_comparisons"]:
        print(f"{key}={getattr(summary, key)}")


if __name__ == "__main__":
    main()
