"""PPO throughput: generated + trained tokens per second, ours (PPO-max) vs TRL's RLOOTrainer, same run.

Same policy (SmolLM2-135M-Instruct by default), same reward model (a MiniLM reward model trained here on
synthetic preference data, cached under the models dir), same prompts (each sampled once), same sequences
per optimizer step (8), same response cap (64 new tokens), same thread count. Each runs with its own
defaults: TRL's RLOO samples 8 sequences per step (`generation_batch_size` unset), ours samples a rollout
of 32 and trains on it in 4 mini-batches of 8 (`PPOConfig` defaults). What is changed in TRL is what a CPU
needs (use_cpu=True, bf16=False), the shared budgets above (max_steps = prompts / 8,
max_completion_length), logging every step, report_to=[] and no checkpoint saving. Ours runs with LoRA (the
CPU recipe in DESIGN section 6); `--trl-lora` also runs TRL with the same LoRA settings, and
`--trl-rollout-32` also runs TRL sampling 32 sequences at a time (`steps_per_generation=4`), the same
rollout size as ours.

Tokens counted for both: every generated response token once, plus once more per optimisation pass that
trains on it (ours: `ppo_epochs`=1; RLOO: `num_iterations`=1). Both clocks cover the training loop only
(ours: the PPO iterations; TRL: `trainer.train()`); model loading is outside both.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/ppo.py                # 128 prompts x 64 tokens
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/ppo.py --demo-scale   # 64 prompts x 64 tokens, ours only

Prints one line per figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TOPICS = ["the river", "a recipe", "the train timetable", "python lists", "the solar system", "tax forms",
          "a job interview", "the garden", "a broken bicycle", "the history of tea", "chess openings",
          "saving money", "learning Spanish", "a rainy weekend", "the first computer",
          "volcanoes"]  # fmt: skip
ASKS = ["Tell me about {t}.", "Give me one useful tip about {t}.", "Explain {t} to a child.",
        "What should I know about {t}?"]  # fmt: skip


def prompts(n: int) -> list[list[dict]]:
    """`n` single-turn prompts (topics x phrasings)."""
    return [
        [{"role": "user", "content": ASKS[i // len(TOPICS) % len(ASKS)].format(t=TOPICS[i % len(TOPICS)])}]
        for i in range(n)
    ]


def reward_model_dir(models_dir: Path) -> Path:
    """A MiniLM reward model trained on the reward benchmark's synthetic data (quality vs sloppiness)."""
    from reward_model import synthetic_pairs

    from training.checkpoints import is_complete
    from training.config import RewardConfig
    from training.reward import train_reward_model

    target = models_dir / "bench-reward-minilm"
    if not is_complete(target):
        train_reward_model(
            RewardConfig(model="minilm-l6", epochs=1, batch_size=16, learning_rate=1e-4),
            synthetic_pairs(96, seed=7),
            None,
            target,
            models_dir=models_dir,
        )
    return target


def run_ours(policy: str, reward: Path, conversations: list, new_tokens: int, models_dir: Path) -> dict:
    from training.config import PPOConfig
    from training.ppo import train_ppo

    config = PPOConfig(max_new_tokens=new_tokens, lora=True, learning_rate=1e-4, critic_learning_rate=1e-3)
    config.steps = -(-len(conversations) // config.prompts_per_step)  # every prompt sampled once
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        metrics = train_ppo(
            config, policy, reward, conversations, Path(out) / "policy", models_dir=models_dir
        )
        wall = time.monotonic() - started
    return {
        "tokens_per_s": metrics["tokens_per_second"],
        "generated": metrics["generated_tokens"],
        "trained": metrics["trained_tokens"],
        "reward_first": metrics["reward_mean_initial"],
        "reward_last": metrics["reward_mean_final"],
        "kl_per_token": metrics["kl_ref_per_token_final"],
        "wall_s": wall,
        "loop_s": metrics["duration_s"] - metrics["setup_s"],
        "critic": metrics["critic_init"],
    }


def run_trl(
    policy: str,
    reward: Path,
    conversations: list,
    new_tokens: int,
    models_dir: Path,
    lora: bool,
    rollout_steps: int | None,
) -> dict:
    import transformers
    from datasets import Dataset
    from trl import RLOOConfig, RLOOTrainer

    from training.models import load_causal_lm, load_reward_model

    model, tokenizer = load_causal_lm(policy, models_dir=models_dir, device="cpu")
    model.train()
    reward_model, reward_tokenizer = load_reward_model(reward, models_dir=models_dir, device="cpu")
    logs: list[dict] = []

    class Recorder(transformers.TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):  # type: ignore[no-untyped-def]
            if logs and "completions/mean_length" in logs:
                logs_copy = dict(logs)
                logs_copy["_time"] = time.monotonic()
                recorded.append(logs_copy)

    recorded = logs
    peft_config = None
    if lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
    dataset = Dataset.from_list([{"prompt": c} for c in conversations])
    with tempfile.TemporaryDirectory() as out:
        args = RLOOConfig(
            output_dir=out,
            use_cpu=True,
            bf16=False,
            report_to=[],
            max_steps=len(conversations) // 8,  # 8 sequences per step (TRL's default batch)
            steps_per_generation=rollout_steps,
            max_completion_length=new_tokens,
            logging_steps=1,
            save_strategy="no",
            disable_tqdm=True,
        )
        trainer = RLOOTrainer(
            model=model,
            reward_funcs=reward_model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            reward_processing_classes=reward_tokenizer,
            callbacks=[Recorder()],
            peft_config=peft_config,
        )
        trainer.remove_callback(transformers.trainer_callback.PrinterCallback)
        started = time.monotonic()
        trainer.train()
        seconds = time.monotonic() - started
    # Completion stats are logged once per generation, over the whole generation batch.
    per_generation = args.per_device_train_batch_size * (rollout_steps or 1)
    generated = sum(row["completions/mean_length"] * per_generation for row in logs)
    trained = generated * args.num_iterations
    return {
        "tokens_per_s": (generated + trained) / seconds,
        "generated": generated,
        "trained": trained,
        "reward_first": logs[0].get("reward", float("nan")),
        "reward_last": sum(r.get("reward", 0.0) for r in logs[-max(1, len(logs) // 4) :])
        / max(1, len(logs) // 4),
        "kl_per_token": logs[-1].get("kl", float("nan")),
        "loop_s": seconds,
        "sequences_per_step": args.per_device_train_batch_size,
        "sequences_per_generation": per_generation,
        "num_generations": args.num_generations,
        "gradient_checkpointing": args.gradient_checkpointing,
        "learning_rate": args.learning_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--policy", default="smollm2-135m-instruct")
    parser.add_argument("--prompts", type=int, default=128, help="sampled once each (a multiple of 32)")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--models-dir", default=str(Path(os.environ.get("PREFER_DATA_DIR", "var")) / "models")
    )
    parser.add_argument("--demo-scale", action="store_true", help="64 prompts x 64 new tokens, ours only")
    parser.add_argument("--trl-lora", action="store_true", help="also run RLOO with our LoRA settings")
    parser.add_argument(
        "--trl-rollout-32", action="store_true", help="also run RLOO sampling 32 sequences at a time"
    )
    parser.add_argument("--skip-trl", action="store_true")
    args = parser.parse_args()

    import datasets
    import torch
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    torch.set_num_threads(args.threads)
    models_dir = Path(args.models_dir)
    conversations = prompts(64 if args.demo_scale else args.prompts)
    reward = reward_model_dir(models_dir)
    tag = f"ppo policy={args.policy} reward=minilm-rm prompts={len(conversations)}"
    tag += f" new_tokens={args.max_new_tokens}"
    ours = run_ours(args.policy, reward, conversations, args.max_new_tokens, models_dir)
    print(f"{tag} impl=ours(ppo-max,lora,critic={ours['critic']}) tokens_per_s={ours['tokens_per_s']:.1f} "
          f"generated={ours['generated']} trained={ours['trained']} loop_s={ours['loop_s']:.1f} "
          f"reward_first={ours['reward_first']:.3f} reward_last={ours['reward_last']:.3f} "
          f"kl_per_token={ours['kl_per_token']:.4f}", flush=True)  # fmt: skip
    if args.demo_scale:
        print(f"{tag} demo_scale_round_wall_s={ours['wall_s']:.1f} budget_s=600 "
              f"within_budget={ours['wall_s'] < 600}", flush=True)  # fmt: skip
    if args.skip_trl or args.demo_scale:
        return
    runs = [("rloo-defaults", False, None)]
    runs += [("rloo-lora", True, None)] if args.trl_lora else []
    runs += [("rloo-rollout-32", False, 4)] if args.trl_rollout_32 else []
    for name, lora, rollout_steps in runs:
        trl = run_trl(
            args.policy, reward, conversations, args.max_new_tokens, models_dir, lora, rollout_steps
        )
        print(f"{tag} impl=trl({name}) tokens_per_s={trl['tokens_per_s']:.1f} "
              f"generated={trl['generated']:.0f} trained={trl['trained']:.0f} loop_s={trl['loop_s']:.1f} "
              f"reward_first={trl['reward_first']:.3f} "
              f"reward_last={trl['reward_last']:.3f} kl_per_token={trl['kl_per_token']:.4f} "
              f"(sequences/step {trl['sequences_per_step']}, sampled {trl['sequences_per_generation']} at a "
              f"time, num_generations {trl['num_generations']}, "
              f"gradient_checkpointing={trl['gradient_checkpointing']}, lr {trl['learning_rate']})",
              flush=True)  # fmt: skip
        print(
            f"{tag} speedup_tokens_per_s_vs_{name}={ours['tokens_per_s'] / trl['tokens_per_s']:.2f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
