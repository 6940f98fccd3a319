"""DPO's own held-out preference accuracy in the acceptance check: the judge when no reward model can judge,
a veto only when significantly below chance when one does."""

from annotation.rounds.stages.policy import dpo_reason
from training.acceptance import accuracy_test


def _accuracy(right: int, wrong: int):
    return accuracy_test([1.0] * right + [0.0] * wrong)


def test_without_a_reward_model_dpo_must_beat_chance():
    assert dpo_reason(_accuracy(28, 4), judged=False) is None
    assert "not significantly above chance" in dpo_reason(_accuracy(17, 15), judged=False)
    assert "no held-out pairs" in dpo_reason(None, judged=False)


def test_with_a_reward_model_judging_dpo_only_vetoes_when_below_chance():
    assert dpo_reason(_accuracy(17, 15), judged=True) is None  # noisy, not a verdict
    assert dpo_reason(None, judged=True) is None
    assert "significantly below chance" in dpo_reason(_accuracy(6, 26), judged=True)
