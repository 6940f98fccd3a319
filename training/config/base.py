"""The base of every training config dataclass: JSON round trips, presets, type and range checks.

Each config is plain data: JSON-serialisable through `to_dict` / `from_dict`, which rejects unknown keys with
an error naming them (so a typo in a round's config fails loudly instead of being ignored). Each has a
`smoke()` preset: the smallest budgets that still exercise every stage for real.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Self


class ConfigError(ValueError):
    """Raised when a config dictionary has unknown keys or invalid values."""


# The training passes' arithmetic (`training.precision`): bf16 autocast where the hardware has it, or not.
PRECISIONS = ("auto", "bf16", "fp32")
PRECISION_HELP = (
    "arithmetic of the training passes: `bf16` (autocast: matrix products in bfloat16, weights and losses "
    "in float32), `fp32`, or `auto` (bf16 on a GPU or CPU that computes it natively, else fp32)"
)


def option(default: Any, help: str) -> Any:
    """A config field with its help text in the field's metadata (the CLI's flags are generated from it)."""
    return dataclasses.field(default=default, metadata={"help": help})


@dataclass
class _ConfigBase:
    def to_dict(self) -> dict[str, Any]:
        """Returns the config as a JSON-serialisable dictionary."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Builds a config from a dictionary.

        Args:
            data (`dict`): field values; missing fields take their defaults. The key `"preset"` with value
                `"smoke"` starts from `smoke()` instead of the defaults.

        Raises:
            `ConfigError`: on unknown keys or values of the wrong type.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
        data = dict(data)
        preset = data.pop("preset", None)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(
                f"{cls.__name__}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(names))}"
            )
        if preset is None:
            base = cls()
        elif preset == "smoke":
            base = cls.smoke()
        else:
            raise ConfigError(f"{cls.__name__}: unknown preset {preset!r} (known: 'smoke')")
        config = dataclasses.replace(base, **data)
        config.validate()
        return config

    @classmethod
    def smoke(cls) -> Self:
        """Returns the smallest budgets that still run every stage for real."""
        return cls()

    def validate(self) -> None:
        """Checks field types against the annotations (ints, floats, bools, strings) and value ranges."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = str(f.type)
            if value is None:
                if "None" not in kind:
                    raise ConfigError(f"{type(self).__name__}.{f.name}: must not be null")
                continue
            if kind.startswith("bool") and not isinstance(value, bool):
                raise ConfigError(f"{type(self).__name__}.{f.name}: expected a boolean, got {value!r}")
            if kind.startswith("int") and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(f"{type(self).__name__}.{f.name}: expected an integer, got {value!r}")
            if kind.startswith("float"):
                if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                    name = f"{type(self).__name__}.{f.name}"
                    raise ConfigError(f"{name}: expected a finite number, got {value!r}")
                setattr(self, f.name, float(value))
            if kind.startswith("str") and not isinstance(value, str):
                raise ConfigError(f"{type(self).__name__}.{f.name}: expected a string, got {value!r}")

    def _require_precision(self, value: str) -> None:
        if value not in PRECISIONS:
            raise ConfigError(f"{type(self).__name__}.precision: {'|'.join(PRECISIONS)}, not {value!r}")

    def _require_positive(self, *names: str) -> None:
        for name in names:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{type(self).__name__}.{name}: must be > 0, got {getattr(self, name)!r}")
