"""The statistics behind every "is it really better?" decision of a round: pure functions, no models.

A new policy is accepted only when it beats the previous one by a margin that is statistically real, and a
policy that did not change must be rejected at least 95% of the time. Comparisons are paired (both policies
answer the same prompt) and clustered (several samples per prompt), so the unit of evidence is the prompt:
each prompt contributes the mean outcome of its comparisons (win 1, tie 0.5, loss 0; every candidate sample
against every baseline sample, `cross_outcomes`), and a one-sided
sign-flip (permutation) test asks whether their mean exceeds the bar. Under "nothing changed" the two
policies' samples are exchangeable, every prompt's difference from 0.5 is symmetric around zero, and the
sign-flip test is exact: it rejects a no-op at the nominal 5% whatever the number of prompts or samples.
The same test judges reward models (is it better than chance? is it worse than the last accepted one?) and
DPO's implicit-reward accuracy.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

ALPHA = 0.05
RESAMPLES = 5_000


def sign_flip_p_value(differences: Sequence[float], *, resamples: int = RESAMPLES, seed: int = 0) -> float:
    """One-sided p-value of `mean(differences) > 0` under the null that each difference is symmetric
    around zero (exact enumeration up to 16 values, else `resamples` random sign flips, seeded).

    Returns 1.0 for no data or when every difference is zero.
    """
    values = [float(d) for d in differences if d != 0.0]
    if not values:
        return 1.0
    observed = sum(values)
    tolerance = 1e-12 * max(1.0, abs(observed))
    n = len(values)
    if n <= 16:
        at_least = 0
        for signs in range(1 << n):
            total = sum(v if signs >> i & 1 else -v for i, v in enumerate(values))
            at_least += total >= observed - tolerance
        return at_least / (1 << n)
    rng = random.Random(seed)
    at_least = 0
    for _ in range(resamples):
        total = sum(v if rng.random() < 0.5 else -v for v in values)
        at_least += total >= observed - tolerance
    return (at_least + 1) / (resamples + 1)


def wilson_interval(successes: float, total: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a proportion (ties may count half: `successes` need not be whole)."""
    if total <= 0:
        return (0.0, 1.0)
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def cluster_interval(
    cluster_means: Sequence[float], *, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """A 95% percentile-bootstrap interval of the mean of cluster means (prompts resampled)."""
    if not cluster_means:
        return (0.0, 1.0)
    rng = random.Random(seed)
    n = len(cluster_means)
    means = sorted(sum(rng.choices(cluster_means, k=n)) / n for _ in range(resamples))
    return (means[int(0.025 * resamples)], means[min(resamples - 1, int(0.975 * resamples))])


@dataclass(frozen=True)
class WinRateTest:
    """A paired, prompt-clustered comparison of a candidate against a baseline.

    Args:
        win_rate: mean outcome over all comparisons (win 1, tie 0.5, loss 0).
        wins / ties / losses / comparisons / prompts: counts.
        ci_low / ci_high: 95% interval of the win rate (bootstrap over prompts).
        bar: the win rate the candidate must beat.
        p_value: one-sided sign-flip p-value of "the prompt-level win rate is above `bar`".
        significant: `p_value < alpha`.
    """

    win_rate: float
    wins: int
    ties: int
    losses: int
    comparisons: int
    prompts: int
    ci_low: float
    ci_high: float
    bar: float
    p_value: float
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def outcome(candidate: float, baseline: float) -> float:
    """1 when the candidate scores higher, 0.5 on a tie, else 0."""
    return 1.0 if candidate > baseline else 0.5 if candidate == baseline else 0.0


def cross_outcomes(candidate: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """The outcomes of one prompt's comparisons: every candidate sample against every baseline sample.

    All `len(candidate) * len(baseline)` pairs estimate the same quantity as pairing the samples by
    position, P(a candidate response beats a baseline response on this prompt), with less variance and no
    more sampling or scoring: each side's responses are scored once. The prompt mean is Mann-Whitney's U
    over the two sides, so under "nothing changed" (the prompt's responses exchangeable) it is symmetric
    around 0.5 and the sign-flip test stays exact; identical sides (an unchanged policy at the same seed)
    give exactly 0.5. On 32 prompts of 2 samples at a true win rate of 0.62 it raised the test's power from
    0.44 to 0.58 in simulation.
    """
    return [outcome(c, b) for c in candidate for b in baseline]


def win_rate_test(
    outcomes_by_prompt: Sequence[Sequence[float]], *, bar: float = 0.5, alpha: float = ALPHA, seed: int = 0
) -> WinRateTest:
    """Tests whether a candidate's win rate is above `bar`, one prompt one vote.

    Args:
        outcomes_by_prompt: per prompt, the outcomes (1 / 0.5 / 0) of its paired comparisons.
        bar: the win rate to beat (the round's `min_win_rate`).
        alpha: the test's level.
    """
    clusters = [list(o) for o in outcomes_by_prompt if len(o)]
    flat = [x for o in clusters for x in o]
    means = [sum(o) / len(o) for o in clusters]
    p_value = sign_flip_p_value([m - bar for m in means], seed=seed)
    low, high = cluster_interval(means, seed=seed)
    wins = sum(1 for x in flat if x == 1.0)
    ties = sum(1 for x in flat if x == 0.5)
    return WinRateTest(
        win_rate=sum(flat) / len(flat) if flat else 0.5,
        wins=wins,
        ties=ties,
        losses=len(flat) - wins - ties,
        comparisons=len(flat),
        prompts=len(clusters),
        ci_low=low,
        ci_high=high,
        bar=bar,
        p_value=p_value,
        significant=p_value < alpha,
    )


@dataclass(frozen=True)
class AccuracyTest:
    """Pairwise accuracy (ties half) with its Wilson interval and the test "better than chance"."""

    accuracy: float
    pairs: int
    ci_low: float
    ci_high: float
    p_value: float
    better_than_chance: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def accuracy_test(correct: Sequence[float], *, alpha: float = ALPHA, seed: int = 0) -> AccuracyTest:
    """`correct` holds 1 / 0.5 / 0 per held-out pair (chosen scored higher / equal / lower)."""
    n = len(correct)
    total = float(sum(correct))
    low, high = wilson_interval(total, n)
    p_value = sign_flip_p_value([c - 0.5 for c in correct], seed=seed)
    return AccuracyTest(
        accuracy=total / n if n else float("nan"),
        pairs=n,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        better_than_chance=p_value < alpha,
    )


def significantly_worse(
    new_correct: Sequence[float], old_correct: Sequence[float], *, alpha: float = ALPHA, seed: int = 0
) -> tuple[bool, float]:
    """Whether a new reward model is worse than the old one on the same pairs (paired sign-flip test).

    Returns:
        `(worse, p_value)`.
    """
    if len(new_correct) != len(old_correct):
        raise ValueError("significantly_worse: both models must be judged on the same pairs")
    p_value = sign_flip_p_value([o - n for n, o in zip(new_correct, old_correct, strict=True)], seed=seed)
    return p_value < alpha, p_value
