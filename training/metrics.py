"""Progress reporting, cancellation and the per-step metrics log shared by every long-running function.

Contract with the orchestrator:

- `progress(fraction, metrics)` is called after every step with the fraction of the work done (0..1) and
  the latest metrics (a flat dict of floats/ints). It must be cheap; exceptions it raises propagate.
- `should_stop()` is polled between steps (never mid-step). When it returns True the function raises
  `TrainingCancelled`; nothing is left at the output path (the temporary directory is removed).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ProgressCallback = Callable[[float, dict[str, Any]], None]
StopCallback = Callable[[], bool]


class TrainingCancelled(Exception):
    """Raised by a long-running function when its `should_stop` callback asked it to stop.

    The function cleans up before raising: no artifact is written at the requested output path.
    """


def check_cancelled(should_stop: StopCallback | None, where: str = "") -> None:
    """Raises `TrainingCancelled` when `should_stop` is given and returns True."""
    if should_stop is not None and should_stop():
        raise TrainingCancelled(f"cancelled{' ' + where if where else ''}")


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _json_safe(value.item())
    return value


class MetricsLog:
    """Appends one JSON object per step to `metrics.jsonl` and forwards it to the progress callback.

    Args:
        directory (`Path`): where `metrics.jsonl` is written (the artifact's temporary directory).
        progress (`ProgressCallback`, *optional*): called with `(fraction, metrics)` on every `log`.
    """

    def __init__(self, directory: Path, progress: ProgressCallback | None = None) -> None:
        self.path = Path(directory) / "metrics.jsonl"
        self.progress = progress
        self.history: list[dict[str, Any]] = []
        self._start = time.monotonic()
        self._file = self.path.open("a", encoding="utf-8")

    def log(self, step: int, fraction: float, metrics: dict[str, Any]) -> dict[str, Any]:
        """Records the metrics of one step and reports progress; returns the recorded row."""
        row = {"step": step, "elapsed_s": round(time.monotonic() - self._start, 3)}
        row.update({k: _json_safe(v) for k, v in metrics.items()})
        self.history.append(row)
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()
        if self.progress is not None:
            self.progress(min(max(fraction, 0.0), 1.0), dict(row))
        return row

    def close(self) -> None:
        """Closes the log file."""
        if not self._file.closed:
            self._file.close()


def write_metrics_json(directory: Path, metrics: dict[str, Any]) -> None:
    """Writes the final metrics as `metrics.json` in `directory`."""
    safe = {k: _json_safe(v) for k, v in metrics.items()}
    (Path(directory) / "metrics.json").write_text(json.dumps(safe, indent=2, sort_keys=True) + "\n")


def mean_of(rows: list[dict[str, Any]], key: str) -> float:
    """Mean of `key` over the rows that have a numeric value for it (nan when none)."""
    values = [r[key] for r in rows if isinstance(r.get(key), int | float)]
    return sum(values) / len(values) if values else float("nan")
