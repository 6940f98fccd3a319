"""The accounts' periodic Celery task (a thin door over the token service)."""

from celery import shared_task

from annotation.accounts.tokens import tokens_purge as purge
from annotation.queue.tasks import SHORT


@shared_task(name="annotation.tasks.tokens_purge", ignore_result=True, **SHORT)
def tokens_purge() -> int:
    return purge()
