"""A round's configuration."""


def test_round_ppo_defaults_to_the_cpu_lora_recipe_unless_told_otherwise():
    from annotation.rounds.config import RoundConfig

    default = RoundConfig.from_dict({}).ppo_config()
    assert (default.lora, default.learning_rate, default.steps) == (True, 1e-4, 2)  # 64 prompts, 32 a step
    full = RoundConfig.from_dict({"ppo": {"lora": False, "learning_rate": 1e-5}}).ppo_config()
    assert (full.lora, full.learning_rate) == (False, 1e-5)
    smoke = RoundConfig.from_dict({"preset": "smoke"})
    assert smoke.ppo_config().lora is False  # presets stand as written
    assert smoke.require_improvement is False  # a pipeline check reaches the generate stage
