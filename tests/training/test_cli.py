import json
import os
import subprocess
import sys
from pathlib import Path

from training.checkpoints import is_complete, read_manifest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
VOWELS = set("aeiou")


def cli(*args: str, expect: int = 0) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "training", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == expect, f"exit {result.returncode}\n{result.stderr[-3000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1]) if expect == 0 else {"stderr": result.stderr}


def test_cli_generate_reward_ppo_dpo_end_to_end(models_dir, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    with prompts.open("w") as f:
        for i in range(12):
            f.write(json.dumps({"id": f"q{i}", "prompt": f"tell me about {i}", "split": "train"}) + "\n")
        f.write(
            json.dumps({"id": "m", "messages": [{"role": "user", "content": "你好"}]}, ensure_ascii=False)
            + "\n"
        )
    common = ["--models-dir", str(models_dir), "--quiet"]

    generated = tmp_path / "generated.jsonl"
    summary = cli(
        "generate",
        "--model",
        "tiny-causal-lm",
        "--input",
        str(prompts),
        "--output",
        str(generated),
        "--per-prompt",
        "2",
        "--max-new-tokens",
        "12",
        "--temperature",
        "1.0",
        "--seed",
        "3",
        *common,
    )
    rows = [json.loads(line) for line in generated.read_text().splitlines()]
    assert summary["responses"] == 26 and len(rows) == 13
    assert rows[-1]["messages"][0]["content"] == "你好" and len(rows[-1]["responses"]) == 2
    assert all(r["responses"][0]["model"] == "tiny-causal-lm" for r in rows)
    assert Path(f"{generated}.metrics.json").exists()

    # Preference pairs from the generated responses: the one with more vowels wins (trl export format).
    pairs = tmp_path / "pairs.jsonl"
    with pairs.open("w") as f:
        for row in rows:
            a, b = (r["text"] for r in row["responses"])
            if a == b:
                continue
            chosen, rejected = (
                (a, b) if sum(c in VOWELS for c in a) >= sum(c in VOWELS for c in b) else (b, a)
            )
            messages = row.get("messages") or [{"role": "user", "content": row["prompt"]}]
            f.write(
                json.dumps(
                    {
                        "prompt": messages,
                        "chosen": [{"role": "assistant", "content": chosen}],
                        "rejected": [{"role": "assistant", "content": rejected}],
                        "margin": 0.5,
                        "comparison_id": row["id"],
                        "n_annotations": 1,
                        "agreement": 1.0,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )

    rm = tmp_path / "rm"
    metrics = cli(
        "reward",
        "--model",
        "tiny-reward-model",
        "--train",
        str(pairs),
        "--eval",
        str(pairs),
        "--output",
        str(rm),
        "--epochs",
        "2",
        "--batch-size",
        "4",
        *common,
    )
    on_disk = json.loads((rm / "metrics.json").read_text())
    assert 0.0 <= on_disk["eval_accuracy"] <= 1.0 and on_disk == json.loads(json.dumps(metrics))
    assert is_complete(rm) and (rm / "metrics.jsonl").exists()
    # Warm start from the previous reward model.
    cli(
        "reward",
        "--init",
        str(rm),
        "--train",
        str(pairs),
        "--output",
        str(tmp_path / "rm2"),
        "--max-steps",
        "1",
        *common,
    )
    assert read_manifest(tmp_path / "rm2")["base_model"] == str(rm)

    policy = tmp_path / "policy"
    metrics = cli(
        "ppo",
        "--policy",
        "tiny-causal-lm",
        "--reward",
        str(rm),
        "--prompts",
        str(prompts),
        "--output",
        str(policy),
        "--steps",
        "2",
        "--max-new-tokens",
        "8",
        "--prompts-per-step",
        "4",
        "--mini-batch-size",
        "2",
        *common,
    )
    assert metrics["steps"] == 2 and "kl_ref_final" in metrics and "reward_mean_final" in metrics
    assert is_complete(policy)
    assert len((policy / "metrics.jsonl").read_text().splitlines()) == 2

    dpo = tmp_path / "dpo"
    metrics = cli(
        "dpo",
        "--policy",
        str(policy),
        "--train",
        str(pairs),
        "--output",
        str(dpo),
        "--steps",
        "2",
        "--batch-size",
        "2",
        *common,
    )
    assert metrics["steps"] == 2 and is_complete(dpo)
    assert read_manifest(dpo)["base_model"] == str(policy)

    # The DPO output is a policy reference again: generation reads it.
    cli(
        "generate",
        "--model",
        str(dpo),
        "--input",
        str(prompts),
        "--output",
        str(tmp_path / "again.jsonl"),
        "--config",
        '{"preset": "smoke"}',
        *common,
    )


def test_cli_rejects_bad_input_clearly(models_dir, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "prompt": "ok"}\nnot json\n')
    out = cli(
        "generate",
        "--model",
        "tiny-causal-lm",
        "--input",
        str(bad),
        "--output",
        str(tmp_path / "o.jsonl"),
        "--models-dir",
        str(models_dir),
        expect=2,
    )
    assert "line 2: (line): invalid JSON: Expecting value at column 1" in out["stderr"]
    # The import's own rules (training.import_format), with the import's message: a conversation must end
    # with a user turn, which the training side's old loose reader also checked, and an id is required,
    # which it did not.
    strict = tmp_path / "strict.jsonl"
    strict.write_text('{"id": "x", "prompt": "ok"}\n{"prompt": "no id"}\n')
    out = cli(
        "generate", "--model", "tiny-causal-lm", "--input", str(strict),
        "--output", str(tmp_path / "o.jsonl"), "--models-dir", str(models_dir), expect=2,
    )  # fmt: skip
    assert "error: line 2: id: is required and must be a string" in out["stderr"]
    out = cli(
        "ppo",
        "--policy",
        "tiny-causal-lm",
        "--reward",
        "tiny-reward-model",
        "--prompts",
        str(bad),
        "--output",
        str(tmp_path / "p"),
        "--config",
        '{"stepz": 3}',
        "--models-dir",
        str(models_dir),
        expect=2,
    )
    assert "stepz" in out["stderr"]
    assert not (tmp_path / "o.jsonl").exists() and not (tmp_path / "p").exists()


def test_cli_help_documents_every_option():
    for command in ("generate", "reward", "cost", "ppo", "dpo"):
        result = subprocess.run(
            [sys.executable, "-m", "training", command, "--help"],
            cwd=ROOT,
            env=ENV,
            capture_output=True,
            text=True,
            check=True,
        )
        options = [line.split()[0] for line in result.stdout.splitlines() if line.strip().startswith("--")]
        assert "--models-dir" in options and "--config" in options
        # every option line is followed by help text (argparse prints it on the same or the next line)
        assert "(default" in result.stdout


def test_cli_ppo_rejects_a_bad_demonstration_file(models_dir, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"id": "a", "prompt": "hi"}\n')
    demos = tmp_path / "demos.jsonl"
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    demos.write_text(json.dumps(good) + '\n{"text": "no messages here"}\n')
    out = cli(
        "ppo", "--policy", "tiny-causal-lm", "--reward", "tiny-reward-model", "--prompts", str(prompts),
        "--ptx", str(demos), "--output", str(tmp_path / "p"), "--models-dir", str(models_dir),
        expect=2,
    )  # fmt: skip
    assert "line 2" in out["stderr"] and "messages" in out["stderr"] and "Traceback" not in out["stderr"]
    assert not (tmp_path / "p").exists()


def test_every_config_field_is_a_flag_with_the_fields_help_and_default():
    """The flags are generated from the config dataclasses: every field, its help, its default."""
    import argparse
    import dataclasses

    from training.cli import build_parser
    from training.config import DPOConfig, GenerationConfig, PPOConfig, RewardConfig

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    for command, cls in (("generate", GenerationConfig), ("reward", RewardConfig), ("ppo", PPOConfig),
                         ("dpo", DPOConfig)):  # fmt: skip
        actions = {a.dest: a for a in commands[command]._actions}
        defaults = cls()
        for field in dataclasses.fields(cls):
            action = actions[field.name]
            flag = "--" + field.name.replace("_", "-")
            boolean = str(field.type) == "bool"
            expected = [flag, "--no-" + flag[2:]] if boolean else [flag]
            assert action.option_strings == expected, action.option_strings
            assert field.metadata["help"] and field.metadata["help"].replace("%", "%%") in action.help
            default = getattr(defaults, field.name)
            assert f"(default: {'null' if default is None else default})" in action.help
            assert action.default is None  # unset flags leave the config's own value
        # The reverse: no flag of a config group that is not a field.
        group = next(g for g in commands[command]._action_groups if g.title.startswith(cls.__name__))
        assert {a.dest for a in group._group_actions} == {f.name for f in dataclasses.fields(cls)}


def test_flags_override_the_config_and_leave_the_rest(tmp_path):
    from training.cli import _config, build_parser
    from training.config import PPOConfig

    args = build_parser().parse_args(
        ["ppo", "--policy", "p", "--reward", "r", "--prompts", "x", "--output", "o", "--config",
         '{"steps": 7, "kl_coef": 0.2}', "--kl-coef", "0.3", "--no-lora", "--prompts-per-step", "4"]
    )  # fmt: skip
    config = _config(PPOConfig, args)
    assert (config.steps, config.kl_coef, config.lora, config.prompts_per_step) == (7, 0.3, False, 4)
    assert config.mini_batch_size == PPOConfig().mini_batch_size


def test_prompt_files_are_checked_like_the_import_duplicate_ids_included(tmp_path):
    import pytest

    from training.rows import RowError, read_prompts

    path = tmp_path / "p.jsonl"
    path.write_text(
        '{"id": "a", "prompt": "hi"}\n{"id": "b", "prompt": "yo"}\n{"id": "a", "prompt": "again"}\n'
    )
    with pytest.raises(RowError, match=r"line 3: id: duplicate id 'a' \(first seen on line 1\)"):
        read_prompts(path)
    path.write_text('{"id": "a", "prompt": "hi"}\n{"id": "b", "prompt": "yo"}\n')
    rows, conversations = read_prompts(path)
    assert [r["id"] for r in rows] == ["a", "b"] and conversations[1] == [{"role": "user", "content": "yo"}]


def test_cli_cost_model_then_ppo_with_its_cost(models_dir, tmp_path):
    from tests.training.test_cost import harmless_rows

    train, held_out = tmp_path / "harmless.jsonl", tmp_path / "held_out.jsonl"
    train.write_text("".join(json.dumps(row) + "\n" for row in harmless_rows(48, seed=0)))
    held_out.write_text(
        "".join(json.dumps(row) + "\n" for row in harmless_rows(24, seed=1, prompt_offset=500))
    )
    common = ["--models-dir", str(models_dir), "--quiet"]
    cost = cli(
        "cost", "--model", "tiny-reward-model", "--train", str(train), "--eval", str(held_out),
        "--output", str(tmp_path / "cost"), "--max-length", "64", "--batch-size", "8", "--eval-every", "0",
        *common,
    )  # fmt: skip
    assert cost["eval_accuracy"] >= 0.9, cost
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"say {i}"}) + "\n" for i in range(4)))
    ppo = cli(
        "ppo", "--policy", "tiny-causal-lm", "--reward", "tiny-reward-model",
        "--cost", str(tmp_path / "cost"), "--prompts", str(prompts), "--output", str(tmp_path / "policy"),
        "--preset", "smoke", *common,
    )  # fmt: skip
    assert ppo["steps"] == 2 and "cost_mean_final" in ppo
    assert read_manifest(tmp_path / "policy")["cost_model"] == str(tmp_path / "cost")
