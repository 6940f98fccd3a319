"""The queue's periodic Celery task (a thin door over leasing)."""

from celery import shared_task

from annotation.queue.leasing import leases_expire as expire

# Bookkeeping finishes in seconds; a hung one must not hold a worker slot for the training limit.
SHORT = {"time_limit": 300, "soft_time_limit": 240}


@shared_task(name="annotation.tasks.leases_expire", ignore_result=True, **SHORT)
def leases_expire() -> int:
    return expire()
