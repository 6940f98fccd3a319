import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from training.checkpoints import (
    atomic_directory,
    atomic_file,
    data_hash,
    is_complete,
    read_manifest,
    remove_stale_temporaries,
    write_manifest,
)
from training.config import GenerationConfig, RewardConfig
from training.generation import generate
from training.reward import train_reward_model

from .conftest import preference_rows

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
    )


def test_a_process_killed_mid_write_leaves_no_complete_looking_checkpoint(tmp_path):
    target = tmp_path / "ckpt"
    result = _run(f"""
        import os, signal
        from pathlib import Path
        from training.checkpoints import atomic_directory
        with atomic_directory(Path({str(target)!r})) as tmp:
            (tmp / "model.safetensors").write_bytes(b"x" * 4096)
            (tmp / "config.json").write_text("{{}}")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert result.returncode == -9
    assert not target.exists() and not is_complete(target)
    leftovers = [p for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and ".tmp-" in leftovers[0].name and not is_complete(leftovers[0])
    assert remove_stale_temporaries(tmp_path) == leftovers
    assert list(tmp_path.iterdir()) == []


def test_a_training_run_killed_mid_way_publishes_nothing_and_keeps_the_previous_artifact(
    models_dir, tmp_path
):
    target = tmp_path / "rm"
    with atomic_directory(target) as tmp:
        (tmp / "weights").write_text("previous model")
        write_manifest(tmp, kind="reward_model", base_model="old")
    result = _run(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from tests.training.conftest import preference_rows
        from training.config import RewardConfig
        from training.reward import train_reward_model
        def die(fraction, metrics):
            if metrics["step"] == 3:
                os.kill(os.getpid(), signal.SIGKILL)
        config = RewardConfig(model="tiny-reward-model", batch_size=4)
        train_reward_model(config, preference_rows(40, 0), None, {str(target)!r},
                           models_dir={str(models_dir)!r}, progress=die)
    """)
    assert result.returncode == -9, result.stderr[-2000:]
    assert is_complete(target) and read_manifest(target)["base_model"] == "old"
    assert (target / "weights").read_text() == "previous model"


def test_exceptions_discard_the_temporary_and_manifest_is_required(tmp_path):
    with pytest.raises(RuntimeError, match="boom"), atomic_directory(tmp_path / "a") as tmp:
        (tmp / "f").write_text("partial")
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError, match="no prefer_manifest"), atomic_directory(tmp_path / "b") as tmp:
        (tmp / "f").write_text("no manifest")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileExistsError):
        (tmp_path / "c").mkdir()
        with atomic_directory(tmp_path / "c", overwrite=False):
            pass


def test_manifest_and_data_hash(tmp_path):
    rows = [{"a": 1, "b": "中文"}, {"a": 2}]
    assert data_hash(rows) == data_hash([{"b": "中文", "a": 1}, {"a": 2}])
    assert data_hash(rows) != data_hash(rows[::-1])
    with atomic_directory(tmp_path / "m") as tmp:
        write_manifest(tmp, kind="policy", base_model="x", config={"k": 1}, metrics={"m": 0.5}, data_hash="h")
    manifest = read_manifest(tmp_path / "m")
    assert (
        manifest["kind"] == "policy" and manifest["config"] == {"k": 1} and manifest["metrics"] == {"m": 0.5}
    )
    assert is_complete(tmp_path / "m")


def test_a_loaded_checkpoint_generates_text_and_a_reward_checkpoint_is_a_backbone(models_dir, tmp_path):
    metrics = train_reward_model(
        RewardConfig(model="tiny-reward-model", max_steps=2, batch_size=4),
        preference_rows(16, 2),
        None,
        tmp_path / "rm",
        models_dir=models_dir,
    )
    assert metrics["steps"] == 2
    # A reward-model output is itself a model reference (warm start / critic init read it).
    again = train_reward_model(
        RewardConfig(model=str(tmp_path / "rm"), max_steps=1, batch_size=4),
        preference_rows(8, 3),
        None,
        tmp_path / "rm2",
        models_dir=models_dir,
    )
    assert again["steps"] == 1
    out = generate(
        "tiny-causal-lm",
        [[{"role": "user", "content": "hi"}]],
        GenerationConfig(per_prompt=2, max_new_tokens=8, temperature=1.0, seed=1),
        models_dir=models_dir,
    )
    assert all(r.text and r.n_tokens > 0 for r in out[0])


def test_atomic_file_publishes_whole_files_only(tmp_path):
    target = tmp_path / "sub" / "out.jsonl"
    with atomic_file(target) as out:
        out.file.write(b"one\n")
        assert not target.exists()  # nothing at the final path until the block ends
    assert target.read_bytes() == b"one\n"
    with pytest.raises(RuntimeError), atomic_file(target, "w") as out:
        out.file.write("half of a replacement")
        raise RuntimeError("the writer failed")
    assert target.read_bytes() == b"one\n"  # the old file stands
    with atomic_file(target, "w") as out:
        out.file.write("中文\n")
    assert target.read_text(encoding="utf-8") == "中文\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.jsonl"]  # no temporaries left


def test_atomic_file_may_be_named_by_its_content_but_not_moved_elsewhere(tmp_path):
    with atomic_file(tmp_path / "pending") as out:
        out.file.write(b"abc")
        out.path = tmp_path / "abc.bin"
    assert (tmp_path / "abc.bin").read_bytes() == b"abc" and not (tmp_path / "pending").exists()
    (tmp_path / "other").mkdir()
    with pytest.raises(ValueError, match="not atomic"), atomic_file(tmp_path / "x") as out:
        out.path = tmp_path / "other" / "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abc.bin", "other"]
