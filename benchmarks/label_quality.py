"""Label quality with one careless annotator among honest ones (issue 12): how often the majority rule and
Dawid-Skene (crowd-kit, through annotation.data.skill) pick the honest answer, and after how many gold items
the gold bar flags the careless annotator (and how often it flags an honest one).

Data: the demo's real prompts and responses (annotation/demo/prompts.jsonl, 36 pairwise comparisons; with
--repeat the set is used several times over, each copy a comparison of its own). Annotators: three honest
ones follow one consistent rule (benchmarks/loop_rules.py, `length` by default: the longer answer is better)
and each flips the rule's verdict with probability --noise; one careless annotator answers uniformly at
random among first better / second better / tie. The "honest answer" of a comparison is the rule's. The
consensus goes through the project's own code: consensus_of (majority) and dawid_skene_fit on
ComparisonRecords; the flag through annotation.data.gold.below_bar with the project defaults
(gold_min_seen 10, gold_min_accuracy 0.7) unless given.

    .venv/bin/python benchmarks/label_quality.py [--trials 200] [--noise 0.15] [--repeat 1] [--rule length]
"""

import argparse
import json
import os
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()  # the consensus code imports the models

from annotation.data.consensus import (  # noqa: E402
    FIRST,
    SECOND,
    TIE,
    AnnotationRecord,
    ComparisonRecord,
    ResponseRecord,
    consensus_of,
)
from annotation.data.gold import below_bar  # noqa: E402
from annotation.data.skill import dawid_skene_fit  # noqa: E402
from benchmarks.loop_rules import RULES  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "annotation" / "demo" / "prompts.jsonl"
HONEST, CARELESS = (1, 2, 3), 4


def demo_pairs() -> list[tuple[str, str, str]]:
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        (
            r.get("prompt") or r["messages"][-1]["content"],
            r["responses"][0]["text"],
            r["responses"][1]["text"],
        )
        for r in rows
        if len(r.get("responses", [])) == 2
    ]


def honest_answer(rule, prompt: str, first: str, second: str) -> str:
    a, b = rule(prompt, first, ""), rule(prompt, second, "")
    return FIRST if a > b else SECOND if b > a else TIE


def vote(truth: str, rng: random.Random, noise: float) -> str:
    if rng.random() >= noise:
        return truth
    return rng.choice([v for v in (FIRST, SECOND, TIE) if v != truth])


def ranking(first_id: int, second_id: int, choice: str) -> list[list[int]]:
    if choice == FIRST:
        return [[first_id], [second_id]]
    if choice == SECOND:
        return [[second_id], [first_id]]
    return [[first_id, second_id]]


def trial(pairs, rule, rng: random.Random, noise: float, repeat: int) -> tuple[int, int, int, dict]:
    records, truths = [], {}
    for copy in range(repeat):
        for index, (prompt, first, second) in enumerate(pairs):
            cid = copy * len(pairs) + index
            a, b = 2 * cid + 1, 2 * cid + 2
            truth = honest_answer(rule, prompt, first, second)
            truths[cid] = (a, b, truth)
            votes = {k: vote(truth, rng, noise) for k in HONEST}
            votes[CARELESS] = rng.choice((FIRST, SECOND, TIE))
            records.append(
                ComparisonRecord(
                    id=cid,
                    created_at="",
                    is_gold=False,
                    prompt_external_id=str(cid),
                    split="train",
                    messages=[{"role": "user", "content": prompt}],
                    responses=[ResponseRecord(a, first, "x"), ResponseRecord(b, second, "y")],
                    annotations=[
                        AnnotationRecord(10 * cid + k, k, ranking(a, b, v)) for k, v in votes.items()
                    ],
                )
            )
    fit = dawid_skene_fit(records)
    majority_right = ds_right = 0
    for record in records:
        a, b, truth = truths[record.id]
        outcome = consensus_of(record).pair_votes[0].outcome
        majority_right += outcome == truth
        ds_right += fit.outcomes.get(record.id, {}).get((a, b)) == truth
    return majority_right, ds_right, len(records), fit.skills


def gold_until_flagged(
    rng: random.Random, accuracy: float, min_seen: int, min_accuracy: float, limit: int
) -> int | None:
    correct = 0
    for seen in range(1, limit + 1):
        correct += rng.random() < accuracy
        if below_bar(seen=seen, correct=correct, min_seen=min_seen, min_accuracy=min_accuracy):
            return seen
    return None


def flagged_at(rng: random.Random, accuracy: float, seen: int, min_seen: int, min_accuracy: float) -> bool:
    """Whether an annotator of this gold accuracy is below the bar after exactly `seen` gold items."""
    correct = sum(rng.random() < accuracy for _ in range(seen))
    return below_bar(seen=seen, correct=correct, min_seen=min_seen, min_accuracy=min_accuracy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--noise", type=float, default=0.15, help="an honest annotator's flip probability")
    parser.add_argument("--repeat", type=int, default=1, help="copies of the 36 demo comparisons per trial")
    parser.add_argument("--rule", choices=sorted(RULES), default="length")
    parser.add_argument("--gold-min-seen", type=int, default=10)
    parser.add_argument("--gold-min-accuracy", type=float, default=0.7)
    parser.add_argument("--gold-limit", type=int, default=100)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pairs = demo_pairs()
    rule = RULES[args.rule]
    majority, ds, total = 0, 0, 0
    skills: dict[int, list[float]] = {k: [] for k in (*HONEST, CARELESS)}
    for _ in range(args.trials):
        m, d, n, skill = trial(pairs, rule, rng, args.noise, args.repeat)
        majority, ds, total = majority + m, ds + d, total + n
        for k, value in skill.items():
            skills[k].append(value)
    print(
        f"data: {len(pairs)} demo comparisons x {args.repeat}, rule {args.rule}, "
        f"3 honest (noise {args.noise}) + 1 random, {args.trials} trials"
    )
    print(f"majority picks the honest answer: {majority / total:.3f} of {total} comparisons")
    print(f"dawid-skene picks the honest answer: {ds / total:.3f} of {total} comparisons")
    honest_skill = statistics.mean(v for k in HONEST for v in skills[k])
    careless_skill = statistics.mean(skills[CARELESS])
    print(f"dawid-skene skill estimate: honest {honest_skill:.3f}, random {careless_skill:.3f}")
    bar = (args.gold_min_seen, args.gold_min_accuracy, args.gold_limit)
    careless = [gold_until_flagged(rng, 1 / 3, *bar) for _ in range(10_000)]
    honest = [gold_until_flagged(rng, 1 - args.noise, *bar) for _ in range(10_000)]
    flagged = sorted(s for s in careless if s is not None)
    print(
        f"random annotator (gold accuracy 1/3) flagged: {len(flagged) / len(careless):.4f} within "
        f"{args.gold_limit} gold items; median at {statistics.median(flagged):.0f}, 95th percentile at "
        f"{flagged[int(0.95 * len(flagged)) - 1]} (bar: {args.gold_min_accuracy} after {args.gold_min_seen})"
    )
    honest_flags = [s for s in honest if s is not None]
    print(
        f"honest annotator (gold accuracy {1 - args.noise:.2f}) ever flagged within {args.gold_limit} "
        f"gold items: {len(honest_flags) / len(honest):.4f}"
    )

    at = {
        n: sum(flagged_at(rng, 1 - args.noise, n, *bar[:2]) for _ in range(10_000)) / 10_000
        for n in (10, 20, 50)
    }
    print(
        "honest annotator below the bar after exactly n gold items: "
        + ", ".join(f"n={n}: {p:.4f}" for n, p in at.items())
    )


if __name__ == "__main__":
    main()
