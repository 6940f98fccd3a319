"""Reward-model training: pairs/s and held-out accuracy, ours vs TRL's RewardTrainer, same run.

Both trainers get the same backbone (loaded the same way, same tokenizer and chat template), the same
synthetic preference data, the same number of epochs (TRL's default, 3) and the same thread count. TRL runs
with its default settings; only what a CPU needs is changed (use_cpu=True, bf16=False, the model's
pad_token_id set), plus report_to=[] and a scratch output_dir, which change nothing about the work done.
Held-out accuracy of both is measured by the same function on the same prompt-disjoint eval pairs.

pairs/s counts pair passes (pairs x epochs) over the optimisation loop: ours from the first batch to the
last optimizer step, TRL's `trainer.train()` (model load and tokenisation are outside both clocks). The
wall time of our whole call (load, tokenise, train, evaluate, save) is printed as well.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/reward_model.py               # MiniLM + SmolLM2
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/reward_model.py --demo-scale  # MiniLM, 500 pairs

Prints one line per figure.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TOPICS = ["the river", "a recipe", "the train timetable", "python lists", "the solar system", "tax forms",
          "a job interview", "the garden", "a broken bicycle", "the history of tea"]  # fmt: skip
FILLER = [
    "Here is some information about {t}.",
    "Many people ask about {t} every day.",
    "There are several things to consider regarding {t}.",
    "Let me describe {t} step by step.",
    "First, look at the basic facts about {t}.",
    "Some details depend on the situation.",
    "It also helps to compare a few options.",
    "In short, it is a common question.",
]
GOOD = [
    "This answer is accurate and genuinely helpful.",
    "I checked each step carefully, so it is correct.",
    "The explanation is clear, specific and kind.",
    "Every fact here is verified and precise.",
]
BAD = [
    "This answer is probably wrong and careless.",
    "I did not check anything, so it may be nonsense.",
    "The explanation is vague, rude and confusing.",
    "Most facts here are invented and sloppy.",
]


def synthetic_pairs(n: int, seed: int, prompt_offset: int = 0) -> list[dict]:
    """`trl` rows with a hidden rule: chosen contains a quality sentence, rejected a sloppiness sentence;
    otherwise both share the same filler of 1-7 sentences (so lengths vary a lot, as real responses do)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        topic = rng.choice(TOPICS)
        filler = [s.format(t=topic) for s in rng.choices(FILLER, k=rng.randint(1, 7))]
        chosen, rejected = filler.copy(), filler.copy()
        chosen.insert(rng.randrange(len(filler) + 1), rng.choice(GOOD))
        rejected.insert(rng.randrange(len(filler) + 1), rng.choice(BAD))
        rows.append(
            {
                "prompt": [
                    {"role": "user", "content": f"Question {prompt_offset + i}: tell me about {topic}."}
                ],
                "chosen": [{"role": "assistant", "content": " ".join(chosen)}],
                "rejected": [{"role": "assistant", "content": " ".join(rejected)}],
                "margin": 0.0,
            }
        )
    return rows


def run_ours(backbone: str, train: list[dict], held_out: list[dict], epochs: int, models_dir: Path) -> dict:
    from training.config import RewardConfig
    from training.reward import train_reward_model

    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        metrics = train_reward_model(
            RewardConfig(model=backbone, epochs=epochs),
            train,
            held_out,
            Path(out) / "rm",
            models_dir=models_dir,
        )
        seconds = time.monotonic() - started
    return {
        "pairs_per_s": metrics["pairs_per_second"],
        "eval_accuracy": metrics["eval_accuracy"],
        "seconds": seconds,
        "train_seconds": metrics["train_seconds"],
    }


def run_trl(backbone: str, train: list[dict], held_out: list[dict], models_dir: Path) -> dict:
    import transformers
    from datasets import Dataset
    from trl import RewardConfig as TRLRewardConfig
    from trl import RewardTrainer

    from training.models import load_reward_model
    from training.scoring import evaluate_pairs_with_model

    model, tokenizer = load_reward_model(backbone, models_dir=models_dir, device="cpu")
    model.config.pad_token_id = tokenizer.pad_token_id
    dataset = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in train])
    with tempfile.TemporaryDirectory() as out:
        args = TRLRewardConfig(output_dir=out, use_cpu=True, bf16=False, report_to=[])
        trainer = RewardTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
        trainer.remove_callback(transformers.trainer_callback.PrinterCallback)
        started = time.monotonic()
        trainer.train()
        seconds = time.monotonic() - started
        epochs = args.num_train_epochs
    trained = trainer.model
    from training.rows import preference_pairs

    result = evaluate_pairs_with_model(trained, tokenizer, list(preference_pairs(held_out)))
    return {
        "pairs_per_s": len(train) * epochs / seconds,
        "eval_accuracy": result["accuracy"],
        "seconds": seconds,
        "epochs": epochs,
        "gradient_checkpointing": args.gradient_checkpointing,
        "batch_size": args.per_device_train_batch_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backbones", default="minilm-l6,smollm2-135m-instruct", help="comma-separated refs")
    parser.add_argument("--train-pairs", type=int, default=None, help="default: 256 (MiniLM), 64 (SmolLM2)")
    parser.add_argument("--eval-pairs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--models-dir", default=str(Path(os.environ.get("PREFER_DATA_DIR", "var")) / "models")
    )
    parser.add_argument(
        "--demo-scale",
        action="store_true",
        help="ours only: MiniLM, 500 pairs, default config (budget 5 min)",
    )
    parser.add_argument("--skip-trl", action="store_true", help="only time ours")
    args = parser.parse_args()

    import torch
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    import datasets

    datasets.disable_progress_bars()
    torch.set_num_threads(args.threads)
    models_dir = Path(args.models_dir)
    backbones = ["minilm-l6"] if args.demo_scale else args.backbones.split(",")
    held_out = synthetic_pairs(args.eval_pairs, seed=2, prompt_offset=100_000)
    for backbone in backbones:
        n = args.train_pairs or (500 if args.demo_scale else 256 if backbone == "minilm-l6" else 64)
        train = synthetic_pairs(n, seed=1)
        # TRL's default num_train_epochs is 3 and ours runs the same number of passes; the demo-scale run
        # times our defaults (RewardConfig(): 1 epoch) end to end, as a round would.
        epochs = 1 if args.demo_scale else 3
        ours = run_ours(backbone, train, held_out, epochs, models_dir)
        tag = f"reward_model backbone={backbone} train_pairs={n} eval_pairs={len(held_out)} epochs={epochs}"
        print(f"{tag} impl=ours pairs_per_s={ours['pairs_per_s']:.2f} "
              f"eval_accuracy={ours['eval_accuracy']:.3f} train_s={ours['train_seconds']:.1f} "
              f"wall_s={ours['seconds']:.1f}", flush=True)  # fmt: skip
        if args.demo_scale:
            print(f"{tag} demo_scale_wall_s={ours['seconds']:.1f} budget_s=300 "
                  f"within_budget={ours['seconds'] < 300}", flush=True)  # fmt: skip
        if args.skip_trl or args.demo_scale:
            continue
        trl = run_trl(backbone, train, held_out, models_dir)
        print(f"{tag} impl=trl pairs_per_s={trl['pairs_per_s']:.2f} eval_accuracy={trl['eval_accuracy']:.3f} "
              f"train_s={trl['seconds']:.1f} (defaults: batch {trl['batch_size']}, "
              f"gradient_checkpointing={trl['gradient_checkpointing']})", flush=True)  # fmt: skip
        delta = ours["eval_accuracy"] - trl["eval_accuracy"]
        print(f"{tag} speedup_pairs_per_s={ours['pairs_per_s'] / trl['pairs_per_s']:.2f}x "
              f"accuracy_ours_minus_trl={delta:+.3f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
