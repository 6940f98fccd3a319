"""Locust users that work the annotator loop as the annotate page does: POST tasks/next, then for each task an
occasional heartbeat and POST annotations/?next=1 (the next task comes back with the answer); now and then a
submission is sent twice with the same client_token (a retry after a lost reply), which must answer 200 with
the first id, never a second annotation.

Driven by benchmarks/load.py (and tests/test_load.py), which hand it, in the environment:
- PREFER_LOAD_TOKENS: a JSON file holding one API token per user;
- PREFER_LOAD_ACKS: a file to append one JSON line per acknowledged submission, for the count afterwards.
"""

import itertools
import json
import os
import random
import uuid
from pathlib import Path

from locust import HttpUser, between, task

TOKENS: list[str] = json.loads(Path(os.environ["PREFER_LOAD_TOKENS"]).read_text())
_next_token = itertools.cycle(TOKENS)
ACKS = Path(os.environ["PREFER_LOAD_ACKS"])


def acknowledged(client_token: str, annotation_id: int, task_id: int) -> None:
    with ACKS.open("a") as acks:  # one short line a write: whole lines even with users interleaving
        acks.write(json.dumps({"token": client_token, "id": annotation_id, "task": task_id}) + "\n")


class Annotator(HttpUser):
    wait_time = between(0.0, 0.05)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Token {next(_next_token)}"
        self.slug = os.environ.get("PREFER_LOAD_PROJECT", "load")
        self.task_body: dict | None = None
        self.fetch()

    def fetch(self) -> None:
        with self.client.post(
            f"/api/v1/projects/{self.slug}/tasks/next/", name="tasks/next", catch_response=True
        ) as reply:
            if reply.status_code == 200:
                self.task_body = reply.json()
            elif reply.status_code == 204:
                self.task_body = None
                reply.success()
            else:
                reply.failure(f"{reply.status_code}: {reply.text[:200]}")

    @task
    def work(self) -> None:
        if self.task_body is None:
            self.fetch()
            return
        current = self.task_body
        if random.random() < 0.2:
            self.client.post(f"/api/v1/tasks/{current['id']}/heartbeat/", name="tasks/heartbeat")
        ids = [r["id"] for r in current["responses"]]
        random.shuffle(ids)
        body = {"ranking": [[i] for i in ids], "strength": "clear", "client_token": uuid.uuid4().hex}
        url = f"/api/v1/tasks/{current['id']}/annotations/?next=1"
        with self.client.post(url, json=body, name="annotations?next=1", catch_response=True) as reply:
            if reply.status_code not in (200, 201):
                reply.failure(f"{reply.status_code}: {reply.text[:200]}")
                self.task_body = None
                return
            result = reply.json()
            acknowledged(body["client_token"], result["id"], current["id"])
            self.task_body = result.get("next")
        if random.random() < 0.1:  # the reply was "lost": the same answer again
            with self.client.post(url, json=body, name="annotations (retry)", catch_response=True) as again:
                if again.status_code != 200 or again.json()["id"] != result["id"]:
                    again.failure(f"a retry answered {again.status_code}: {again.text[:200]}")
