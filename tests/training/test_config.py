import json

import pytest

from training.config import ConfigError, DPOConfig, GenerationConfig, PPOConfig, RewardConfig


@pytest.mark.parametrize("cls", [GenerationConfig, RewardConfig, PPOConfig, DPOConfig])
def test_config_round_trips_through_json(cls):
    config = cls.smoke()
    data = json.loads(json.dumps(config.to_dict()))
    assert cls.from_dict(data) == config


@pytest.mark.parametrize("cls", [GenerationConfig, RewardConfig, PPOConfig, DPOConfig])
def test_unknown_keys_are_rejected_by_name(cls):
    with pytest.raises(ConfigError, match=r"unknown key.*bogus_field"):
        cls.from_dict({"bogus_field": 1})


def test_smoke_preset_and_overrides():
    config = PPOConfig.from_dict({"preset": "smoke", "kl_coef": 0.1})
    assert config.steps == PPOConfig.smoke().steps < PPOConfig().steps
    assert config.kl_coef == 0.1


def test_wrong_types_and_values_are_rejected():
    with pytest.raises(ConfigError, match="steps"):
        PPOConfig.from_dict({"steps": "ten"})
    with pytest.raises(ConfigError, match="critic_init"):
        PPOConfig.from_dict({"critic_init": "magic"})
    with pytest.raises(ConfigError, match="label_smoothing"):
        RewardConfig.from_dict({"label_smoothing": 0.7})
    with pytest.raises(ConfigError, match="preset"):
        DPOConfig.from_dict({"preset": "huge"})
    assert RewardConfig.from_dict({"learning_rate": 1}).learning_rate == 1.0


@pytest.mark.parametrize("cls", [RewardConfig, PPOConfig])
def test_precision_is_auto_bf16_or_fp32(cls):
    assert cls().precision == "auto"
    assert cls.from_dict({"precision": "bf16"}).precision == "bf16"
    with pytest.raises(ConfigError, match=r"precision: auto\|bf16\|fp32, not 'fp16'"):
        cls.from_dict({"precision": "fp16"})


def test_auto_precision_is_bf16_only_where_the_hardware_has_it():
    import torch

    from training.precision import autocast, native_bf16, resolve_precision

    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == ("bf16" if native_bf16(cpu) else "fp32")
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"
    weight = torch.randn(4, 4)
    with autocast("bf16", cpu):
        assert (torch.ones(2, 4) @ weight).dtype == torch.bfloat16
    with autocast("fp32", cpu):
        assert (torch.ones(2, 4) @ weight).dtype == torch.float32
