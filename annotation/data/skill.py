"""Skill-weighted consensus: Dawid-Skene (crowd-kit's `DawidSkene`) over the same pair votes as the majority
rule of consensus.py.

Why it fits pairwise and ranked labels: every unordered pair of a comparison's responses (display order) is
one task whose label is one of three classes, first better / second better / tie, exactly the votes that
the plurality rule counts. Dawid-Skene learns one 3x3 confusion matrix per annotator over those classes:
a careful annotator's is near diagonal, one answering at random has flat rows and so barely moves the
posterior. An annotator's skill estimate is the expected share of their votes that match the true class
(sum over classes of prior x the diagonal of their matrix). The fit needs every vote of the project at once
(one pass over the consensus scan, held as three small columns), then the export streams as before.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from annotation.data.consensus import FIRST, SECOND, TIE, ComparisonRecord, consensus_of

Outcomes = dict[tuple[int, int], str | None]
CLASSES = (FIRST, SECOND, TIE)
N_ITER = 100


@dataclass(frozen=True)
class SkillFit:
    outcomes: dict[int, Outcomes] = field(default_factory=dict)  # comparison id -> (first, second) -> class
    skills: dict[int, float] = field(default_factory=dict)  # annotator id -> expected accuracy


def dawid_skene_fit(records: Iterable[ComparisonRecord]) -> SkillFit:
    """Fit Dawid-Skene on every counted vote of `records`; a pair whose posterior has no unique best class
    gets None (no pair, as a plurality tie gives none)."""
    # pandas and crowd-kit load only where the aggregation is asked for
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    tasks: list[tuple[int, int, int]] = []
    workers: list[int] = []
    labels: list[str] = []
    for record in records:
        for pair in consensus_of(record).pair_votes:
            for annotator_id, vote in pair.votes:
                tasks.append((record.id, pair.first_id, pair.second_id))
                workers.append(annotator_id)
                labels.append(vote)
    if not tasks:
        return SkillFit()
    frame = pd.DataFrame({"task": [f"{c}:{a}:{b}" for c, a, b in tasks], "worker": workers, "label": labels})
    model = DawidSkene(n_iter=N_ITER).fit(frame)
    probas = model.probas_
    outcomes: dict[int, Outcomes] = defaultdict(dict)
    for task, row in zip(probas.index, probas.to_numpy(), strict=True):
        comparison, first, second = (int(part) for part in str(task).split(":"))
        best = row.max()
        winners = [label for label, p in zip(probas.columns, row, strict=True) if best - p < 1e-9]
        outcomes[comparison][(first, second)] = str(winners[0]) if len(winners) == 1 else None
    priors = model.priors_
    errors = model.errors_
    skills: dict[int, float] = {}
    for worker in sorted(set(workers)):
        own = errors.loc[worker]
        skills[int(worker)] = round(
            float(sum(priors.get(k, 0.0) * own.at[k, k] for k in CLASSES if k in own.index and k in own)), 4
        )
    return SkillFit(outcomes=dict(outcomes), skills=skills)
