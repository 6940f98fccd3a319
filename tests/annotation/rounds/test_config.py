"""A round's configuration."""


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
