"""The acceptance statistics: a no-op is rejected at least 95% of the time, a real improvement accepted."""

import random

import pytest

from training.acceptance import (
    accuracy_test,
    cross_outcomes,
    sign_flip_p_value,
    significantly_worse,
    wilson_interval,
    win_rate_test,
)


def _outcomes(
    rng: random.Random, prompts: int, samples: int, p_win: float, p_tie: float
) -> list[list[float]]:
    def one() -> float:
        x = rng.random()
        return 1.0 if x < p_win else 0.5 if x < p_win + p_tie else 0.0

    return [[one() for _ in range(samples)] for _ in range(prompts)]


def test_an_unchanged_policy_is_rejected_in_at_least_95_of_100_seeded_trials():
    """Nothing changed: each comparison is a coin flip between exchangeable samples (some ties)."""
    accepted = 0
    for seed in range(100):
        rng = random.Random(seed)
        result = win_rate_test(_outcomes(rng, prompts=32, samples=3, p_win=0.4, p_tie=0.2), seed=seed)
        accepted += result.significant
    assert accepted <= 5, accepted


def test_identical_samples_are_all_ties_and_always_rejected():
    result = win_rate_test([[0.5, 0.5]] * 20)
    assert result.win_rate == 0.5 and result.ties == 40 and result.p_value == 1.0 and not result.significant


def test_a_clearly_better_policy_is_accepted_and_a_worse_one_is_not():
    rng = random.Random(1)
    better = win_rate_test(_outcomes(rng, prompts=32, samples=3, p_win=0.6, p_tie=0.15))
    assert better.significant and better.win_rate > 0.6 and better.ci_low > 0.5, better
    worse = win_rate_test(_outcomes(rng, prompts=32, samples=3, p_win=0.3, p_tie=0.15))
    assert not worse.significant and worse.p_value > 0.9
    # The bar can sit above one half: 0.6 wins do not clear a bar of 0.65.
    assert not win_rate_test(
        _outcomes(rng, prompts=32, samples=3, p_win=0.6, p_tie=0.0), bar=0.65
    ).significant


def _scored_trials(rng: random.Random, shift: float, samples: int = 2) -> tuple[list, list]:
    """32 prompts: each side's reward-model scores (a prompt effect, a per-prompt gain of the candidate
    around `shift`, noise), judged paired by position and every sample against every other."""
    positional, crossed = [], []
    for _ in range(32):
        level, gain = rng.gauss(0, 1), rng.gauss(shift, 0.5)
        candidate = [level + gain + rng.gauss(0, 1) for _ in range(samples)]
        baseline = [level + rng.gauss(0, 1) for _ in range(samples)]
        positional.append([1.0 if c > b else 0.0 for c, b in zip(candidate, baseline, strict=True)])
        crossed.append(cross_outcomes(candidate, baseline))
    return positional, crossed


def test_every_sample_against_every_other_keeps_the_no_op_rejected_and_gains_power():
    assert cross_outcomes([1.0, 2.0], [1.0, 2.0]) == [0.5, 0.0, 1.0, 0.5]  # identical sides: mean 0.5
    assert win_rate_test([cross_outcomes([1.0, 2.0], [1.0, 2.0])] * 20).p_value == 1.0
    no_op = better_positional = better_crossed = 0
    for seed in range(100):
        rng = random.Random(seed)
        _, crossed = _scored_trials(rng, shift=0.0)
        no_op += win_rate_test(crossed, seed=seed).significant
        if seed < 50:  # power: a true win rate near 0.62, the length rule's reward-model-judged one
            positional, crossed = _scored_trials(rng, shift=0.45)
            better_positional += win_rate_test(positional, seed=seed).significant
            better_crossed += win_rate_test(crossed, seed=seed).significant
    assert no_op <= 5, no_op
    assert better_crossed > better_positional, (better_crossed, better_positional)


def test_prompts_are_the_unit_of_evidence():
    """Many samples of a few prompts are weaker evidence than the same count spread over many prompts."""
    few = win_rate_test([[1.0] * 10] * 3 + [[0.0] * 10])
    many = win_rate_test([[1.0]] * 30 + [[0.0]] * 10)
    assert few.win_rate == pytest.approx(many.win_rate)
    assert few.p_value > 0.05 and many.p_value < 0.01


def test_sign_flip_is_exact_for_small_samples():
    # Three positive differences: only the all-positive assignment of 8 is as extreme.
    assert sign_flip_p_value([0.5, 0.2, 0.1]) == pytest.approx(1 / 8)
    assert sign_flip_p_value([]) == 1.0 and sign_flip_p_value([0.0, 0.0]) == 1.0
    assert sign_flip_p_value([1.0] * 40) < 1e-3  # Monte Carlo branch


def test_reward_model_competence_and_regression():
    assert not accuracy_test([1, 0, 1, 0, 0.5, 1]).better_than_chance
    chance = accuracy_test([1.0] * 13 + [0.0] * 12)
    assert not chance.better_than_chance and chance.ci_low < 0.5 < chance.ci_high
    good = accuracy_test([1.0] * 22 + [0.0] * 4)
    assert good.better_than_chance and good.ci_low > 0.6
    # One pair in six is noise, not a regression; a consistent drop is.
    assert not significantly_worse([1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1])[0]
    assert significantly_worse([0.0] * 12 + [1.0] * 8, [1.0] * 20)[0]


def test_wilson_interval():
    low, high = wilson_interval(8, 10)
    assert 0.49 < low < 0.5 and 0.94 < high < 0.95
    assert wilson_interval(0, 0) == (0.0, 1.0)
