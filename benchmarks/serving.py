"""What the benchmarks share: their own database next to the dev one, and gunicorn on a free loopback port."""

import http.client
import os
import socket
import subprocess
import sys
import time
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(*, workers: int, threads: int, timeout: int = 120) -> tuple[subprocess.Popen, int]:
    """gunicorn (gthread) serving config.wsgi on loopback as in production (DEBUG off), once it answers."""
    port = free_port()
    env = {**os.environ, "DJANGO_DEBUG": "0", "DB_CONN_MAX_AGE": "600"}
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
