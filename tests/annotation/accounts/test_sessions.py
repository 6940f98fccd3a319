"""How long a sign-in lasts (annotation/accounts/sessions.py): an idle timeout, pushed forward at most once a
minute by activity, and a total lifetime however busy."""

import time
from datetime import timedelta

from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from annotation.accounts.sessions import SEEN_AT, SIGNED_IN_AT
from tests.factories import PASSWORD


def signed_in(user, password: str = PASSWORD) -> Client:
    """Signed in through the login form, as a person is."""
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": password})
    assert response.status_code == 302 and response.url == "/", response.content[:300]
    return client


def session_row(client: Client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def set_session(client: Client, **values: float) -> None:
    session = client.session
    session.update(values)
    session.save()


def test_sessions_end_after_the_idle_time_not_two_weeks(settings, annotator):
    assert settings.SESSION_COOKIE_AGE == settings.PREFER_SESSION_IDLE_SECONDS == 2 * 3600
    assert settings.PREFER_SESSION_SECONDS == 12 * 3600
    assert not settings.SESSION_SAVE_EVERY_REQUEST  # activity refreshes it once a minute instead
    client = signed_in(annotator)
    client.get("/")
    expires = session_row(client).expire_date
    assert abs(expires - (timezone.now() + timedelta(hours=2))) < timedelta(minutes=1)
    Session.objects.filter(pk=client.session.session_key).update(expire_date=timezone.now())
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_activity_pushes_the_idle_expiry_forward_at_most_once_a_minute(annotator):
    client = signed_in(annotator)
    assert client.get("/").status_code == 200
    row = session_row(client)
    assert client.get("/").status_code == 200
    assert session_row(client).expire_date == row.expire_date  # no write within the minute

    set_session(client, **{SEEN_AT: time.time() - 61})
    Session.objects.filter(pk=row.pk).update(expire_date=timezone.now() + timedelta(minutes=5))
    response = client.get("/")
    assert response.status_code == 200
    assert session_row(client).expire_date > timezone.now() + timedelta(hours=1, minutes=59)
    assert response.cookies["sessionid"]["max-age"] == 2 * 3600  # the browser's cookie follows


def test_a_session_ends_after_its_total_lifetime_however_busy(annotator):
    client = signed_in(annotator)
    assert client.get("/").status_code == 200
    assert client.session[SIGNED_IN_AT] > time.time() - 60
    set_session(client, **{SIGNED_IN_AT: time.time() - 12 * 3600 - 1, SEEN_AT: time.time()})
    old_key = client.session.session_key
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith("/login/")
    assert not Session.objects.filter(pk=old_key).exists()  # signed out, not merely turned away
    assert client.get("/api/v1/projects/").status_code == 401


def test_a_session_within_its_lifetime_stays(annotator):
    client = signed_in(annotator)
    set_session(client, **{SIGNED_IN_AT: time.time() - 12 * 3600 + 120})
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/projects/").status_code == 200
