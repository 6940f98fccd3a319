"""Fixtures for the training tests: tiny models only, one CPU thread, no network."""

import os
import random

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

POSITIVE = ["great", "clear", "kind", "exact", "helpful", "correct"]
NEGATIVE = ["awful", "vague", "rude", "wrong", "useless", "sloppy"]
FILLER = ["the", "answer", "is", "here", "and", "it", "seems", "this", "one", "so"]


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    # Tiny models are dominated by per-op overhead; one thread is faster and leaves the second core free.
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    """A models cache shared by the session (the tiny models are materialised once)."""
    return tmp_path_factory.mktemp("models")


def preference_rows(n: int, seed: int, *, prompt_offset: int = 0) -> list[dict]:
    """Synthetic `trl` rows with a hidden rule: the chosen response contains a positive word, the rejected one
    a negative word, otherwise the two share the same filler words. Prompts are disjoint across offsets."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        prompt = f"question {prompt_offset + i}: " + " ".join(rng.choices(FILLER, k=2))
        base = rng.choices(FILLER, k=4)
        chosen, rejected = base.copy(), base.copy()
        chosen.insert(rng.randrange(5), rng.choice(POSITIVE))
        rejected.insert(rng.randrange(5), rng.choice(NEGATIVE))
        rows.append(
            {
                "prompt": [{"role": "user", "content": prompt}],
                "chosen": [{"role": "assistant", "content": " ".join(chosen)}],
                "rejected": [{"role": "assistant", "content": " ".join(rejected)}],
                "margin": rng.choice([0.0, 0.5, 1.0]),
                "agreement": rng.choice([1.0, 1.0, 0.6]),
                "comparison_id": i,
                "n_annotations": 1,
            }
        )
    return rows


def tiny_ppo_config(**overrides):
    """PPO budgets that move the tiny policy within seconds (a high learning rate, no EOS penalty)."""
    from training.config import PPOConfig

    settings = {
        "steps": 30,
        "prompts_per_step": 16,
        "max_new_tokens": 16,
        "learning_rate": 3e-3,
        "critic_learning_rate": 3e-3,
        "mini_batch_size": 8,
        "ppo_epochs": 2,
        "kl_coef": 0.1,
        "missing_eos_penalty": 0.0,
        "critic_warmup_passes": 1,
    }
    return PPOConfig(**{**settings, **overrides})
