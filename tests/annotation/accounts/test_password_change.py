"""The password page (issue 14): Django's PasswordChangeView in the site's look, linked from the header."""

from django.contrib.auth import SESSION_KEY
from django.test import Client

from tests.factories import PASSWORD

NEW = "a-fresh-unusual-phrase-77"


def signed_in(user, password: str = PASSWORD) -> Client:
    """Signed in through the login form, as a person is."""
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": password})
    assert response.status_code == 302 and response.url == "/", response.content[:300]
    return client


def test_the_header_links_to_the_password_page(annotator):
    html = signed_in(annotator).get("/").content.decode()
    assert 'href="/password/"' in html


def test_change_password_keeps_the_session(annotator):
    client = signed_in(annotator)
    page = client.get("/password/")
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.content.decode()
    response = client.post(
        "/password/", {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 302 and response.url == "/password/done/"
    annotator.refresh_from_db()
    assert annotator.check_password(NEW) and not annotator.check_password(PASSWORD)
    # Still signed in here (update_session_auth_hash), with the new password's session hash.
    assert client.get("/").status_code == 200
    assert client.session[SESSION_KEY] == str(annotator.pk)
    assert client.get("/password/done/").status_code == 200
    # The new password signs in.
    signed_in(annotator, NEW)


def test_a_wrong_old_password_is_refused(annotator):
    client = signed_in(annotator)
    response = client.post(
        "/password/", {"old_password": "not-my-password", "new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 200
    assert "old password was entered incorrectly" in response.content.decode()
    annotator.refresh_from_db()
    assert annotator.check_password(PASSWORD)


def test_a_weak_new_password_is_refused_with_the_validators_reason(annotator):
    client = signed_in(annotator)
    response = client.post(
        "/password/", {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "too common" in html and 'aria-invalid="true"' in html
    annotator.refresh_from_db()
    assert annotator.check_password(PASSWORD)


def test_the_page_is_for_signed_in_users(db):
    response = Client().get("/password/")
    assert response.status_code == 302 and response.url.startswith("/login/?next=/password/")


def test_the_page_in_chinese(annotator):
    client = signed_in(annotator)
    client.cookies["django_language"] = "zh-hans"
    html = client.get("/password/").content.decode()
    assert "修改前创建的 API 令牌将失效" in html and "旧密码" in html  # ours, and Django's own form labels
    assert "密码已修改" in client.get("/password/done/").content.decode()
