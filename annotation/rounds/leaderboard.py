"""Did each new policy really beat its parent, by the annotators' own votes? And how do all versions rank?

The generate stage pits the accepted policy vN against its parent vN-1 on fresh prompts (blind: annotators
see neither version nor order). Once those comparisons are annotated, every pair of responses from two
different versions is one game: the consensus of its votes decides it (a consensus tie, an all-bad
comparison or no plurality is a draw, counted half). From the games:
- the human win rate of each version over its parent, with a 95% Wilson interval, beside the reward
  model's predicted win rate from the round's acceptance check (the gap is reward over-optimisation made
  visible);
- a Bradley-Terry leaderboard of every version from every game between two versions, with 95% bootstrap
  intervals (games resampled).
"""

import math
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from annotation.data.consensus import FIRST, SECOND, comparison_records, consensus_of
from annotation.models import PolicyVersion, Project, TrainingRound
from annotation.rounds.summary import read_summary
from training.acceptance import wilson_interval

POLICY_SOURCE = "policy-v"
BOOTSTRAP = 200

Game = tuple[int, int, float]  # (version a, version b, a's score: 1 win, 0.5 draw, 0 loss)


def _version(source: str) -> int | None:
    if not source.startswith(POLICY_SOURCE):
        return None
    try:
        return int(source[len(POLICY_SOURCE) :])
    except ValueError:
        return None


def project_games(*, project: Project) -> list[Game]:
    """Every game between two policy versions in the project's annotated comparisons."""
    games: list[Game] = []
    for record in comparison_records(project=project):
        versions = {r.id: _version(r.source) for r in record.responses}
        if len({v for v in versions.values() if v is not None}) < 2:
            continue
        consensus = consensus_of(record)
        for votes in consensus.pair_votes:
            a, b = versions[votes.first_id], versions[votes.second_id]
            if a is None or b is None or a == b:
                continue
            if consensus.all_bad or votes.outcome not in (FIRST, SECOND):
                games.append((a, b, 0.5))
            else:
                games.append((a, b, 1.0 if votes.outcome == FIRST else 0.0))
    return games


@dataclass(frozen=True)
class HeadToHead:
    wins: int
    losses: int
    ties: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


def head_to_head(games: Iterable[Game], version: int, opponent: int) -> HeadToHead:
    """`version`'s record against `opponent` (ties half in the rate)."""
    wins = losses = ties = 0
    for a, b, score in games:
        if {a, b} != {version, opponent}:
            continue
        mine = score if a == version else 1.0 - score
        wins, losses, ties = wins + (mine == 1.0), losses + (mine == 0.0), ties + (mine == 0.5)
    n = wins + losses + ties
    if n == 0:
        return HeadToHead(0, 0, 0, None, None, None)
    low, high = wilson_interval(wins + 0.5 * ties, n)
    return HeadToHead(wins, losses, ties, (wins + 0.5 * ties) / n, low, high)


def bradley_terry(games: list[Game], *, iterations: int = 200) -> dict[int, float]:
    """Log-strengths of every version that played (draws count half a win each), centred on their mean.

    Hunter's MM algorithm with a weak prior (each version a draw against a virtual average player), so that
    an unbeaten version still gets a finite score.
    """
    versions = sorted({v for a, b, _ in games for v in (a, b)})
    if not versions:
        return {}
    wins: dict[int, float] = defaultdict(float)
    played: dict[tuple[int, int], float] = defaultdict(float)
    for a, b, score in games:
        wins[a] += score
        wins[b] += 1.0 - score
        played[(a, b)] += 1.0
        played[(b, a)] += 1.0
    strength = dict.fromkeys(versions, 1.0)
    for _ in range(iterations):
        updated = {}
        for v in versions:
            denominator = 1.0 / (strength[v] + 1.0)  # the prior's game against strength 1
            denominator += sum(n / (strength[v] + strength[w]) for (u, w), n in played.items() if u == v)
            updated[v] = (wins[v] + 0.5) / denominator
        mean_log = sum(math.log(s) for s in updated.values()) / len(updated)
        strength = {v: s / math.exp(mean_log) for v, s in updated.items()}
    return {v: math.log(s) for v, s in strength.items()}


@dataclass(frozen=True)
class Standing:
    version: int
    score: float
    ci_low: float
    ci_high: float
    comparisons: int


def leaderboard(games: list[Game], *, resamples: int = BOOTSTRAP, seed: int = 0) -> list[Standing]:
    """Bradley-Terry scores, best first, with 95% percentile-bootstrap intervals."""
    scores = bradley_terry(games)
    if not scores:
        return []
    rng = random.Random(seed)
    samples: dict[int, list[float]] = defaultdict(list)
    for _ in range(resamples):
        resampled = bradley_terry(rng.choices(games, k=len(games)), iterations=60)
        for version in scores:
            if version in resampled:
                samples[version].append(resampled[version])
    counts: dict[int, int] = defaultdict(int)
    for a, b, _ in games:
        counts[a] += 1
        counts[b] += 1
    standings = []
    for version, score in scores.items():
        values = sorted(samples[version]) or [score]
        low = values[int(0.025 * (len(values) - 1))]
        high = values[math.ceil(0.975 * (len(values) - 1))]
        standings.append(Standing(version, score, low, high, counts[version]))
    return sorted(standings, key=lambda s: -s.score)


def project_policies(*, project: Project) -> dict[str, Any]:
    """Every policy version with its parent, round, the RM-predicted and the human win rate over its parent,
    and the leaderboard (what `GET /projects/{slug}/policies/` and the dashboard show)."""
    games = project_games(project=project)
    policies = list(
        PolicyVersion.objects.filter(project=project).select_related("parent").order_by("version")
    )
    rounds = {
        r.pk: r
        for r in TrainingRound.objects.filter(pk__in=[p.produced_by_id for p in policies if p.produced_by_id])
    }
    versions = []
    for policy in policies:
        training_round = rounds.get(policy.produced_by_id) if policy.produced_by_id else None
        summary = read_summary(training_round.metrics) if training_round else None
        parent = policy.parent.version if policy.parent else None
        versions.append(
            {
                "version": policy.version,
                "parent": parent,
                "round": policy.produced_by_id,
                "kind": training_round.kind if training_round else None,
                "created_at": policy.created_at,
                "rm_win_rate": summary.policy_win_rate if summary else None,
                "rm_ci_low": summary.policy_win_ci_low if summary else None,
                "rm_ci_high": summary.policy_win_ci_high if summary else None,
                "kl_to_parent": summary.policy_kl_to_previous if summary else None,
                "human": asdict(head_to_head(games, policy.version, parent)) if parent is not None else None,
                "is_current": policy.pk == project.current_policy_id,
            }
        )
    return {
        "versions": versions,
        "leaderboard": [asdict(s) for s in leaderboard(games)],
        "games": len(games),
    }
