"""Brute-force protection on every login path (issue 14, H2): per-username and per-address limits, proxy
trust set explicitly, and a lockout that does not say whether the user exists."""

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from annotation.accounts.lockout import client_address
from tests.factories import PASSWORD

ADDRESSES = ["127.0.0.1", "10.0.0.1", "10.0.2.1", "10.9.9.9"] + [
    f"10.0.{n}.{m}" for n in (1, 3) for m in range(10)
]


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.PREFER_LOGIN_FAILURES_PER_USERNAME = 3
    settings.PREFER_LOGIN_FAILURES_PER_ADDRESS = 6
    # The token endpoint's own request throttle (30/min an address, in Redis) outlives a test: start afresh.
    throttle = ScopedRateThrottle()
    cache.delete_many([throttle.cache_format % {"scope": "token", "ident": a} for a in ADDRESSES])


def token_attempt(username: str, password: str, address: str = "10.0.0.1", forwarded: str | None = None):
    headers = {"REMOTE_ADDR": address}
    if forwarded:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json", **headers
    )


def test_a_username_locks_after_its_limit_whatever_the_address_and_even_with_the_right_password(annotator):
    for index in range(2):
        bad = token_attempt(annotator.username, "wrong", address=f"10.0.1.{index}")
        assert bad.status_code == 400 and bad.json()["code"] == "bad_login"
    # The failure that reaches the limit is answered with the lockout, and so is everything after it.
    assert token_attempt(annotator.username, "wrong", address="10.0.1.9").status_code == 429
    locked = token_attempt(annotator.username, PASSWORD, address="10.0.2.1")
    assert locked.status_code == 429, locked.content
    assert (
        locked.json()["code"] == "locked_out"
        and "Too many failed sign-in attempts" in locked.json()["detail"]
    )
    assert int(locked["Retry-After"]) == 15 * 60
    # Another user on the same addresses is not affected.
    other = token_attempt("someone-else", "wrong", address="10.0.2.1")
    assert other.status_code == 400


def test_the_lockout_does_not_reveal_whether_the_user_exists(annotator):
    answers = {}
    for username in (annotator.username, "no-such-user"):
        for _ in range(2):
            assert token_attempt(username, "wrong", address="10.0.3.1").status_code == 400
        locked = token_attempt(username, "wrong", address="10.0.3.2")
        answers[username] = (locked.status_code, locked.json(), locked["Retry-After"])
    assert answers[annotator.username] == answers["no-such-user"]


def test_the_address_limit_ignores_a_forged_forwarded_for(db, settings):
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    for index in range(5):
        response = token_attempt(f"user-{index}", "wrong", forwarded=f"203.0.113.{index}")
        assert response.status_code == 400
    locked = token_attempt("user-new", "wrong", forwarded="198.51.100.7")
    assert locked.status_code == 429
    assert token_attempt("user-new", "wrong", address="10.9.9.9").status_code == 400  # another address


def test_the_client_address_trusts_exactly_num_proxies(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="1.1.1.1, 2.2.2.2")
    assert client_address(request) == "10.0.0.9"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert client_address(request) == "2.2.2.2"  # what the one trusted proxy saw, not the client's claim
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 2}
    assert client_address(request) == "1.1.1.1"


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_the_login_pages_lock_too(annotator, path):
    client = Client()
    for _ in range(2):
        page = client.post(path, {"username": annotator.username, "password": "wrong"})
        assert page.status_code == 200  # the form again, with its error
    assert client.post(path, {"username": annotator.username, "password": "wrong"}).status_code == 429
    locked = client.post(path, {"username": annotator.username, "password": PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_good_login_under_the_limit_works(annotator):
    token_attempt(annotator.username, "wrong")
    assert token_attempt(annotator.username, PASSWORD).status_code == 200
    client = Client()
    assert client.post("/login/", {"username": annotator.username, "password": PASSWORD}).status_code == 302


def test_the_token_throttle_keys_on_the_real_address_not_on_forwarded_for(db, settings):
    settings.PREFER_LOGIN_FAILURES_PER_ADDRESS = 1000  # the request throttle alone
    codes = [
        token_attempt(f"user-{n}", "wrong", address="10.0.3.9", forwarded=f"203.0.113.{n}").status_code
        for n in range(31)
    ]
    assert codes[:30] == [400] * 30 and codes[30] == 429
