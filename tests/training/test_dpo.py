import pytest

from training.checkpoints import EARLIER_DIR, is_complete, read_manifest
from training.config import DPOConfig
from training.dpo import preference_log_ratio, train_dpo
from training.metrics import TrainingCancelled

ROWS = [
    {
        "prompt": [{"role": "user", "content": f"question {i}"}],
        "chosen": [{"role": "assistant", "content": "yes, gladly"}],
        "rejected": [{"role": "assistant", "content": "no way"}],
        "margin": 1.0,
    }
    for i in range(16)
]


def test_dpo_raises_the_chosen_over_rejected_log_ratio(models_dir, tmp_path):
    before = preference_log_ratio("tiny-causal-lm", ROWS, models_dir=models_dir)
    progress = []
    metrics = train_dpo(
        DPOConfig(steps=10, batch_size=4, learning_rate=1e-3),
        "tiny-causal-lm",
        ROWS,
        tmp_path / "dpo",
        models_dir=models_dir,
        progress=lambda f, m: progress.append(f),
    )
    after = preference_log_ratio(tmp_path / "dpo", ROWS, models_dir=models_dir)
    assert after > before + 1.0, (before, after)
    assert metrics["steps"] == 10 and metrics["reward_margin_final"] > 0
    assert progress[-1] == pytest.approx(1.0)
    assert is_complete(tmp_path / "dpo")


def test_dpo_with_lora_merges_and_can_be_cancelled(models_dir, tmp_path):
    metrics = train_dpo(
        DPOConfig(steps=2, batch_size=2, lora=True, lora_r=4, learning_rate=1e-3),
        "tiny-causal-lm",
        ROWS,
        tmp_path / "lora",
        models_dir=models_dir,
    )
    assert metrics["steps"] == 2
    assert not (tmp_path / "lora" / "adapter_config.json").exists()
    assert (tmp_path / "lora" / "model.safetensors").exists()
    with pytest.raises(TrainingCancelled):
        train_dpo(
            DPOConfig(steps=5, batch_size=2),
            "tiny-causal-lm",
            ROWS,
            tmp_path / "cancelled",
            models_dir=models_dir,
            should_stop=lambda: True,
        )
    assert not (tmp_path / "cancelled").exists()


@pytest.mark.parametrize("lora", [False, True])
def test_dpo_saves_an_earlier_checkpoint_part_way(models_dir, tmp_path, lora):
    """`earlier_checkpoint`: the policy after that fraction of the steps, a model reference of its own, less
    far from the start than the final policy (a round falls back to it when the final one drifts)."""
    before = preference_log_ratio("tiny-causal-lm", ROWS, models_dir=models_dir)
    config = DPOConfig(steps=8, batch_size=4, learning_rate=1e-3, earlier_checkpoint=0.5, lora=lora, lora_r=4)
    train_dpo(config, "tiny-causal-lm", ROWS, tmp_path / "dpo", models_dir=models_dir)
    earlier = tmp_path / "dpo" / EARLIER_DIR
    assert is_complete(earlier) and read_manifest(earlier)["metrics"] == {"steps": 4, "of_steps": 8}
    half = preference_log_ratio(earlier, ROWS, models_dir=models_dir)
    final = preference_log_ratio(tmp_path / "dpo", ROWS, models_dir=models_dir)
    assert before < half < final, (before, half, final)
    off = DPOConfig(steps=2, batch_size=4)
    train_dpo(off, "tiny-causal-lm", ROWS, tmp_path / "off", models_dir=models_dir)
    assert not (tmp_path / "off" / EARLIER_DIR).exists()


def test_dpo_of_the_top_layers_only_learns_and_leaves_the_rest_as_it_was(models_dir, tmp_path):
    """`train_layers`: a full fine-tune of the top layers (and the final norm); the embedding and every layer
    below are the starting policy's, bit for bit. (10 steps of 4 pairs replay the 16 pairs, so the reference
    log-probs are also precomputed.)"""
    import torch

    from training.models import load_causal_lm

    before = preference_log_ratio("tiny-causal-lm", ROWS, models_dir=models_dir)
    config = DPOConfig(steps=10, batch_size=4, learning_rate=1e-3, train_layers=1)
    train_dpo(config, "tiny-causal-lm", ROWS, tmp_path / "top", models_dir=models_dir)
    after = preference_log_ratio(tmp_path / "top", ROWS, models_dir=models_dir)
    assert after > before + 1.0, (before, after)
    base = dict(load_causal_lm("tiny-causal-lm", models_dir=models_dir)[0].named_parameters())
    trained = dict(load_causal_lm(tmp_path / "top", models_dir=models_dir)[0].named_parameters())
    top = max(int(name.split(".")[2]) for name in base if name.startswith("model.layers."))
    changed = {name for name, value in trained.items() if not torch.equal(value, base[name])}
    assert changed and all(
        name.startswith(f"model.layers.{top}.") or name == "model.norm.weight" for name in changed
    )
    with pytest.raises(ValueError, match="train_layers"):
        DPOConfig(train_layers=2, lora=True).validate()
