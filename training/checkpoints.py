"""Atomic files and artifact directories, and the directories' manifests.

`atomic_file` is how every file the project publishes is written (exports, dataset snapshots, JSONL outputs
of the training CLI): into a hidden temporary sibling, flushed and fsynced, renamed into place, and the
directory fsynced, so a reader never sees half a file and a crash leaves at most a `.<name>.tmp-*` file.

An artifact (converted model, reward model, policy) is written into a hidden temporary sibling directory,
fsynced, and renamed into place only when complete. The manifest (`prefer_manifest.json`) is the last file
written, so a directory is complete exactly when it exists at its final path with a readable manifest. A
process killed mid-write leaves only a `.<name>.tmp-*` directory, which `is_complete` rejects and
`remove_stale_temporaries` deletes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

MANIFEST_NAME = "prefer_manifest.json"
MANIFEST_FORMAT = 1
# A policy saved part-way through training, inside the final one's directory (DPOConfig.earlier_checkpoint).
EARLIER_DIR = "earlier"


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some filesystems do not allow opening directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass
class AtomicFile:
    """The open temporary file of `atomic_file`, and the path it is renamed to when the block ends.

    Attributes:
        file: the temporary file, open in the mode asked for.
        path (`Path`): the final path; a caller may change it (within the same directory) before the block
            ends, for a content-addressed file named by the hash of what it wrote.
    """

    file: IO[Any]
    path: Path


@contextlib.contextmanager
def atomic_file(final: Path | str, mode: str = "wb") -> Iterator[AtomicFile]:
    """Yields an `AtomicFile` whose file is renamed to its `path` when the block exits without an exception.

    The data is flushed and fsynced before the rename and the directory after it, so a crash leaves either
    the old file or the complete new one at `path` (plus, at worst, a `.<name>.tmp-*` sibling). On an
    exception the temporary file is removed and `path` is left as it was.

    Args:
        final (`Path`): the file's final path (its directory is created if missing).
        mode (`str`): `"wb"` (default) or `"w"` (UTF-8 text).
    """
    final = Path(final).absolute()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:12]}"
    encoding = None if "b" in mode else "utf-8"
    try:
        with open(tmp, "x" + mode.replace("w", ""), encoding=encoding) as handle:
            target = AtomicFile(file=handle, path=final)
            yield target
            handle.flush()
            os.fsync(handle.fileno())
        if Path(target.path).absolute().parent != final.parent:
            raise ValueError(
                f"{target.path} is not in {final.parent}: a rename across directories is not atomic"
            )
        os.replace(tmp, target.path)
        _fsync_dir(final.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_directory(final: Path | str, *, overwrite: bool = True) -> Iterator[Path]:
    """Yields a temporary directory that is renamed to `final` when the block exits without an exception.

    The caller must write the manifest (`write_manifest`) inside the block. On an exception (including
    `TrainingCancelled`) the temporary directory is removed and `final` is left as it was.

    Args:
        final (`Path`): the artifact's final path.
        overwrite (`bool`): replace an existing directory at `final` (the old one is moved aside first and
            deleted after the rename); if False an existing `final` raises `FileExistsError`.
    """
    final = Path(final).absolute()
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} already exists")
    tmp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        yield tmp
        if not (tmp / MANIFEST_NAME).exists():
            raise RuntimeError(f"artifact written to {tmp} has no {MANIFEST_NAME}; refusing to publish it")
        _fsync_tree(tmp)
        old: Path | None = None
        if final.exists():
            if not overwrite:
                raise FileExistsError(f"{final} already exists")
            old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:12]}"
            os.rename(final, old)
        os.rename(tmp, final)
        _fsync_dir(final.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_manifest(
    directory: Path,
    *,
    kind: str,
    base_model: str,
    config: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    data_hash: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Writes `prefer_manifest.json` (call it last, inside `atomic_directory`).

    Args:
        directory (`Path`): the artifact's temporary directory.
        kind (`str`): `policy`, `reward_model` or `converted_model`.
        base_model (`str`): the model reference the artifact was trained from.
        config (`dict`, *optional*): the training config (`to_dict()`).
        metrics (`dict`, *optional*): final metrics.
        data_hash (`str`, *optional*): `data_hash(rows)` of the training data.
        extra (`dict`, *optional*): more fields.

    Returns:
        The manifest as written.
    """
    import torch
    import transformers

    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "kind": kind,
        "base_model": base_model,
        "config": config or {},
        "metrics": metrics or {},
        "data_hash": data_hash,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
    }
    manifest.update(extra or {})
    path = Path(directory) / MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return manifest


def read_manifest(directory: Path | str) -> dict[str, Any]:
    """Reads an artifact's manifest.

    Raises:
        `FileNotFoundError`: when the directory has no manifest (incomplete or not ours).
    """
    path = Path(directory) / MANIFEST_NAME
    return json.loads(path.read_text(encoding="utf-8"))


def is_complete(directory: Path | str) -> bool:
    """True when `directory` is a published artifact: it exists, is not a temporary, and has a manifest."""
    directory = Path(directory)
    if not directory.is_dir() or ".tmp-" in directory.name:
        return False
    try:
        manifest = read_manifest(directory)
    except (FileNotFoundError, json.JSONDecodeError, NotADirectoryError):
        return False
    return manifest.get("format") == MANIFEST_FORMAT


def remove_stale_temporaries(parent: Path | str) -> list[Path]:
    """Deletes `.*.tmp-*` / `.*.old-*` directories left by killed writers; returns them.

    Only call it when no writer is running in `parent`.
    """
    removed: list[Path] = []
    parent = Path(parent)
    if not parent.is_dir():
        return removed
    for child in parent.iterdir():
        if child.is_dir() and child.name.startswith(".") and (".tmp-" in child.name or ".old-" in child.name):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed


def data_hash(rows: Iterable[Any]) -> str:
    """SHA-256 over the canonical JSON of the rows, in order: what exactly a model was trained on."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
        digest.update(b"\n")
    return "sha256:" + digest.hexdigest()
