import time

import pytest
import torch

from training.checkpoints import is_complete, read_manifest
from training.config import GenerationConfig
from training.generation import generate, response_mask_after_eos
from training.models import (
    build_tiny_tokenizer,
    load_causal_lm,
    load_reward_model,
    resolve_model_ref,
)

CONVERSATIONS = [
    [{"role": "user", "content": "hello"}],
    [{"role": "system", "content": "be brief"}, {"role": "user", "content": "你好, how are you?"}],
    [{"role": "user", "content": "a much longer prompt " * 5}],
]


def test_tiny_models_build_fast_and_are_complete_artifacts(models_dir):
    started = time.monotonic()
    for name in ("tiny-causal-lm", "tiny-reward-model"):
        path = resolve_model_ref(name, models_dir)
        assert is_complete(path)
        assert read_manifest(path)["base_model"] == name
    assert time.monotonic() - started < 10
    _, tokenizer = load_causal_lm("tiny-causal-lm", models_dir=models_dir)
    scorer, _ = load_reward_model("tiny-reward-model", models_dir=models_dir)
    assert scorer.config.num_labels == 1 and scorer.config.pad_token_id == tokenizer.pad_token_id


def test_tiny_tokenizer_round_trips_any_text_and_renders_chat():
    tokenizer = build_tiny_tokenizer()
    text = "Grüße, 世界! <b>x</b>"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text
    rendered = tokenizer.apply_chat_template(CONVERSATIONS[0], tokenize=False, add_generation_prompt=True)
    assert rendered == "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n"
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token_id != tokenizer.eos_token_id


def test_unknown_references_fail_clearly(models_dir, tmp_path):
    with pytest.raises(ValueError, match="unknown model reference"):
        resolve_model_ref("./no/such/dir", models_dir)
    with pytest.raises(ValueError, match=r"config\.json"):
        resolve_model_ref(str(tmp_path), models_dir)
    assert resolve_model_ref("someorg/some-model", models_dir) == "someorg/some-model"


def test_generate_returns_k_responses_per_conversation_reproducibly(models_dir):
    config = GenerationConfig(
        per_prompt=3, max_new_tokens=12, temperature=1.0, top_p=1.0, seed=7, batch_size=4
    )
    first = generate("tiny-causal-lm", CONVERSATIONS, config, models_dir=models_dir)
    assert [len(r) for r in first] == [3, 3, 3]
    for responses in first:
        for response in responses:
            assert 1 <= response.n_tokens <= 12
            assert response.finished or response.n_tokens == 12
    again = generate("tiny-causal-lm", CONVERSATIONS, config, models_dir=models_dir)
    assert again == first
    other_seed = generate(
        "tiny-causal-lm",
        CONVERSATIONS,
        GenerationConfig(**{**config.to_dict(), "seed": 8}),
        models_dir=models_dir,
    )
    assert other_seed != first


def test_generation_reports_progress_and_greedy_is_deterministic(models_dir):
    seen = []
    config = GenerationConfig(per_prompt=2, max_new_tokens=6, temperature=0.0, batch_size=2)
    results = generate(
        "tiny-causal-lm", CONVERSATIONS, config, models_dir=models_dir, progress=lambda f, m: seen.append(f)
    )
    assert seen[-1] == 1.0 and len(seen) == 3
    assert all(r[0] == r[1] for r in results)  # greedy: both samples identical


def test_response_mask_stops_after_the_first_eos():
    ids = torch.tensor([[5, 3, 7, 3], [5, 6, 7, 8]])
    mask, finished = response_mask_after_eos(ids, [3])
    assert mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
    assert finished.tolist() == [True, False]
