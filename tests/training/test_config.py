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
