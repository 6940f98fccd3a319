"""What the benchmarks share: their own database next to the dev one, gunicorn on a free loopback port, and
the closed-loop annotator driver of the annotate-loop benchmark (ours and the peer's)."""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench_database_url() -> str:
    """DATABASE_URL with the database name suffixed `_bench`: benchmarks never touch the dev data."""
    import dj_database_url

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/prefer")
    parsed = dj_database_url.parse(url)
    name = parsed["NAME"] + "_bench"
    base, _, query = url.partition("?")
    base = base.rsplit("/", 1)[0] + "/" + name
    return base + ("?" + query if query else "")


def ensure_database(url: str) -> None:
    import dj_database_url
    import psycopg

    parsed = dj_database_url.parse(url)
    conninfo = {
        "dbname": "postgres",
        "user": parsed["USER"] or None,
        "host": parsed["HOST"] or None,
        "port": parsed["PORT"] or None,
        "password": parsed["PASSWORD"] or None,
    }
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v}, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [parsed["NAME"]]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{parsed["NAME"]}"')


def bench_django(*, fast_passwords: bool = False) -> None:
    """Point Django at the `_bench` database (created if missing), set it up and migrate it. With
    `fast_passwords`, users are hashed with MD5 (benchmarks create thousands; never in the product)."""
    url = bench_database_url()
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    if fast_passwords:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(*, workers: int, threads: int, timeout: int = 120) -> tuple[subprocess.Popen, int]:
    """gunicorn (gthread) serving config.wsgi on loopback as in production (DEBUG off), once it answers."""
    port = free_port()
    # No per-user submit limit: the benchmarks drive each user at a script's pace on purpose.
    env = {**os.environ, "DJANGO_DEBUG": "0", "DB_CONN_MAX_AGE": "600", "PREFER_SUBMIT_RATE": ""}
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
            "--timeout", str(timeout), "--keep-alive", "30", "--log-level", "warning",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/login/")
            if conn.getresponse().status == 200:
                return server, port
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise RuntimeError("gunicorn did not start")


class Annotator:
    """One simulated annotator: a keep-alive connection with its token, timing every call it makes."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.timings: dict[str, list[float]] = {"next": [], "submit": []}
        self.errors: list[str] = []
        self.loops = 0
        self.task: dict | None = None  # the task a combined submit-and-next call handed over

    def call(self, method: str, path: str, body: dict | None, timing: str) -> tuple[int, dict | None]:
        """One request; its latency in ms goes to `timings[timing]`. Returns the status and JSON body."""
        started = time.perf_counter()
        self.conn.request(method, path, body=None if body is None else json.dumps(body), headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        self.timings[timing].append((time.perf_counter() - started) * 1000)
        return response.status, (json.loads(data) if data else None)


def closed_loop(
    port: int, tokens: list[str], seconds: float, step: Callable[[Annotator], bool]
) -> dict[str, object]:
    """Each token's annotator thread runs `step` (one next + submit loop; False ends that thread early) back
    to back for `seconds`, all released together. Returns loops, elapsed, next_ms, submit_ms and errors."""
    annotators = [Annotator(port, token) for token in tokens]
    barrier = threading.Barrier(len(annotators) + 1)
    stop_at = [0.0]

    def run(annotator: Annotator) -> None:
        barrier.wait()
        while time.perf_counter() < stop_at[0] and step(annotator):
            pass
        annotator.conn.close()

    threads = [threading.Thread(target=run, args=(annotator,)) for annotator in annotators]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    return {
        "loops": sum(a.loops for a in annotators),
        "elapsed": time.perf_counter() - started,
        "next_ms": [ms for a in annotators for ms in a.timings["next"]],
        "submit_ms": [ms for a in annotators for ms in a.timings["submit"]],
        "errors": [error for a in annotators for error in a.errors],
    }
