"""Prefer's nouns (DESIGN section 4), one module per group. Fields, constraints and trivial properties only:
writes live in the services, reads in the selectors of each domain package. Everything is re-exported here,
so `annotation.models.Project` keeps working (app label `annotation`, tables unchanged)."""

from annotation.models.accounts import ApiToken
from annotation.models.projects import Membership, Project, Role, default_rating_axes
from annotation.models.prompts import Prompt, Response, Split
from annotation.models.queue import (
    Annotation,
    Assignment,
    AssignmentState,
    Comparison,
    ComparisonItem,
    ComparisonStatus,
    Strength,
)
from annotation.models.review import GoldFlagClearance, Review, ReviewFlag, ReviewLease, ReviewReason, Verdict
from annotation.models.rounds import (
    ACTIVE_ROUND_STATUSES,
    DatasetSnapshot,
    GenerationJob,
    PolicyVersion,
    ResponseScore,
    RewardModelVersion,
    RoundKind,
    RoundStage,
    RoundStatus,
    TrainingRound,
)

__all__ = [
    "ACTIVE_ROUND_STATUSES",
    "Annotation",
    "ApiToken",
    "Assignment",
    "AssignmentState",
    "Comparison",
    "ComparisonItem",
    "ComparisonStatus",
    "DatasetSnapshot",
    "GenerationJob",
    "GoldFlagClearance",
    "Membership",
    "PolicyVersion",
    "Project",
    "Prompt",
    "Response",
    "ResponseScore",
    "Review",
    "ReviewFlag",
    "ReviewLease",
    "ReviewReason",
    "RewardModelVersion",
    "Role",
    "RoundKind",
    "RoundStage",
    "RoundStatus",
    "Split",
    "Strength",
    "TrainingRound",
    "Verdict",
    "default_rating_axes",
]
