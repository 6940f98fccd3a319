"""`python -m config.devservices`: embedded Postgres and Redis outlive the command, are reused, then stop."""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dj_database_url
import psycopg
import pytest
import redis

REPO_ROOT = Path(__file__).resolve().parent.parent


def devservices(command: str, var_dir: Path, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFER_EMBEDDED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "config.devservices", command, "--var-dir", str(var_dir)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def parse_exports(stdout: str) -> dict[str, str]:
    exports = {}
    for line in stdout.splitlines():
        keyword, assignment = shlex.split(line)
        assert keyword == "export"
        name, value = assignment.split("=", 1)
        exports[name] = value
    return exports


@pytest.fixture
def var_dir() -> Iterator[Path]:
    # Not tmp_path: another pytest session on the machine may prune old pytest-of-<user> folders, and
    # Postgres dies when its data folder goes away under it. A short path also keeps the socket path short.
    folder = Path(tempfile.mkdtemp(prefix="prefer-devservices-"))
    yield folder / "var"
    devservices("stop", folder / "var", check=False)  # no-op when the test stopped them itself
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_embedded_services_answer_outlive_the_command_and_are_reused(var_dir: Path) -> None:
    try:
        first = parse_exports(devservices("env", var_dir).stdout)
        assert set(first) == {"DATABASE_URL", "REDIS_URL"}
        database_url, redis_url = first["DATABASE_URL"], first["REDIS_URL"]
        # Embedded, not the machine's own servers: a unix socket under var/pg, and not Redis's usual port.
        assert "127.0.0.1:5432" not in database_url
        assert not redis_url.endswith(":6379/0")

        # The command has exited; both servers still answer.
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            assert conn.execute("SELECT current_database(), 1 + 1").fetchone() == ("prefer", 2)
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=5)
        assert client.ping() is True
        client.set("devservices-probe", "kept")

        # Django reads the URL through dj-database-url: the socket folder must land in HOST.
        django_db = dj_database_url.parse(database_url)
        assert Path(django_db["HOST"]).is_dir()
        admin_params = {"host": django_db["HOST"], "port": django_db["PORT"], "user": django_db["USER"]}
        # Django's test runner creates and drops test_<name> through the maintenance database.
        with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **admin_params) as conn:
            conn.execute("DROP DATABASE IF EXISTS test_devservices_probe")
            conn.execute("CREATE DATABASE test_devservices_probe")
            conn.execute("DROP DATABASE test_devservices_probe")

        second = parse_exports(devservices("env", var_dir).stdout)
        assert second == first
        assert client.get("devservices-probe") == b"kept"  # the same Redis, not a fresh one on the same port

        status = devservices("status", var_dir).stdout
        assert f"running at {database_url}" in status
        assert f"running at {redis_url}" in status
        client.close()
    finally:
        stopped = devservices("stop", var_dir, check=False)
    assert stopped.returncode == 0, stopped.stderr

    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(database_url, connect_timeout=2).close()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    assert "not running" in devservices("status", var_dir).stdout
