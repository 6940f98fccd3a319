"""`python -m training generate|reward|cost|ppo|dpo ...`: the training side as a command line (no Django).

Every command reads/writes JSONL in the import/export formats, writes `metrics.json` and a per-step
`metrics.jsonl` into its output directory (for `generate`, `<output>.metrics.json` beside the file),
prints the final metrics as one JSON object on stdout and progress on stderr.
Exit status: 0 done, 2 invalid input,
130 cancelled (SIGINT/SIGTERM between steps; nothing is written at the output path).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from training.config import ConfigError, DPOConfig, GenerationConfig, PPOConfig, RewardConfig

_STOP = {"requested": False}

MODEL_REF_HELP = (
    "model reference: a built-in name (smollm2-135m-instruct, minilm-l6, tiny-causal-lm, tiny-reward-model), "
    "a directory holding a saved model (e.g. the output of another command), "
    "or a Hub id where the network allows"
)


def _default_models_dir() -> str:
    return str(Path(os.environ.get("PREFER_DATA_DIR", "var")) / "models")


def _flag_type(annotation: str) -> tuple[Any, dict[str, Any]]:
    """argparse's `type` (and extra keywords) for a config field's annotation (a string: the config
    modules use postponed annotations)."""
    kind = annotation.split("|")[0].strip()
    if kind == "bool":
        return None, {"action": argparse.BooleanOptionalAction}
    return {"int": int, "float": float, "str": str}[kind], {}


def add_config_flags(
    parser: argparse.ArgumentParser, config_cls: type, *, rename: dict[str, str] | None = None
) -> None:
    """One flag per field of `config_cls` (`--max-new-tokens` for `max_new_tokens`), its help text from the
    field's metadata and its default from the dataclass, so flags and configs cannot drift. Flags default
    to None (unset), so that `--config` and the presets fill what the command line does not say.

    Args:
        rename: field name -> flag name, for the few fields whose flag reads better otherwise.
    """
    group = parser.add_argument_group(f"{config_cls.__name__} (any of these overrides --config)")
    defaults = config_cls()
    for f in dataclasses.fields(config_cls):
        flag = "--" + (rename or {}).get(f.name, f.name).replace("_", "-")
        kind, extra = _flag_type(str(f.type))
        default = getattr(defaults, f.name)
        help_text = f"{f.metadata.get('help', '')} (default: {'null' if default is None else default})"
        if kind is not None:
            extra["type"] = kind
            extra["metavar"] = kind.__name__.upper()
        group.add_argument(flag, dest=f.name, default=None, help=help_text.replace("%", "%%"), **extra)


def _add_common(parser: argparse.ArgumentParser, config_cls: type) -> None:
    parser.add_argument(
        "--models-dir",
        default=_default_models_dir(),
        help="cache of converted/built models (default: $PREFER_DATA_DIR/models, else ./var/models)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-step progress lines on stderr")
    parser.add_argument(
        "--config",
        metavar="JSON_OR_PATH",
        help=f"{config_cls.__name__} fields as a JSON object or a path to a JSON file; "
        'unknown keys are an error; {"preset": "smoke"} starts from the smallest budgets. '
        "Explicit flags override it.",
    )
    parser.add_argument(
        "--preset",
        choices=["smoke"],
        help="start from the smoke preset (smallest budgets that run for real)",
    )
    add_config_flags(parser, config_cls)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m training`."""
    parser = argparse.ArgumentParser(
        prog="python -m training",
        description="Prefer's training side: sample responses, train reward models, run PPO or DPO rounds. "
        "Runs on CUDA when present, else on the CPU.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="sample K responses per prompt", description="Sample responses.")
    gen.add_argument("--model", required=True, help=MODEL_REF_HELP)
    gen.add_argument(
        "--input", required=True, help="prompts JSONL in the import format ({id, prompt|messages})"
    )
    gen.add_argument("--output", required=True, help="output JSONL: the input rows with 'responses' added")
    _add_common(gen, GenerationConfig)

    rew = sub.add_parser(
        "reward", help="train a Bradley-Terry reward model", description="Train a reward model."
    )
    rew.add_argument("--train", required=True, help="preference pairs JSONL in the trl export format")
    rew.add_argument("--eval", help="held-out pairs JSONL; metrics.json then holds eval_accuracy")
    rew.add_argument("--output", required=True, help="output directory (a reward-model reference)")
    rew.add_argument("--init", help="warm-start from this reward model directory instead of --model")
    _add_common(rew, RewardConfig)

    cost = sub.add_parser(
        "cost",
        help="train a cost model (higher = more harmful)",
        description="Train a cost model on harmless preferences (chosen = the safer response).",
    )
    cost.add_argument(
        "--train", required=True, help="harmless preference pairs JSONL (trl format, chosen = safer)"
    )
    cost.add_argument("--eval", help="held-out harmless pairs JSONL; metrics.json then holds eval_accuracy")
    cost.add_argument(
        "--output", required=True, help="output directory (a cost-model reference for ppo --cost)"
    )
    cost.add_argument("--init", help="warm-start from this cost model directory instead of --model")
    _add_common(cost, RewardConfig)

    ppo = sub.add_parser("ppo", help="run a PPO-max round", description="PPO-max against a reward model.")
    ppo.add_argument(
        "--policy", required=True, help=f"starting policy (also the KL reference); {MODEL_REF_HELP}"
    )
    ppo.add_argument("--reward", required=True, help="reward model reference (e.g. the output of `reward`)")
    ppo.add_argument("--prompts", required=True, help="prompts JSONL in the import format")
    ppo.add_argument(
        "--cost", help="cost model reference (the output of `cost`): reward - cost_coef * cost is maximised"
    )
    ppo.add_argument("--output", required=True, help="output directory (a policy reference, LoRA merged)")
    ppo.add_argument(
        "--ptx",
        help="demonstrations JSONL ({messages} ending with an assistant turn) for PPO-ptx "
        "(ptx_coef 0.1 unless given)",
    )
    _add_common(ppo, PPOConfig)

    dpo = sub.add_parser(
        "dpo", help="run a DPO round (TRL DPOTrainer)", description="DPO on preference pairs."
    )
    dpo.add_argument(
        "--policy", required=True, help=f"starting policy (also the reference); {MODEL_REF_HELP}"
    )
    dpo.add_argument("--train", required=True, help="preference pairs JSONL in the trl export format")
    dpo.add_argument("--output", required=True, help="output directory (a policy reference, LoRA merged)")
    _add_common(dpo, DPOConfig)
    return parser


def _config(cls: Any, args: argparse.Namespace) -> Any:
    """The command's config: `--config` (JSON or a file), then `--preset`, then every flag that was given."""
    data: dict[str, Any] = {}
    if getattr(args, "config", None):
        text = args.config
        if not text.lstrip().startswith("{"):
            text = Path(text).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigError(f"--config: invalid JSON: {error.msg}") from error
        if not isinstance(data, dict):
            raise ConfigError("--config: expected a JSON object")
    if getattr(args, "preset", None):
        data["preset"] = args.preset
    for f in dataclasses.fields(cls):
        value = getattr(args, f.name, None)
        if value is not None:
            data[f.name] = value
    return cls.from_dict(data)


def _progress(quiet: bool, label: str) -> Any:
    if quiet:
        return None
    keys = (
        "loss",
        "accuracy",
        "reward_raw",
        "kl_ref",
        "response_length",
        "rewards/margins",
        "generated_tokens",
        "pairs_per_second",
    )

    def report(fraction: float, metrics: dict[str, Any]) -> None:
        shown = " ".join(
            f"{k}={metrics[k]:.4g}" if isinstance(metrics[k], float) else f"{k}={metrics[k]}"
            for k in keys
            if k in metrics
        )
        print(f"[{label}] {fraction * 100:5.1f}% {shown}", file=sys.stderr, flush=True)

    return report


def _should_stop() -> bool:
    return _STOP["requested"]


def _run_generate(args: argparse.Namespace) -> dict[str, Any]:
    from training.checkpoints import data_hash
    from training.rows import read_prompts, write_jsonl

    config = _config(GenerationConfig, args)
    rows, conversations = read_prompts(args.input)
    _quiet_libraries()
    from training.generation import generate

    started = time.monotonic()
    results = generate(
        args.model,
        conversations,
        config,
        models_dir=args.models_dir,
        progress=_progress(args.quiet, "generate"),
        should_stop=_should_stop,
    )
    out_rows = []
    generation_params = config.to_dict()
    for row, responses in zip(rows, results, strict=True):
        out = dict(row)
        out["responses"] = [
            {
                "text": r.text,
                "model": str(args.model),
                "n_tokens": r.n_tokens,
                "finished": r.finished,
                "generation": generation_params,
            }
            for r in responses
        ]
        out_rows.append(out)
    write_jsonl(args.output, out_rows)
    n_responses = sum(len(r) for r in results)
    tokens = sum(x.n_tokens for r in results for x in r)
    duration = time.monotonic() - started
    metrics = {
        "prompts": len(rows),
        "responses": n_responses,
        "generated_tokens": tokens,
        "finished_fraction": sum(x.finished for r in results for x in r) / max(n_responses, 1),
        "tokens_per_second": tokens / duration,
        "duration_s": duration,
        "model": str(args.model),
        "config": generation_params,
        "data_hash": data_hash(conversations),
    }
    Path(f"{args.output}.metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return metrics


def _run_reward(args: argparse.Namespace) -> dict[str, Any]:
    return _run_pairwise_model(args, "reward")


def _run_cost(args: argparse.Namespace) -> dict[str, Any]:
    return _run_pairwise_model(args, "cost")


def _run_pairwise_model(args: argparse.Namespace, label: str) -> dict[str, Any]:
    """`reward` and `cost`: the same Bradley-Terry trainer, the cost model on the pairs turned around."""
    from training.rows import read_jsonl

    config = _config(RewardConfig, args)
    train_rows = read_jsonl(args.train)
    eval_rows = read_jsonl(args.eval) if args.eval else None
    _quiet_libraries()
    from training.cost import train_cost_model
    from training.reward import train_reward_model

    train = train_cost_model if label == "cost" else train_reward_model
    return train(
        config,
        train_rows,
        eval_rows,
        args.output,
        models_dir=args.models_dir,
        init=args.init,
        progress=_progress(args.quiet, label),
        should_stop=_should_stop,
    )


def _run_ppo(args: argparse.Namespace) -> dict[str, Any]:
    from training.rows import demonstration_messages, read_jsonl, read_prompts

    config = _config(PPOConfig, args)
    _, prompts = read_prompts(args.prompts)
    ptx = None
    if args.ptx:
        ptx = [demonstration_messages(row) for row in read_jsonl(args.ptx)]
        if config.ptx_coef == 0:
            config.ptx_coef = 0.1
    _quiet_libraries()
    from training.ppo import train_ppo

    return train_ppo(
        config,
        args.policy,
        args.reward,
        prompts,
        args.output,
        models_dir=args.models_dir,
        ptx_conversations=ptx,
        cost_ref=args.cost,
        progress=_progress(args.quiet, "ppo"),
        should_stop=_should_stop,
    )


def _run_dpo(args: argparse.Namespace) -> dict[str, Any]:
    from training.rows import read_jsonl

    config = _config(DPOConfig, args)
    train_rows = read_jsonl(args.train)
    _quiet_libraries()
    from training.dpo import train_dpo

    return train_dpo(
        config,
        args.policy,
        train_rows,
        args.output,
        models_dir=args.models_dir,
        progress=_progress(args.quiet, "dpo"),
        should_stop=_should_stop,
    )


def _quiet_libraries() -> None:
    import warnings

    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        import datasets

        datasets.disable_progress_bars()
    except ImportError:  # pragma: no cover - datasets is a dependency of trl
        pass
    warnings.filterwarnings("ignore", category=FutureWarning)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)

    def request_stop(signum: int, frame: Any) -> None:
        _STOP["requested"] = True
        print(f"signal {signum}: stopping after the current step", file=sys.stderr, flush=True)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    from training.metrics import TrainingCancelled
    from training.rows import RowError

    runners = {
        "generate": _run_generate,
        "reward": _run_reward,
        "cost": _run_cost,
        "ppo": _run_ppo,
        "dpo": _run_dpo,
    }
    try:
        metrics = runners[args.command](args)
    except (ConfigError, RowError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except TrainingCancelled as error:
        print(f"cancelled: {error}", file=sys.stderr)
        return 130
    print(json.dumps(metrics, default=str))
    return 0
