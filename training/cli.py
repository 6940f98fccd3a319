"""`python -m training generate|reward|ppo|dpo ...`: the training side as a command line (no Django).

Every command reads/writes JSONL in the import/export formats, writes `metrics.json` and a per-step
`metrics.jsonl` into its output directory (for `generate`, `<output>.metrics.json` beside the file),
prints the final metrics as one JSON object on stdout and progress on stderr.
Exit status: 0 done, 2 invalid input,
130 cancelled (SIGINT/SIGTERM between steps; nothing is written at the output path).
"""

from __future__ import annotations

import argparse
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


def _add_common(parser: argparse.ArgumentParser, config_cls: type | None) -> None:
    parser.add_argument(
        "--models-dir",
        default=_default_models_dir(),
        help="cache of converted/built models (default: $PREFER_DATA_DIR/models, else ./var/models)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-step progress lines on stderr")
    if config_cls is not None:
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
    gen.add_argument("--per-prompt", type=int, help="responses per prompt K (default 2)")
    gen.add_argument("--max-new-tokens", type=int, help="tokens generated per response at most (default 64)")
    gen.add_argument("--temperature", type=float, help="sampling temperature, 0 = greedy (default 0.7)")
    gen.add_argument("--top-p", type=float, help="nucleus sampling mass (default 0.9)")
    gen.add_argument("--seed", type=int, help="random seed (default 0)")
    gen.add_argument("--batch-size", type=int, help="sequences generated together (default 16)")
    _add_common(gen, GenerationConfig)

    rew = sub.add_parser(
        "reward", help="train a Bradley-Terry reward model", description="Train a reward model."
    )
    rew.add_argument("--model", help=f"backbone; {MODEL_REF_HELP} (default minilm-l6)")
    rew.add_argument("--train", required=True, help="preference pairs JSONL in the trl export format")
    rew.add_argument("--eval", help="held-out pairs JSONL; metrics.json then holds eval_accuracy")
    rew.add_argument("--output", required=True, help="output directory (a reward-model reference)")
    rew.add_argument("--init", help="warm-start from this reward model directory instead of --model")
    rew.add_argument("--epochs", type=int, help="passes over the training pairs (default 1)")
    rew.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    rew.add_argument("--batch-size", type=int, help="pairs per optimizer step (default 16)")
    rew.add_argument("--learning-rate", type=float, help="peak learning rate (default 5e-5)")
    rew.add_argument("--max-length", type=int, help="tokens per side at most (default 512)")
    rew.add_argument("--label-smoothing", type=float, help="label smoothing for every pair (default 0)")
    rew.add_argument("--seed", type=int, help="random seed (default 0)")
    _add_common(rew, RewardConfig)

    ppo = sub.add_parser("ppo", help="run a PPO-max round", description="PPO-max against a reward model.")
    ppo.add_argument(
        "--policy", required=True, help=f"starting policy (also the KL reference); {MODEL_REF_HELP}"
    )
    ppo.add_argument("--reward", required=True, help="reward model reference (e.g. the output of `reward`)")
    ppo.add_argument("--prompts", required=True, help="prompts JSONL in the import format")
    ppo.add_argument("--output", required=True, help="output directory (a policy reference, LoRA merged)")
    ppo.add_argument("--steps", type=int, help="PPO iterations (default 20)")
    ppo.add_argument("--max-new-tokens", type=int, help="response length cap (default 64)")
    ppo.add_argument("--prompts-per-step", type=int, help="prompts per iteration (default 8)")
    ppo.add_argument("--mini-batch-size", type=int, help="sequences per optimizer step (default 8)")
    ppo.add_argument("--kl-coef", type=float, help="per-token KL penalty beta (default 0.05)")
    ppo.add_argument("--learning-rate", type=float, help="actor learning rate (default 1e-5)")
    ppo.add_argument("--lora", action="store_true", default=None, help="train LoRA adapters (merged on save)")
    ppo.add_argument(
        "--ptx", help="demonstrations JSONL ({messages} ending with an assistant turn) for PPO-ptx"
    )
    ppo.add_argument("--seed", type=int, help="random seed (default 0)")
    _add_common(ppo, PPOConfig)

    dpo = sub.add_parser(
        "dpo", help="run a DPO round (TRL DPOTrainer)", description="DPO on preference pairs."
    )
    dpo.add_argument(
        "--policy", required=True, help=f"starting policy (also the reference); {MODEL_REF_HELP}"
    )
    dpo.add_argument("--train", required=True, help="preference pairs JSONL in the trl export format")
    dpo.add_argument("--output", required=True, help="output directory (a policy reference, LoRA merged)")
    dpo.add_argument("--steps", type=int, help="optimizer steps (default 50)")
    dpo.add_argument("--batch-size", type=int, help="pairs per step (default 4)")
    dpo.add_argument("--beta", type=float, help="DPO beta (default 0.1)")
    dpo.add_argument("--learning-rate", type=float, help="learning rate (default 5e-6)")
    dpo.add_argument("--lora", action="store_true", default=None, help="train LoRA adapters (merged on save)")
    dpo.add_argument("--seed", type=int, help="random seed (default 0)")
    _add_common(dpo, DPOConfig)
    return parser


def _config(cls: Any, args: argparse.Namespace, flags: dict[str, str]) -> Any:
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
    for arg_name, field in flags.items():
        value = getattr(args, arg_name, None)
        if value is not None:
            data[field] = value
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
    from training.rows import prompt_messages, read_jsonl, write_jsonl

    config = _config(
        GenerationConfig,
        args,
        {
            "per_prompt": "per_prompt",
            "max_new_tokens": "max_new_tokens",
            "temperature": "temperature",
            "top_p": "top_p",
            "seed": "seed",
            "batch_size": "batch_size",
        },
    )
    rows = read_jsonl(args.input)
    conversations = [prompt_messages(row) for row in rows]
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
    from training.rows import read_jsonl

    config = _config(
        RewardConfig,
        args,
        {
            "model": "model",
            "epochs": "epochs",
            "max_steps": "max_steps",
            "batch_size": "batch_size",
            "learning_rate": "learning_rate",
            "max_length": "max_length",
            "label_smoothing": "label_smoothing",
            "seed": "seed",
        },
    )
    train_rows = read_jsonl(args.train)
    eval_rows = read_jsonl(args.eval) if args.eval else None
    _quiet_libraries()
    from training.reward import train_reward_model

    return train_reward_model(
        config,
        train_rows,
        eval_rows,
        args.output,
        models_dir=args.models_dir,
        init=args.init,
        progress=_progress(args.quiet, "reward"),
        should_stop=_should_stop,
    )


def _run_ppo(args: argparse.Namespace) -> dict[str, Any]:
    from training.rows import demonstration_messages, prompt_messages, read_jsonl

    config = _config(
        PPOConfig,
        args,
        {
            "steps": "steps",
            "max_new_tokens": "max_new_tokens",
            "prompts_per_step": "prompts_per_step",
            "mini_batch_size": "mini_batch_size",
            "kl_coef": "kl_coef",
            "learning_rate": "learning_rate",
            "lora": "lora",
            "seed": "seed",
        },
    )
    prompts = [prompt_messages(row) for row in read_jsonl(args.prompts)]
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
        progress=_progress(args.quiet, "ppo"),
        should_stop=_should_stop,
    )


def _run_dpo(args: argparse.Namespace) -> dict[str, Any]:
    from training.rows import read_jsonl

    config = _config(
        DPOConfig,
        args,
        {
            "steps": "steps",
            "batch_size": "batch_size",
            "beta": "beta",
            "learning_rate": "learning_rate",
            "lora": "lora",
            "seed": "seed",
        },
    )
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

    runners = {"generate": _run_generate, "reward": _run_reward, "ppo": _run_ppo, "dpo": _run_dpo}
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
