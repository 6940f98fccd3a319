"""Label Studio as the peer of the annotate-loop benchmark (DESIGN.md section 9).

Label Studio lives in its own virtualenv (var/peers/label-studio, created on first use with
`pip install label-studio==1.23.2 gunicorn`); nothing of it is committed or imported here: this module
only talks to it over HTTP, except for one setup script it runs with Label Studio's own python (migrations,
annotator accounts and their API tokens, which its community API has no call for).

It is served the way our app is in the benchmark: gunicorn gthread with the same workers/threads on a free
loopback port, Label Studio's own production settings module (DEBUG off), on the same Postgres server in
its own database (<bench database>_ls) or, with database="sqlite", its default SQLite file under
var/peers/label-studio-data. Tasks are imported through its import API (POST /api/projects/{id}/import) in
chunks, timed. The loop is its labeling stream: GET /api/projects/{id}/next/ then
POST /api/tasks/{id}/annotations/, each annotator a distinct user with its own token (next is per user).
"""

import http.client
import json
import os
import subprocess
import time
import venv
from pathlib import Path
from typing import IO

from benchmarks.serving import ROOT, Annotator, closed_loop, ensure_database, free_port

LS_VERSION = "1.23.2"
VENV_DIR = ROOT / "var" / "peers" / "label-studio"
DATA_DIR = ROOT / "var" / "peers" / "label-studio-data"
ADMIN_EMAIL = "bench-admin@prefer.local"
LOG = DATA_DIR / "server.log"
CHUNK = 5000

LABEL_CONFIG = """<View>
  <Header value="$prompt"/>
  <Pairwise name="preference" toName="response_a,response_b"/>
  <Text name="response_a" value="$response_a"/>
  <Text name="response_b" value="$response_b"/>
</View>"""

RESULT = [
    {"from_name": "preference", "to_name": "preference", "type": "pairwise", "value": {"selected": "left"}}
]

# Run by Label Studio's python, in its package directory: migrate, then one admin and K annotators in one
# organization with legacy API tokens enabled ("Authorization: Token ..."), printed as JSON.
SETUP_SCRIPT = """
import json, os, sys, uuid
sys.path.insert(0, os.path.dirname(__import__("label_studio").__file__))
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from organizations.models import Organization
from rest_framework.authtoken.models import Token
from users.models import User

def account(email, admin=False):
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=uuid.uuid4().hex, is_staff=admin, is_superuser=admin
        )
    return user

admin = account(sys.argv[1], admin=True)
org = Organization.objects.first() or Organization.create_organization(created_by=admin, title="Prefer bench")
org.jwt.legacy_api_tokens_enabled = True
org.jwt.save()
users = [admin] + [account(f"bench-annotator-{i}@prefer.local") for i in range(int(sys.argv[2]))]
for user in users:
    org.add_user(user)
    user.active_organization = org
    user.save(update_fields=["active_organization"])
print(json.dumps([Token.objects.get_or_create(user=user)[0].key for user in users]))
"""


def _python() -> Path:
    return VENV_DIR / "bin" / "python"


def ensure_installed() -> None:
    """var/peers/label-studio with label-studio==LS_VERSION and our gunicorn version, unless already there."""
    from importlib.metadata import version

    gunicorn = version("gunicorn")
    check = "import importlib.metadata as m; print(m.version('label-studio'), m.version('gunicorn'))"
    if _python().exists():
        found = subprocess.run([str(_python()), "-c", check], capture_output=True, text=True).stdout.split()
        if found == [LS_VERSION, gunicorn]:
            return
    else:
        venv.EnvBuilder(with_pip=True).create(VENV_DIR)
    print(f"# installing label-studio=={LS_VERSION} into {VENV_DIR.relative_to(ROOT)} (once)", flush=True)
    started = time.perf_counter()
    packages = [f"label-studio=={LS_VERSION}", f"gunicorn=={gunicorn}"]
    subprocess.run([str(_python()), "-m", "pip", "install", "-qq", *packages], check=True)
    print(f"# installed in {time.perf_counter() - started:.0f} s", flush=True)


class LabelStudioPeer:
    """One Label Studio server for the whole run; `prepare(n)` gives a project of n open tasks."""

    def __init__(self, *, database_url: str, database: str, workers: int, threads: int) -> None:
        self.database_url = database_url
        self.database = database
        self.workers = workers
        self.threads = threads
        self.port = 0
        self.server: subprocess.Popen | None = None
        self.admin_token = ""
        self.tokens: list[str] = []
        self.log_seen = 0

    def describe(self) -> str:
        if self.database == "sqlite":
            where = f"SQLite {(DATA_DIR / 'label_studio.sqlite3').relative_to(ROOT)}"
        else:
            where = f"Postgres database {self._env()['POSTGRE_NAME']}"
        return (
            f"# peer: label-studio {LS_VERSION}, gunicorn gthread workers={self.workers} "
            f"threads={self.threads}, {where}"
        )

    def _env(self) -> dict[str, str]:
        """A clean environment: Label Studio also reads bare names (HOST, PORT, DEBUG...), so only ours."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", str(ROOT)),
            "DJANGO_SETTINGS_MODULE": "core.settings.label_studio",
            "LABEL_STUDIO_BASE_DATA_DIR": str(DATA_DIR),
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "PYTHONWARNINGS": "ignore",
            "LATEST_VERSION_CHECK": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "DJANGO_DB": "sqlite" if self.database == "sqlite" else "postgresql",
        }
        if self.database != "sqlite":
            import dj_database_url

            parsed = dj_database_url.parse(self.database_url)
            env.update(
                POSTGRE_NAME=parsed["NAME"],
                POSTGRE_USER=parsed["USER"] or "postgres",
                POSTGRE_PASSWORD=parsed["PASSWORD"] or "",
                POSTGRE_HOST=parsed["HOST"] or "127.0.0.1",
                POSTGRE_PORT=str(parsed["PORT"] or 5432),
            )
        return env

    def start(self, annotators: int) -> None:
        ensure_installed()
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        if self.database != "sqlite":
            ensure_database(self.database_url)
        started = time.perf_counter()
        setup = subprocess.run(
            [str(_python()), "-c", SETUP_SCRIPT, ADMIN_EMAIL, str(annotators)],
            env=self._env(),
            capture_output=True,
            text=True,
        )
        if setup.returncode != 0:
            raise RuntimeError(f"label-studio setup failed:\n{setup.stderr[-3000:]}")
        self.admin_token, *self.tokens = json.loads(setup.stdout.strip().splitlines()[-1])
        print(f"# peer setup (migrate, {annotators} annotators) in {time.perf_counter() - started:.1f} s")
        package = subprocess.run(
            [str(_python()), "-c", "import label_studio, os; print(os.path.dirname(label_studio.__file__))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        self.port = free_port()
        self.log_seen = 0
        with LOG.open("w") as log:
            self.server = self._serve(package, log)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if self._request("GET", "/health/")[0] == 200:
                    return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"label-studio did not start; see {LOG}")

    def _serve(self, package: str, log: IO[str]) -> subprocess.Popen:
        """Gunicorn run as ours is; its startup banner dropped, its log (stderr) to LOG."""
        return subprocess.Popen(
            [
                str(_python()), "-m", "gunicorn", "core.wsgi:application", "--chdir", package,
                "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
                "--threads", str(self.threads), "--worker-class", "gthread",
                "--timeout", "600", "--keep-alive", "30", "--log-level", "warning",
            ],
            env=self._env(),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )  # fmt: skip

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=30)
            self.server = None

    def _request(
        self, method: str, path: str, body: object = None, token: str | None = None, timeout: float = 600
    ) -> tuple[int, object]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(data) if data else None
        except ValueError:
            return response.status, data[:300]

    def _api(self, method: str, path: str, body: object = None, expect: tuple[int, ...] = (200, 201)) -> dict:
        status, payload = self._request(method, path, body, token=self.admin_token)
        if status not in expect:
            raise RuntimeError(f"label-studio {method} {path}: {status} {str(payload)[:500]}")
        return payload if isinstance(payload, dict) else {"results": payload}

    def prepare(self, n: int) -> int:
        """The id of a project `bench-<n>` holding n tasks and no annotations, imported if needed."""
        title = f"bench-{n}"
        listing = self._api("GET", "/api/projects/?page_size=1000")
        for project in listing.get("results") or []:
            if project["title"] != title:
                continue
            detail = self._api("GET", f"/api/projects/{project['id']}/")
            if detail["task_number"] == n and detail["total_annotations_number"] == 0:
                print(f"system=label-studio project {title}: {n} open tasks (reused)", flush=True)
                return project["id"]
            # An earlier run used part of the queue: start again from n fresh tasks.
            self._api("DELETE", f"/api/projects/{project['id']}/", expect=(204,))
        project = self._api(
            "POST",
            "/api/projects/",
            {"title": title, "label_config": LABEL_CONFIG, "maximum_annotations": 1},
        )
        started = time.perf_counter()
        for first in range(1, n + 1, CHUNK):
            tasks = [
                {
                    "prompt": f"Question number {g}: explain something useful in two short paragraphs.",
                    "response_a": "Response 1 with **markdown** and a list:\n\n- one\n- two",
                    "response_b": "Response 2 with **markdown** and a list:\n\n- one\n- two",
                }
                for g in range(first, min(n, first + CHUNK - 1) + 1)
            ]
            self._api("POST", f"/api/projects/{project['id']}/import", tasks)
        elapsed = time.perf_counter() - started
        count = self._api("GET", f"/api/projects/{project['id']}/")["task_number"]
        print(
            f"system=label-studio imported {count} tasks through POST /api/projects/{{id}}/import "
            f"in chunks of {CHUNK}: {elapsed:.1f} s ({count / elapsed:.0f} tasks/s)",
            flush=True,
        )
        return project["id"]

    def run_level(self, project_id: int, annotators: int, seconds: float) -> dict:
        """Raw figures of `annotators` threads looping next -> annotate for `seconds`."""

        def step(annotator: Annotator) -> bool:
            status, task = annotator.call("GET", f"/api/projects/{project_id}/next/", None, "next")
            if status == 404:  # nothing left for this user
                return False
            if status != 200 or task is None:
                annotator.errors.append(f"next {status}: {str(task)[:200]}")
                return False
            status, payload = annotator.call(
                "POST", f"/api/tasks/{task['id']}/annotations/", {"result": RESULT}, "submit"
            )
            if status != 201:
                annotator.errors.append(f"annotate {status}: {str(payload)[:200]}")
                return False
            annotator.loops += 1
            return True

        return closed_loop(self.port, self.tokens[:annotators], seconds, step)

    def duplicates(self, project_id: int) -> int:
        """Annotations beyond one per task (overlap is 1, so this must be 0)."""
        detail = self._api("GET", f"/api/projects/{project_id}/")
        return detail["total_annotations_number"] - detail["num_tasks_with_annotations"]

    def logged_lock_races(self) -> int:
        """Lines Label Studio logged since the last call saying a task was handed to more users than its
        overlap ("Num takes=2 > overlap=1 ... it's a bug"): races it caught in its own next-task locks."""
        with LOG.open() as log:
            log.seek(self.log_seen)
            text = log.read()
            self.log_seen = log.tell()
        return text.count("Num takes=")
