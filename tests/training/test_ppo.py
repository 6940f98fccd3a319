import copy
import dataclasses
from contextlib import nullcontext

import pytest

from training.checkpoints import is_complete, read_manifest
from training.config import GenerationConfig, PPOConfig
from training.generation import generate
from training.metrics import TrainingCancelled
from training.ppo import train_ppo

from .conftest import tiny_ppo_config

VOWELS = set("aeiou")
PROMPTS = [
    [{"role": "user", "content": f"say {word}"}] for word in ("hi", "yo", "ok", "go", "up", "no", "so", "be")
]


def vowel_reward(prompts, texts):
    """A hand-written reward: the number of vowels in the response (5 of 260 tokens)."""
    assert len(prompts) == len(texts)
    return [sum(ch in VOWELS for ch in text) / 4.0 for text in texts]


def test_ppo_raises_the_reward_with_bounded_kl(models_dir, tmp_path):
    config = tiny_ppo_config()
    rows = []
    metrics = train_ppo(
        config,
        "tiny-causal-lm",
        vowel_reward,
        PROMPTS,
        tmp_path / "policy",
        models_dir=models_dir,
        progress=lambda f, m: rows.append(m),
    )
    assert metrics["steps"] == 30 and len(rows) == 30
    assert metrics["reward_mean_final"] > metrics["reward_mean_initial"] + 0.5, metrics
    # KL to the reference stays bounded: < 2 nats per token (a uniform tiny policy has entropy 5.6).
    assert 0 < metrics["kl_ref_final"] < 2.0 * config.max_new_tokens
    assert rows[0]["kl_ref"] == pytest.approx(0.0, abs=1e-4)  # policy == reference before any update
    # The critic warms up on the first rollout alone, and that rollout then trains the actor too.
    assert rows[0]["critic_warmup_passes"] == 1 and "policy_loss" in rows[0]
    assert rows[1]["critic_warmup_passes"] == 0 and 0 <= rows[1]["clipfrac"] <= 1
    for key in ("reward_normalized", "approx_kl", "value_loss", "vf_clipfrac", "entropy", "response_length"):
        assert key in rows[-1]
    assert metrics["critic_init"] == "head"  # a reward function cannot seed a critic
    assert is_complete(tmp_path / "policy") and read_manifest(tmp_path / "policy")["kind"] == "policy"
    # The saved policy is a model reference that generates text with more vowels than the start.
    config_g = GenerationConfig(per_prompt=4, max_new_tokens=16, temperature=1.0, top_p=1.0, seed=3)
    new = generate(tmp_path / "policy", PROMPTS, config_g, models_dir=models_dir)
    old = generate("tiny-causal-lm", PROMPTS, config_g, models_dir=models_dir)
    texts = lambda results: [r.text for rs in results for r in rs]  # noqa: E731
    assert sum(vowel_reward(PROMPTS * 4, texts(new))) > sum(vowel_reward(PROMPTS * 4, texts(old)))


def test_ppo_with_lora_reward_model_critic_and_ptx(models_dir, tmp_path):
    config = PPOConfig(
        steps=3,
        prompts_per_step=4,
        max_new_tokens=8,
        mini_batch_size=2,
        lora=True,
        lora_r=4,
        learning_rate=1e-3,
        critic_warmup_passes=1,
        ptx_coef=0.1,
    )
    demos = [[*p, {"role": "assistant", "content": "aeiou"}] for p in PROMPTS]
    metrics = train_ppo(
        config,
        "tiny-causal-lm",
        "tiny-reward-model",
        PROMPTS,
        tmp_path / "policy",
        models_dir=models_dir,
        ptx_conversations=demos,
    )
    assert metrics["critic_init"] == "reward"  # same tokenizer, per-token score head
    lines = (tmp_path / "policy" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3 and '"ptx_loss"' in lines[-1]
    # LoRA was merged: the output is a plain model directory without adapter files.
    assert not (tmp_path / "policy" / "adapter_config.json").exists()
    assert generate(tmp_path / "policy", PROMPTS[:1], GenerationConfig.smoke(), models_dir=models_dir)[0]


# The tiny policy's KL grows steadily past these limits: fully fine-tuned, to 1.5 nats in a few steps; with
# rank-8 adapters it rises by ~0.05-0.1 a step and levels off near 0.5.
@pytest.mark.parametrize(("lora", "limit"), [(False, 1.5), (True, 0.2)], ids=["full", "lora"])
def test_ppo_stops_at_the_kl_limit_and_keeps_the_last_state_within_it(models_dir, tmp_path, lora, limit):
    """A rollout over `kl_stop` ends the run: the saved policy is the state the rollout before it measured
    (within the limit), and the state before that one is saved in `earlier` for a round to fall back to."""
    from training.checkpoints import EARLIER_DIR

    config = tiny_ppo_config(kl_stop=limit, lora=lora, **({"lora_r": 8} if lora else {}))
    rows = []
    metrics = train_ppo(
        config, "tiny-causal-lm", vowel_reward, PROMPTS, tmp_path / "policy", models_dir=models_dir,
        progress=lambda f, m: rows.append(m),
    )  # fmt: skip
    stopped = metrics["stopped_at_step"]
    assert 3 < stopped < config.steps, metrics  # passed well before 30 steps, with an earlier state to keep
    assert metrics["stopped_kl"] > limit >= max(row["kl_ref"] for row in rows)
    # Rollouts 1..stopped-1 were trained on; the last update is undone: the policy is back at the state the
    # last logged rollout measured.
    assert len(rows) == metrics["steps"] == stopped - 1 and metrics["updates"] == stopped - 2
    earlier = tmp_path / "policy" / EARLIER_DIR
    assert is_complete(earlier)
    manifest = read_manifest(earlier)
    assert manifest["metrics"]["steps"] == stopped - 3 and manifest["metrics"]["kl_ref"] <= limit
    assert manifest["metrics"]["kl_ref"] == rows[-2]["kl_ref"]
    # Both are the policies that runs of that many steps without the limit save (same seed): exactly when
    # fully fine-tuned; merging LoRA from the kept copies may round differently in the last bit.
    for updates, saved in ((stopped - 2, tmp_path / "policy"), (stopped - 3, earlier)):
        plain, plain_dir = dataclasses.replace(config, kl_stop=None, steps=updates), tmp_path / str(updates)
        train_ppo(plain, "tiny-causal-lm", vowel_reward, PROMPTS, plain_dir, models_dir=models_dir)
        assert _largest_difference(saved, plain_dir, models_dir) <= (1e-7 if lora else 0)
    assert _largest_difference(tmp_path / "policy", earlier, models_dir) > 1e-4  # one update apart


def _largest_difference(first, second, models_dir) -> float:
    from training.models import load_causal_lm

    one, _ = load_causal_lm(first, models_dir=models_dir)
    other = dict(load_causal_lm(second, models_dir=models_dir)[0].named_parameters())
    return max((p - other[name]).abs().max().item() for name, p in one.named_parameters())


def test_ppo_without_a_kl_limit_runs_every_step_and_saves_no_earlier_policy(models_dir, tmp_path):
    from training.checkpoints import EARLIER_DIR

    metrics = train_ppo(
        tiny_ppo_config(steps=3), "tiny-causal-lm", vowel_reward, PROMPTS, tmp_path / "policy",
        models_dir=models_dir,
    )  # fmt: skip
    assert metrics["steps"] == metrics["updates"] == 3 and "stopped_at_step" not in metrics
    assert not (tmp_path / "policy" / EARLIER_DIR).exists()


def test_ppo_cancellation_stops_cleanly(models_dir, tmp_path):
    seen = []
    with pytest.raises(TrainingCancelled):
        train_ppo(
            PPOConfig(
                steps=50, prompts_per_step=2, max_new_tokens=4, mini_batch_size=2, critic_init="policy"
            ),
            "tiny-causal-lm",
            vowel_reward,
            PROMPTS,
            tmp_path / "policy",
            models_dir=models_dir,
            progress=lambda f, m: seen.append(f),
            should_stop=lambda: len(seen) >= 2,
        )
    assert len(seen) == 2
    assert list(tmp_path.iterdir()) == []  # no output, no temporary left behind


def test_sampling_log_probs_match_a_full_forward_pass(models_dir):
    # PPO takes the behaviour policy's log-probs and value features from generation; a full forward over
    # left-padded prompts of different lengths (the training pass) must agree with them.
    import torch

    from training.generation import encode_prompt, sample_responses
    from training.models import load_causal_lm
    from training.ppo_math import logprobs_of_labels, masked_mean
    from training.rollout import Rollout, response_forward

    model, tokenizer = load_causal_lm("tiny-causal-lm", models_dir=models_dir)
    torch.manual_seed(0)
    prompts = [encode_prompt(tokenizer, p, 64) for p in (PROMPTS[0], [{"role": "user", "content": "x" * 30}])]
    sampled = sample_responses(
        model, tokenizer, prompts, max_new_tokens=10, temperature=0.7, top_p=1.0, with_details=True
    )
    batch = Rollout(sampled)
    from_generation = logprobs_of_labels(batch.generation_logits / 0.7, batch.response_ids)
    logits, labels, hidden = response_forward(model, batch, slice(None), 0.7, hidden=True)
    recomputed = logprobs_of_labels(logits, labels)
    diff = (from_generation - recomputed).abs()
    assert masked_mean(diff, batch.mask).item() < 1e-4
    assert (hidden - batch.generation_hidden).abs()[batch.mask.bool()].max().item() < 1e-3


def test_missing_eos_penalty_teaches_the_policy_to_stop(models_dir, tmp_path):
    """With a reward that is 0 for everything, the only signal is the penalty for never emitting EOS: the
    share of responses that end must rise (with no penalty it stays at 0 here)."""
    config = PPOConfig(
        steps=30,
        prompts_per_step=16,
        max_new_tokens=3,
        learning_rate=1e-2,
        critic_learning_rate=3e-3,
        mini_batch_size=8,
        kl_coef=0.0,
        missing_eos_penalty=1.0,
        critic_warmup_passes=0,
    )
    rows = []
    train_ppo(
        config,
        "tiny-causal-lm",
        lambda prompts, texts: [0.0] * len(texts),
        PROMPTS,
        tmp_path / "policy",
        models_dir=models_dir,
        progress=lambda fraction, metrics: rows.append(metrics),
    )
    early = sum(r["eos_fraction"] for r in rows[:5]) / 5
    late = sum(r["eos_fraction"] for r in rows[-5:]) / 5
    assert late > early + 0.2, (early, late)


def test_passes_through_the_top_layers_alone_equal_full_passes(models_dir):
    """With adapters on the top layer only, the reference and training passes start from the lowest adapted
    layer's input captured during sampling: the same logits (and value features) as full passes, for the
    policy and for the adapter-free reference, on left-padded rows of a mini-batch."""
    import torch

    from training.generation import encode_prompt
    from training.models import load_causal_lm
    from training.ppo_setup import build_learner, layer_split
    from training.rollout import reference_model, response_forward, sample_rollout

    config = PPOConfig(lora=True, lora_layers=1, max_new_tokens=10, temperature=0.7)
    model, tokenizer = load_causal_lm("tiny-causal-lm", models_dir=models_dir)
    learner = build_learner(config, model, torch.nn.Linear(1, 1))
    with torch.no_grad():  # make the adapter matter: LoRA's B starts at zero
        for name, parameter in learner.policy.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5)
    split = layer_split(config, learner.policy)
    assert split is not None and split.first == 1
    prompts = [encode_prompt(tokenizer, p, 64) for p in (PROMPTS[0], [{"role": "user", "content": "x" * 30}])]
    torch.manual_seed(0)
    batch = sample_rollout(learner.policy, tokenizer, prompts * 2, config, split)
    full = copy.copy(batch)
    full.split = None  # the same rollout, passed through every layer
    rows = torch.tensor([1, 3])
    logits_of = {}
    with torch.no_grad():
        for use_reference in (False, True):
            with reference_model(learner.policy, None) if use_reference else nullcontext(learner.policy) as m:
                split_logits, _, split_hidden = response_forward(m, batch, rows, 0.7, hidden=True)
                full_logits, _, full_hidden = response_forward(m, full, rows, 0.7, hidden=True)
            mask = batch.mask[rows].bool()
            logits_of[use_reference] = split_logits
            assert (split_logits - full_logits).abs()[mask].max().item() < 1e-4
            assert (split_hidden - full_hidden).abs()[mask].max().item() < 1e-4
    # and the adapters do change the policy (so the reference comparison above meant something)
    assert (logits_of[True] - logits_of[False]).abs()[mask].max().item() > 1e-2
