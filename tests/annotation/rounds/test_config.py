"""A round's configuration."""

import pytest


def test_round_ppo_defaults_to_the_cpu_lora_recipe_unless_told_otherwise():
    from annotation.rounds.config import RoundConfig

    default = RoundConfig.from_dict({}).ppo_config()
    assert (default.lora, default.learning_rate) == (True, 2e-4)
    # One round's rollouts are its prompts_per_round: steps x prompts_per_step.
    assert default.steps * default.prompts_per_step == RoundConfig().prompts_per_round
    full = RoundConfig.from_dict({"ppo": {"lora": False, "learning_rate": 1e-5}}).ppo_config()
    assert (full.lora, full.learning_rate) == (False, 1e-5)
    smoke = RoundConfig.from_dict({"preset": "smoke"})
    assert smoke.ppo_config().lora is False  # presets stand as written
    assert smoke.require_improvement is False  # a pipeline check reaches the generate stage


def test_round_dpo_defaults_to_the_round_learning_rate_unless_told_otherwise():
    from annotation.rounds.config import RoundConfig
    from training.config import DPOConfig

    default = RoundConfig.from_dict({}).dpo_config()
    assert (default.learning_rate, default.train_layers, default.lora) == (5e-5, 15, False)
    assert DPOConfig().train_layers is None  # the library fine-tunes the whole model unless told
    adapters = RoundConfig.from_dict({"dpo": {"lora": True}}).dpo_config()
    assert adapters.lora and adapters.train_layers is None  # LoRA replaces the layer default, no error
    whole = RoundConfig.from_dict({"dpo": {"train_layers": None}}).dpo_config()
    assert whole.train_layers is None
    assert DPOConfig().learning_rate == 5e-6  # the library keeps TRL's default for the CLI
    own = RoundConfig.from_dict({"dpo": {"learning_rate": 1e-6}}).dpo_config()
    assert own.learning_rate == 1e-6
    smoke = RoundConfig.from_dict({"preset": "smoke"}).dpo_config()
    assert smoke.learning_rate == DPOConfig.smoke().learning_rate  # presets stand as written


def test_dpo_steps_are_capped_at_max_epochs_passes_over_the_pairs():
    from annotation.rounds.config import RoundConfig
    from training.config import ConfigError, DPOConfig

    capped = DPOConfig(steps=50, batch_size=4, max_epochs=2.0)
    assert capped.steps_for(177) == 50  # plenty of pairs: the step budget decides
    assert capped.steps_for(43) == 22  # ceil(2 x 43 / 4)
    assert capped.steps_for(1) == 1
    assert DPOConfig(steps=50, batch_size=4).steps_for(3) == 50  # no cap by default (the CLI)
    with pytest.raises(ConfigError, match="max_epochs"):
        DPOConfig(max_epochs=-1.0).validate()
    assert RoundConfig().dpo_config().max_epochs == 2.0
