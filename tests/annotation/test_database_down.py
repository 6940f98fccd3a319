"""Postgres unreachable (issue 14, faults): a clear 503 with Retry-After, JSON for the API, a self-reloading
page for people; other errors stay 500s; and the next request after the database is back works."""

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client

from annotation.accounts.tokens import token_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def outage():
    """`outage()` points the connection at a port where nothing listens (connection refused, as during a
    restart); the function it returns brings the database back."""
    real = connection.settings_dict["PORT"]

    def back() -> None:
        connection.close()
        connection.settings_dict["PORT"] = real

    def down() -> Callable[[], None]:
        connection.close()
        connection.settings_dict["PORT"] = "9"
        return back

    yield down
    back()


def test_api_clients_get_a_503_to_retry_and_then_work_again(annotator, outage):
    key = token_create(user=annotator).key
    client = Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {key}")
    back = outage()
    response = client.get("/api/v1/projects/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["code"] == "unavailable" and "retry" in response.json()["detail"]
    back()
    assert client.get("/api/v1/projects/").status_code == 200


def test_people_get_a_page_that_retries_by_itself(annotator, outage):
    client = Client(raise_request_exception=False)
    client.force_login(annotator)
    outage()
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    html = response.content.decode()
    assert '<meta http-equiv="refresh" content="5">' in html and 'lang="zh-hans"' in html


def test_a_bug_is_still_a_500(annotator, monkeypatch):
    from annotation.projects import api

    def broken(**_kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(api, "projects_for_user", broken)
    client = Client(raise_request_exception=False)
    client.force_login(annotator)
    response = client.get("/api/v1/projects/")
    assert response.status_code == 500 and response.json()["code"] == "server_error"
