"""The built-in model names (no torch: the web process checks round configs against them)."""

SMOLLM2 = "smollm2-135m-instruct"
MINILM = "minilm-l6"
TINY_CAUSAL_LM = "tiny-causal-lm"
TINY_REWARD_MODEL = "tiny-reward-model"
BUILTIN_MODELS = (SMOLLM2, MINILM, TINY_CAUSAL_LM, TINY_REWARD_MODEL)
