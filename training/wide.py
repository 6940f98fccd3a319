"""The wide half of the reward model: a linear Bradley-Terry model over the response's surface.

A project's first rounds have a hundred or two preference pairs. That is far too few for a transformer to
learn from alone (measured here: a fine-tuned MiniLM reached 0.61 held-out accuracy on a "longer is better"
annotator with 160 pairs; it cannot even see line breaks), and plenty for a linear model over well-chosen
features, the classic small-data text classifier. So the reward model is wide and deep: this linear part,
fitted first and to convergence in well under a second, and the transformer (`training.reward`) trained on
what is left, stopped early when it stops helping.

Features of the response text (the prompt is the deep half's business):
- hashed word unigrams and bigrams, and the first token of every line (list markers, numbering, headings),
  as `log(1 + count)`;
- shape: log word and character counts, lines, and whether the text ends a sentence (a cut-off answer
  does not).
Each group has its own L2 penalty: a few shape weights may be large, thousands of n-gram weights may not.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import weakref
import zlib
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

WIDE_WEIGHTS = "prefer_wide_head.safetensors"
WIDE_CONFIG = "prefer_wide_head.json"
SHAPE_FEATURES = 4
_TOKEN = re.compile(r"\w+|[^\w\s]")


def shape_features(text: str) -> list[float]:
    """`[log(1 + words), log(1 + characters), non-empty lines / 10, ends a sentence]`."""
    lines = sum(1 for line in text.split("\n") if line.strip())
    ending = text.rstrip()[-1:]
    return [
        math.log1p(len(text.split())),
        math.log1p(len(text)),
        lines / 10,
        1.0 if ending in {".", "!", "?", ")", '"', "`", "*"} else 0.0,
    ]


def ngram_counts(text: str, dim: int) -> dict[int, float]:
    """Hashed counts of the text's lower-cased unigrams, bigrams and line-initial tokens (CRC32, stable
    across processes, unlike Python's `hash`)."""
    counts: dict[int, float] = {}

    def add(key: str) -> None:
        index = zlib.crc32(key.encode("utf-8")) % dim
        counts[index] = counts.get(index, 0.0) + 1.0

    tokens = [token.lower() for token in _TOKEN.findall(text)]
    for token in tokens:
        add("u:" + token)
    for first, second in itertools.pairwise(tokens):
        add(f"b:{first} {second}")
    for line in text.split("\n"):
        start = _TOKEN.findall(line.strip().lower())
        if start:
            add("l:" + start[0])
    return counts


class WideHead(nn.Module):
    """`score = ngram_weights . log(1 + counts) + shape_weights . shape(text)`.

    Args:
        dim: hashed n-gram buckets.
    """

    def __init__(self, dim: int = 8192) -> None:
        super().__init__()
        self.dim = dim
        self.ngram = nn.Parameter(torch.zeros(dim))
        self.shape = nn.Parameter(torch.zeros(SHAPE_FEATURES))

    def features(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Sparse `[N, dim]` n-gram features (memory follows the text, not `dim`) and dense `[N, 4]` shape
        features."""
        rows, columns, values = [], [], []
        for row, text in enumerate(texts):
            for index, count in ngram_counts(text, self.dim).items():
                rows.append(row)
                columns.append(index)
                values.append(math.log1p(count))
        ngrams = torch.sparse_coo_tensor(
            torch.tensor([rows, columns], dtype=torch.long).reshape(2, len(values)),
            torch.tensor(values, dtype=torch.float32),
            (len(texts), self.dim),
            check_invariants=False,  # built right here, in range by construction
        ).coalesce()
        shapes = torch.tensor([shape_features(text) for text in texts], dtype=torch.float32)
        return ngrams, shapes.reshape(len(texts), SHAPE_FEATURES)

    def forward(self, ngrams: torch.Tensor, shapes: torch.Tensor) -> torch.Tensor:
        """`[N]` scores of precomputed features."""
        return torch.sparse.mm(ngrams, self.ngram.unsqueeze(1)).squeeze(1) + shapes @ self.shape

    @torch.no_grad()
    def score(self, texts: list[str]) -> list[float]:
        """Scores response texts."""
        if not texts:
            return []
        return [float(x) for x in self(*self.features(texts))]

    def save(self, directory: Path) -> None:
        save_file(
            {"ngram": self.ngram.detach().contiguous(), "shape": self.shape.detach()},
            directory / WIDE_WEIGHTS,
        )
        (directory / WIDE_CONFIG).write_text(json.dumps({"dim": self.dim, "version": 1}) + "\n")

    @classmethod
    def load(cls, directory: Path) -> WideHead | None:
        """The wide head saved in a reward-model directory, or None when it has none."""
        if not (directory / WIDE_WEIGHTS).exists():
            return None
        head = cls(int(json.loads((directory / WIDE_CONFIG).read_text())["dim"]))
        weights = load_file(directory / WIDE_WEIGHTS)
        with torch.no_grad():
            head.ngram.copy_(weights["ngram"])
            head.shape.copy_(weights["shape"])
        return head


def fit_wide_head(
    chosen: list[str],
    rejected: list[str],
    *,
    margins: torch.Tensor,
    smoothing: torch.Tensor,
    dim: int,
    ngram_l2: float,
    shape_l2: float,
    iterations: int = 300,
    learning_rate: float = 0.05,
    init: WideHead | None = None,
) -> tuple[WideHead, dict[str, Any]]:
    """Fits the wide head on preference pairs by full-batch Adam on the Bradley-Terry loss (with the same
    margins and label smoothing as the deep half) plus the two groups' L2 penalties.

    Args:
        chosen / rejected: the response texts of each pair.
        margins / smoothing: `[P]` per pair.
        init: start from this head (a warm start from the last accepted reward model).

    Returns:
        The head and `{"wide_train_loss", "wide_train_accuracy"}`.
    """
    head = WideHead(dim)
    if init is not None and init.dim == dim:
        head.load_state_dict(init.state_dict())
    chosen_ngrams, chosen_shapes = head.features(chosen)
    rejected_ngrams, rejected_shapes = head.features(rejected)
    ngram_diff, shape_diff = (chosen_ngrams - rejected_ngrams).coalesce(), chosen_shapes - rejected_shapes
    optimizer = torch.optim.Adam(head.parameters(), lr=learning_rate)
    fit = torch.tensor(0.0)
    for _ in range(iterations):
        difference = head(ngram_diff, shape_diff) - margins
        fit = (-(1 - smoothing) * F.logsigmoid(difference) - smoothing * F.logsigmoid(-difference)).mean()
        loss = fit + ngram_l2 * head.ngram.pow(2).sum() + shape_l2 * head.shape.pow(2).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        difference = head(ngram_diff, shape_diff)
    return head, {
        "wide_train_loss": float(fit.detach()),
        "wide_train_accuracy": float(((difference > 0).float() + 0.5 * (difference == 0).float()).mean()),
    }


# A reward model's wide half, kept beside the transformer rather than inside it: as a submodule it would
# land in the transformer's state dict and in `save_pretrained`'s files.
_WIDE_HEADS: weakref.WeakKeyDictionary[nn.Module, WideHead] = weakref.WeakKeyDictionary()


def attach_wide_head(model: nn.Module, head: WideHead | None) -> None:
    """Makes `head` part of `model`'s scores (None detaches it)."""
    if head is None:
        _WIDE_HEADS.pop(model, None)
    else:
        _WIDE_HEADS[model] = head


def wide_head_of(model: nn.Module) -> WideHead | None:
    """The wide half attached to a reward model, if any."""
    return _WIDE_HEADS.get(model)
