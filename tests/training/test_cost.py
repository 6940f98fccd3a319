"""The cost model and PPO's cost term (issue 11, item 4): helpful and harmless trained apart, as in
MOSS-RLHF and Safe-RLHF."""

import random

from training.config import RewardConfig
from training.cost import harm_pairs, train_cost_model
from training.ppo import train_ppo
from training.reward import score

from .conftest import tiny_ppo_config

HARMFUL = ["poison", "weapon", "steal", "hack", "threaten", "burn"]
SAFE = ["recipe", "garden", "library", "museum", "lesson", "music"]
FILLER = ["the", "answer", "is", "here", "and", "it", "seems", "this", "one", "so"]


def harmless_rows(n: int, seed: int, *, prompt_offset: int = 0) -> list[dict]:
    """Harmless preferences as annotators give them (`chosen` = the safer response): the less safe response
    names a harmful act, the safer one a harmless topic, in the same filler."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        base = rng.choices(FILLER, k=4)
        safe = " ".join([*base[:2], rng.choice(SAFE), *base[2:]])
        harmful = " ".join([*base[:2], rng.choice(HARMFUL), *base[2:]])
        prompt = [
            {"role": "user", "content": f"request {prompt_offset + i}: " + " ".join(rng.choices(FILLER, k=2))}
        ]
        rows.append(
            {
                "prompt": prompt,
                "chosen": [{"role": "assistant", "content": safe}],
                "rejected": [{"role": "assistant", "content": harmful}],
            }
        )
    return rows


def test_harm_pairs_turn_the_harmless_preference_around():
    row = {"prompt": "p", "chosen": "safer", "rejected": "worse", "margin": 1.0, "comparison_id": "c"}
    assert harm_pairs([row]) == [
        {"prompt": "p", "chosen": "worse", "rejected": "safer", "margin": 1.0, "comparison_id": "c"}
    ]


def test_cost_model_ranks_a_flagged_response_above_a_safe_one(models_dir, tmp_path):
    train, held_out = harmless_rows(48, seed=0), harmless_rows(40, seed=1, prompt_offset=10_000)
    config = RewardConfig(model="tiny-reward-model", max_length=64, batch_size=8, eval_every=0)
    metrics = train_cost_model(config, train, held_out, tmp_path / "cost", models_dir=models_dir)
    # eval_accuracy: held-out pairs whose less safe side the model scores costlier (chance is 0.5).
    assert metrics["eval_accuracy"] >= 0.9, metrics
    user = {"role": "user", "content": "request 99: so the"}
    flagged, safe = score(
        tmp_path / "cost",
        [
            [user, {"role": "assistant", "content": "the answer threaten is here"}],
            [user, {"role": "assistant", "content": "the answer museum is here"}],
        ],
        models_dir=models_dir,
    )
    assert flagged > safe


PROMPTS = [
    [{"role": "user", "content": f"say {word}"}] for word in ("hi", "yo", "ok", "go", "up", "no", "so", "be")
]


def test_ppo_with_a_cost_term_lowers_the_flagged_behaviour(models_dir, tmp_path):
    """No help to gain (the reward is flat), a cost for every ASCII letter or digit (62 of the tiny model's
    260 tokens, the "flagged behaviour"): PPO with the cost term writes far fewer of them, and reports the
    cost at every step; the control, the cost logged but weighted 0, does not."""

    def flat_reward(prompts, texts):
        return [0.0] * len(texts)

    def alphanumeric_cost(prompts, texts):
        return [float(sum(ch.isascii() and ch.isalnum() for ch in text)) for text in texts]

    config = tiny_ppo_config(cost_coef=1.0)
    rows = []
    metrics = train_ppo(
        config,
        "tiny-causal-lm",
        flat_reward,
        PROMPTS,
        tmp_path / "policy",
        models_dir=models_dir,
        cost_ref=alphanumeric_cost,
        progress=lambda fraction, row: rows.append(row),
    )
    # A uniform tiny policy writes about 4 of them in 16 tokens: at most half that after.
    assert metrics["cost_mean_initial"] > 2
    assert metrics["cost_mean_final"] < 0.5 * metrics["cost_mean_initial"], metrics
    assert all("cost_raw" in row and "cost_normalized" in row for row in rows)
    assert metrics["reward_mean_final"] == 0.0  # the reward itself gave nothing to learn

    # The control: the same run with the cost logged but weighted 0 keeps writing them.
    control = train_ppo(
        tiny_ppo_config(cost_coef=0.0),
        "tiny-causal-lm",
        flat_reward,
        PROMPTS,
        tmp_path / "control",
        models_dir=models_dir,
        cost_ref=alphanumeric_cost,
    )
    assert control["cost_mean_final"] > 0.8 * control["cost_mean_initial"], control
    assert control["cost_mean_final"] > 2 * metrics["cost_mean_final"], (control, metrics)
