import math

import torch

from training.ppo_math import (
    RunningMoments,
    clipped_policy_loss,
    clipped_value_loss,
    generalized_advantage_estimation,
    kl_penalized_rewards,
    logprobs_of_labels,
    masked_mean,
    masked_whiten,
)
from training.scoring import bradley_terry_loss


def close(actual, expected, tol=1e-5):
    return torch.allclose(torch.as_tensor(actual, dtype=torch.float32), torch.tensor(expected), atol=tol)


def test_kl_penalised_rewards_put_the_score_on_the_last_response_token():
    scores = torch.tensor([1.0, 2.0])
    logprobs = torch.tensor([[-1.0, -2.0, -3.0], [-1.0, -1.0, -7.0]])
    ref = torch.tensor([[-1.5, -2.0, -2.0], [-2.0, -1.0, -1.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    rewards, kl = kl_penalized_rewards(scores, logprobs, ref, mask, kl_coef=0.1)
    assert close(kl, [[0.5, 0.0, -1.0], [1.0, 0.0, 0.0]])
    assert close(rewards, [[-0.05, 0.0, 1.1], [-0.1, 2.0, 0.0]])


def test_gae_matches_hand_computation():
    rewards = torch.tensor([[0.0, 1.0, 2.0], [0.0, 1.0, 5.0]])
    values = torch.tensor([[0.5, 1.0, -0.5], [0.3, 0.7, 9.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    advantages, returns = generalized_advantage_estimation(rewards, values, mask, gamma=0.9, lam=0.5)
    # row 0: d2 = 2 + 0.5 = 2.5; d1 = 1 - 0.45 - 1 = -0.45, A1 = -0.45 + 0.45 * 2.5; d0 = 0.9 - 0.5 = 0.4 ...
    assert close(advantages, [[0.70375, 0.675, 2.5], [0.465, 0.3, 0.0]])
    assert close(returns, [[1.20375, 1.675, 2.0], [0.765, 1.0, 0.0]])


def test_gae_with_gamma_one_lambda_one_is_reward_to_go_minus_value():
    rewards = torch.tensor([[1.0, 2.0, 3.0]])
    values = torch.tensor([[0.5, 0.25, 0.125]])
    advantages, returns = generalized_advantage_estimation(rewards, values, torch.ones(1, 3), 1.0, 1.0)
    assert close(returns, [[6.0, 5.0, 3.0]])
    assert close(advantages, [[5.5, 4.75, 2.875]])


def test_masked_whitening_and_mean():
    values = torch.tensor([[1.0, 2.0, 3.0, 100.0]])
    mask = torch.tensor([[1, 1, 1, 0]])
    assert masked_mean(values, mask).item() == 2.0
    assert close(masked_whiten(values, mask), [[-1.0, 0.0, 1.0, 0.0]], tol=1e-4)
    assert close(masked_whiten(values, mask, shift_mean=False), [[1.0, 2.0, 3.0, 0.0]], tol=1e-4)


def test_clipped_policy_loss():
    logprobs = torch.log(torch.tensor([[1.5, 0.5, 1.1]]))
    old = torch.zeros(1, 3)
    advantages = torch.tensor([[1.0, 1.0, -1.0]])
    loss, clipfrac, approx_kl = clipped_policy_loss(
        logprobs, old, advantages, torch.ones(1, 3), cliprange=0.2
    )
    # token 0: max(-1.5, -1.2) = -1.2 (clipped); token 1: max(-0.5, -0.8) = -0.5; token 2: 1.1
    assert math.isclose(loss.item(), (-1.2 - 0.5 + 1.1) / 3, rel_tol=1e-5)
    assert math.isclose(clipfrac.item(), 1 / 3, rel_tol=1e-5)
    expected_kl = 0.5 * (math.log(1.5) ** 2 + math.log(0.5) ** 2 + math.log(1.1) ** 2) / 3
    assert math.isclose(approx_kl.item(), expected_kl, rel_tol=1e-5)


def test_clipped_policy_loss_ignores_masked_tokens_and_has_the_right_gradient():
    logprobs = torch.tensor([[-1.0, -2.0]], requires_grad=True)
    old = torch.tensor([[-1.0, -2.0]])
    loss, _, _ = clipped_policy_loss(logprobs, old, torch.tensor([[2.0, 50.0]]), torch.tensor([[1, 0]]), 0.2)
    loss.backward()
    assert math.isclose(loss.item(), -2.0, rel_tol=1e-6)
    assert close(logprobs.grad, [[-2.0, 0.0]])


def test_clipped_value_loss():
    values = torch.tensor([[1.0, 0.0]])
    old = torch.tensor([[0.5, 0.0]])
    returns = torch.tensor([[2.0, 0.1]])
    loss, clipfrac = clipped_value_loss(values, old, returns, torch.ones(1, 2), cliprange_value=0.2)
    # clipped value 0.7: (0.7 - 2)^2 = 1.69 > (1 - 2)^2 = 1; token 1: 0.01 both
    assert math.isclose(loss.item(), 0.5 * (1.69 + 0.01) / 2, rel_tol=1e-5)
    assert math.isclose(clipfrac.item(), 0.5, rel_tol=1e-6)


def test_running_moments_match_the_whole_stream():
    moments = RunningMoments()
    moments.update(torch.tensor([1.0, 2.0, 3.0]))
    moments.update(torch.tensor([4.0, 5.0]))
    assert math.isclose(moments.mean, 3.0, rel_tol=1e-9)
    assert math.isclose(moments.std, math.sqrt(2.0), rel_tol=1e-9)
    assert close(moments.normalize(torch.tensor([6.0, 3.0])), [3 / math.sqrt(2), 0.0])
    assert close(moments.normalize(torch.tensor([6.0, -100.0]), clip=2.0), [2.0, -2.0])


def test_logprobs_of_labels():
    logits = torch.log(torch.tensor([[[0.25, 0.75], [0.5, 0.5]]]))
    assert close(logprobs_of_labels(logits, torch.tensor([[1, 0]])), [[math.log(0.75), math.log(0.5)]])


def test_bradley_terry_loss_with_margin_and_label_smoothing():
    chosen, rejected = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 0.0])
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    plain = bradley_terry_loss(chosen, rejected)
    assert close(plain, [-math.log(sig(1.0)), math.log(2.0)])
    smoothed = bradley_terry_loss(chosen, rejected, torch.tensor([0.5, 0.0]), torch.tensor([0.1, 0.0]))
    expected = -0.9 * math.log(sig(0.5)) - 0.1 * math.log(sig(-0.5))
    assert close(smoothed, [expected, math.log(2.0)])
