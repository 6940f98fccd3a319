"""Nothing an annotator does depends on Redis (DESIGN section 2): with the cache pointed at a dead Redis,
a logged-in annotator's page, the API's lease-and-submit loop and the stats all answer, quickly."""

import socket
import time

from django.test import Client, override_settings

from annotation.models import Annotation
from tests.factories import make_comparisons
from tests.helpers import api_client


def _dead_redis_url() -> str:
    with socket.socket() as sock:  # a port nobody listens on: connections are refused at once
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_an_annotator_works_on_with_redis_down(project, annotator, project_admin, settings):
    make_comparisons(project, 3)
    page = Client()
    page.force_login(annotator)  # a session written while Redis is up
    dead = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _dead_redis_url(),
            "OPTIONS": settings.REDIS_TIMEOUTS,
        }
    }
    with override_settings(CACHES=dead):
        started = time.monotonic()
        assert page.get(f"/p/{project.slug}/annotate/").status_code == 200
        client = api_client(annotator)
        task = client.post(f"/api/v1/projects/{project.slug}/tasks/next/").json()
        body = {"client_token": "redis-down-1", "ranking": [[item["id"]] for item in task["responses"]]}
        response = client.post(f"/api/v1/tasks/{task['id']}/annotations/", body, format="json")
        assert response.status_code == 201, response.json()
        admin = Client()
        admin.force_login(project_admin)
        assert admin.get(f"/p/{project.slug}/").status_code == 200
        stats = api_client(project_admin).get(f"/api/v1/projects/{project.slug}/stats/")
        assert stats.status_code == 200 and stats.json()["annotations"]["live"] == 1
        assert time.monotonic() - started < 30  # refused connections, never a hang
    assert Annotation.objects.count() == 1
