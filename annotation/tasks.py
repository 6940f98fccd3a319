"""Celery's autodiscovery entry (config/celery.py looks for `annotation.tasks`): each task is declared next
to its domain and imported here so that every worker registers it. Task names stay
`annotation.tasks.<name>` (messages in flight and the beat schedule in config/settings.py use them)."""

from annotation.accounts.tasks import tokens_purge
from annotation.queue.tasks import leases_expire
from annotation.rounds.tasks import (
    artifacts_sweep,
    rounds_reap_stale,
    rounds_schedule,
    training_generate_responses,
    training_round_run,
)

__all__ = [
    "artifacts_sweep",
    "leases_expire",
    "rounds_reap_stale",
    "rounds_schedule",
    "tokens_purge",
    "training_generate_responses",
    "training_round_run",
]
