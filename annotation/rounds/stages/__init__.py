"""The four stages of a training round, one module each, each a call into the Django-free `training`
library plus the records it produces. torch is imported only inside the stage functions, so the web
process never loads it.

Every stage first checks whether its product already exists on the round (a re-delivered or resumed task)
and returns early; artifacts go to a directory unique to the attempt and are registered only after the
library has renamed them into place, so a crash never registers a half-written model."""

from collections.abc import Callable

from annotation.models import RoundStage
from annotation.rounds.stages.context import StageContext, StageError
from annotation.rounds.stages.generate import stage_generate
from annotation.rounds.stages.policy import stage_policy
from annotation.rounds.stages.reward_model import stage_reward_model
from annotation.rounds.stages.snapshot import stage_snapshot

STAGES: list[tuple[str, Callable[[StageContext], None]]] = [
    (RoundStage.SNAPSHOT, stage_snapshot),
    (RoundStage.REWARD_MODEL, stage_reward_model),
    (RoundStage.POLICY, stage_policy),
    (RoundStage.GENERATE, stage_generate),
]

__all__ = ["STAGES", "StageContext", "StageError"]
