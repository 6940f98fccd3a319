"""A real Celery worker process for tests about Celery: it consumes from a Redis database of its own and
talks to the test database, so tests that use it must commit (django_db(transaction=True))."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psutil
import redis
from django.conf import settings
from django.db import connection

from config.celery import app

ROOT = Path(__file__).resolve().parent.parent


def test_broker_url() -> str:
    """The configured Redis with database 15 (PREFER_TEST_BROKER_DB), so test messages never mix with a
    developer's queues, nor with another test run's (give concurrent runs their own database)."""
    base = settings.REDIS_URL.rsplit("/", 1)[0] if settings.REDIS_URL.count("/") > 2 else settings.REDIS_URL
    return f"{base}/{os.environ.get('PREFER_TEST_BROKER_DB', '15')}"


def use_test_broker() -> None:
    url = test_broker_url()
    app.conf.broker_url = url
    app.conf.result_backend = url
    redis.Redis.from_url(url).flushdb()


def _database_url() -> str:
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    host = quote(host, safe="") if host.startswith("/") else host
    auth = quote(db["USER"] or "postgres", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process = process
        self.log = log

    def children(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def kill_child(self) -> int:
        """SIGKILL the pool process running the task (the parent then sees a lost worker)."""
        child = self.children()[0]
        os.kill(child.pid, signal.SIGKILL)
        return child.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


@contextmanager
def celery_worker(
    data_dir: Path, *, concurrency: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[Worker]:
    use_test_broker()
    log = data_dir / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": test_broker_url(),
        "CELERY_BROKER_URL": test_broker_url(),
        "CELERY_RESULT_BACKEND": test_broker_url(),
        "PREFER_DATA_DIR": str(data_dir),
        "PREFER_ROUND_HEARTBEAT_SECONDS": "1",
        "PREFER_ROUND_STALE_SECONDS": "4",
        "HF_HUB_OFFLINE": "1",
        "DJANGO_DEBUG": "0",
        **(extra_env or {}),
    }
    with log.open("w") as handle:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "gpu,default",
                "--pool", "prefork", "--concurrency", str(concurrency), "--prefetch-multiplier", "1",
                "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
            ],
            cwd=ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    worker = Worker(process, log)
    try:
        deadline = time.time() + 60
        while "ready." not in log.read_text(errors="replace"):
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"celery worker did not start:\n{worker.output()}")
            time.sleep(0.3)
        yield worker
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                for child in worker.children():
                    child.kill()
                process.kill()
                process.wait()
