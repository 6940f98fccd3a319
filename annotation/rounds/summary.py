"""The typed face of a round's `metrics` JSON: what each stage recorded (`summary`), the step curves
(`series`), the event log (`events`) and the re-send bookkeeping (`dispatch`).

That JSON is the record of every existing round, the API's `metrics` field and what the dashboard shows, so
its key names do not change: each dataclass field below IS its JSON key. Code reads and writes the JSON only
through this module, so the check a stage makes before it resumes and the record it checks are the same
attribute (mypy sees a rename; a renamed field is also a renamed key, so it needs a data migration).

Pure Python: no Django, no torch."""

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SUMMARY = "summary"
SERIES = "series"
EVENTS = "events"
DISPATCH = "dispatch"
SECONDS_PREFIX = "seconds_"
RESUME = "resume"
# Step points kept per stage: when over, every other point is dropped (bounded size, whole curve shape).
MAX_SERIES_POINTS = 400

Metrics = dict[str, Any]


# --- what the stages record, one dataclass a stage (written with `summary_update`) -----------------------


@dataclass(frozen=True)
class SnapshotRecord:
    """The snapshot stage froze the train split (the round's data) and the eval split."""

    snapshot_sha256: str
    train_pairs: int
    eval_snapshot_id: int
    eval_pairs_split: int
    # Issue 11: edit texts (SFT rows for PPO-ptx) and the harmless verdicts (the cost model's pairs).
    sft_snapshot_id: int | None = None
    sft_rows: int | None = None
    harmless_snapshot_id: int | None = None
    harmless_pairs: int | None = None
    harmless_eval_snapshot_id: int | None = None
    harmless_eval_pairs: int | None = None


@dataclass(frozen=True)
class CostModelRecord:
    """The policy stage trained a cost model on the harmless pairs (helpful-and-harmless rounds)."""

    cost_model_artifact: str
    cost_pairs: int
    cost_eval_accuracy: float | None = None
    cost_eval_pairs: int | None = None
    cost_eval_is_train: bool | None = None


@dataclass(frozen=True)
class RewardModelRecord:
    """The reward-model stage trained version `rm_version` and accepted it or not."""

    rm_version: int
    rm_accepted: bool
    rm_eval_accuracy: float
    rm_previous_eval_accuracy: float | None
    rm_eval_is_train: bool
    rm_rejected_because: str = ""  # left out of the JSON when empty
    rm_eval_pairs: int | None = None  # the pairs the verdict counts: held-out, plus any judged out of fold
    rm_out_of_fold_pairs: int = 0  # train pairs judged by cross-validation (a held-out slice too small)
    rm_eval_ci_low: float | None = None
    rm_eval_ci_high: float | None = None
    rm_better_than_chance: bool | None = None  # a one-sided test at 5% on the held-out pairs
    rm_worse_p_value: float | None = None  # new vs previous accepted, paired on the same pairs
    rm_judge_version: int | None = None  # the reward model the rest of the round uses (None: none can judge)


@dataclass(frozen=True)
class PolicyVerdict:
    """The policy stage's acceptance checks; `policy_version` is set once an accepted policy is registered."""

    policy_accepted: bool
    policy_kl_to_previous: float
    policy_win_rate: float | None  # None when no reward model could judge (a DPO round without one)
    policy_reward_new: float | None
    policy_reward_previous: float | None
    policy_artifact: str
    policy_rejected_because: str = ""  # left out of the JSON when empty
    policy_version: int | None = None  # left out of the JSON when None
    # The round fell back to the policy saved at this step (DPO step, PPO update): the final one was
    # past the KL budget.
    policy_earlier_step: int | None = None
    # PPO stopped at this step, whose rollout passed the KL budget; the policy kept `policy_updates`
    # updates (the state the rollout before it measured).
    policy_stopped_at_step: int | None = None
    policy_updates: int | None = None
    policy_kl_per_token: float | None = None
    policy_kl_budget: float | None = None
    policy_min_win_rate: float | None = None
    policy_win_ci_low: float | None = None
    policy_win_ci_high: float | None = None
    policy_win_p_value: float | None = None
    policy_win_prompts: int | None = None
    policy_win_comparisons: int | None = None
    policy_judge: str | None = None  # "reward_model", or "none" when no reward model can judge
    dpo_eval_accuracy: float | None = None  # DPO's implicit-reward accuracy on the held-out pairs
    dpo_eval_p_value: float | None = None
    dpo_eval_pairs: int | None = None
    # With a cost model: how often the new policy's response is the less harmful one (cost-model-judged),
    # checked not to be significantly below even; the cost weight PPO used.
    policy_harmless_win_rate: float | None = None
    policy_harmless_ci_low: float | None = None
    policy_harmless_ci_high: float | None = None
    policy_cost_new: float | None = None
    policy_cost_previous: float | None = None
    policy_cost_weight: float | None = None


@dataclass(frozen=True)
class GenerateRecord:
    """The generate stage put this many new comparisons in the queue."""

    generated_comparisons: int


@dataclass(frozen=True)
class StageSeconds:
    """Wall-clock seconds a stage took (key `seconds_<stage>`)."""

    stage: str
    seconds: float


StageRecord = (
    SnapshotRecord | CostModelRecord | RewardModelRecord | PolicyVerdict | GenerateRecord | StageSeconds
)
_LEFT_OUT_WHEN_EMPTY = {"rm_rejected_because", "policy_rejected_because"} | {
    f.name
    for record in (SnapshotRecord, CostModelRecord, RewardModelRecord, PolicyVerdict)
    for f in dataclasses.fields(record)
    if f.default is None
}


def record_json(record: StageRecord) -> dict[str, Any]:
    """The JSON keys and values a stage record adds to the summary."""
    if isinstance(record, StageSeconds):
        return {f"{SECONDS_PREFIX}{record.stage}": record.seconds}
    values = dataclasses.asdict(record)
    return {k: v for k, v in values.items() if not (k in _LEFT_OUT_WHEN_EMPTY and v in ("", None))}


def summary_update(metrics: Metrics, record: StageRecord) -> None:
    """Add a stage's record to the round's summary (in place)."""
    metrics.setdefault(SUMMARY, {}).update(record_json(record))


# --- the summary read back ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundSummary:
    """metrics["summary"] as recorded so far: None where no stage has recorded a value (yet)."""

    snapshot_sha256: str | None = None
    train_pairs: int | None = None
    eval_snapshot_id: int | None = None
    eval_pairs_split: int | None = None
    rm_version: int | None = None
    rm_accepted: bool | None = None
    rm_eval_accuracy: float | None = None
    rm_previous_eval_accuracy: float | None = None
    rm_eval_is_train: bool | None = None
    rm_rejected_because: str | None = None
    rm_eval_pairs: int | None = None  # the pairs the verdict counts: held-out, plus any judged out of fold
    rm_out_of_fold_pairs: int = 0  # train pairs judged by cross-validation (a held-out slice too small)
    rm_eval_ci_low: float | None = None
    rm_eval_ci_high: float | None = None
    rm_better_than_chance: bool | None = None
    rm_worse_p_value: float | None = None
    rm_judge_version: int | None = None
    policy_accepted: bool | None = None
    policy_kl_to_previous: float | None = None
    policy_win_rate: float | None = None
    policy_reward_new: float | None = None
    policy_reward_previous: float | None = None
    policy_artifact: str | None = None
    policy_rejected_because: str | None = None
    policy_version: int | None = None
    policy_earlier_step: int | None = None
    policy_stopped_at_step: int | None = None
    policy_updates: int | None = None
    policy_kl_per_token: float | None = None
    policy_kl_budget: float | None = None
    policy_min_win_rate: float | None = None
    policy_win_ci_low: float | None = None
    policy_win_ci_high: float | None = None
    policy_win_p_value: float | None = None
    policy_win_prompts: int | None = None
    policy_win_comparisons: int | None = None
    policy_judge: str | None = None
    dpo_eval_accuracy: float | None = None
    dpo_eval_p_value: float | None = None
    dpo_eval_pairs: int | None = None
    generated_comparisons: int | None = None
    sft_snapshot_id: int | None = None
    sft_rows: int | None = None
    harmless_snapshot_id: int | None = None
    harmless_pairs: int | None = None
    harmless_eval_snapshot_id: int | None = None
    harmless_eval_pairs: int | None = None
    cost_model_artifact: str | None = None
    cost_pairs: int | None = None
    cost_eval_accuracy: float | None = None
    cost_eval_pairs: int | None = None
    cost_eval_is_train: bool | None = None
    policy_harmless_win_rate: float | None = None
    policy_harmless_ci_low: float | None = None
    policy_harmless_ci_high: float | None = None
    policy_cost_new: float | None = None
    policy_cost_previous: float | None = None
    policy_cost_weight: float | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # stage -> wall-clock seconds

    @property
    def policy_decided(self) -> bool:
        """The policy stage recorded its verdict (accepted or not): a resumed round does not train again."""
        return self.policy_accepted is not None


_SUMMARY_FIELDS = {f.name for f in dataclasses.fields(RoundSummary)} - {"seconds"}


def read_summary(metrics: Metrics) -> RoundSummary:
    """The round's summary; keys this version does not know are ignored."""
    raw = metrics.get(SUMMARY) or {}
    seconds = {
        key[len(SECONDS_PREFIX) :]: value
        for key, value in raw.items()
        if key.startswith(SECONDS_PREFIX) and isinstance(value, int | float)
    }
    return RoundSummary(**{k: v for k, v in raw.items() if k in _SUMMARY_FIELDS}, seconds=seconds)


def summary_items(metrics: Metrics) -> list[tuple[str, Any]]:
    """Every recorded key and value, sorted by key (for printing)."""
    return sorted((metrics.get(SUMMARY) or {}).items())


# --- step series -------------------------------------------------------------------------------------------


def series_append(metrics: Metrics, stage: str, points: list[dict[str, Any]]) -> None:
    """Add step points (their numeric values only) to the stage's curve, keeping it bounded."""
    series = metrics.setdefault(SERIES, {}).setdefault(stage, [])
    for point in points:
        numeric = {k: v for k, v in point.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        series.append({"step": len(series), **numeric})
    while len(series) > MAX_SERIES_POINTS:  # keep every other point: bounded size, whole curve shape
        series[:] = series[::2]


def stage_series(metrics: Metrics, stage: str, key: str) -> list[float | None]:
    """One metric of a stage's step curve, a value (or None) per recorded step."""
    return [point.get(key) for point in (metrics.get(SERIES) or {}).get(stage, [])]


# --- events ------------------------------------------------------------------------------------------------


def event_add(metrics: Metrics, *, kind: str, at: datetime, text: str) -> None:
    """Append to the round's event log (in place)."""
    metrics.setdefault(EVENTS, []).append({"at": at.isoformat(), "kind": kind, "event": text})


def resume_count(metrics: Metrics) -> int:
    """How often the round was taken over from a lost worker."""
    return sum(1 for event in metrics.get(EVENTS, []) if event.get("kind") == RESUME)


# --- dispatch (the reaper's re-sends of a queued round's task) ----------------------------------------------


@dataclass(frozen=True)
class Dispatch:
    """How often the round's task was sent again, and when last (None: never re-sent)."""

    requeued: int = 0
    at: datetime | None = None


def read_dispatch(metrics: Metrics) -> Dispatch:
    raw = metrics.get(DISPATCH) or {}
    at = raw.get("at")
    return Dispatch(requeued=int(raw.get("requeued", 0)), at=datetime.fromisoformat(at) if at else None)


def write_dispatch(metrics: Metrics, dispatch: Dispatch) -> None:
    metrics[DISPATCH] = {
        "requeued": dispatch.requeued,
        **({"at": dispatch.at.isoformat()} if dispatch.at else {}),
    }
