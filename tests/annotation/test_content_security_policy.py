"""The Content-Security-Policy (issue 14, M6): every kind of page sends it, and no page carries what it would
block (inline scripts, event handler attributes, inline styles). The browser side, that pages still work
with it and report no violation, is tests/browser/test_csp.py."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from annotation.models import Role
from tests.factories import ProjectFactory, make_comparisons, member

POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.I)
INLINE_STYLE = re.compile(r"<style\b", re.I)


def policy(response) -> dict[str, set[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']}: no Content-Security-Policy header"
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: set(values) for name, *values in directives}


def assert_nothing_inline(path: str, html: str) -> None:
    for what, pattern in [
        ("inline script", INLINE_SCRIPT),
        ("event handler attribute", HANDLER),
        ("style attribute", STYLE_ATTRIBUTE),
        ("inline <style>", INLINE_STYLE),
    ]:
        found = pattern.findall(html)
        assert not found, f"{path}: {what} the CSP blocks: {found[:3]}"


@pytest.fixture
def pages(db, site_admin):
    """Every kind of page, with the client that may see it."""
    project = ProjectFactory(guidelines="| left | right | centre |\n|:-|-:|:-:|\n| 1 | 2 | 3 |\n")
    make_comparisons(project, 1)
    admin = member(project, Role.ADMIN)
    anonymous, signed_in, superuser = Client(), Client(), Client()
    signed_in.force_login(admin)
    superuser.force_login(site_admin)
    return [
        (anonymous, "/login/"),
        (signed_in, "/"),
        (signed_in, f"/p/{project.slug}/annotate/"),
        (signed_in, f"/p/{project.slug}/"),
        (signed_in, f"/p/{project.slug}/rounds/panel/"),
        (signed_in, "/password/"),
        (signed_in, "/password/done/"),
        (superuser, "/admin/"),
        (superuser, "/admin/auth/user/"),
        (superuser, f"/admin/auth/user/{admin.pk}/change/"),
        (superuser, "/admin/annotation/project/add/"),
        (signed_in, "/api/v1/projects/"),
        (signed_in, "/api/schema/"),
    ]


def test_every_page_sends_the_policy_and_nothing_it_blocks(pages):
    for client, path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert policy(response) == POLICY, path
        if response.headers["Content-Type"].startswith("text/html"):
            assert_nothing_inline(path, response.content.decode())


def test_errors_and_redirects_carry_the_policy_too(db):
    client = Client()
    assert policy(client.get("/")) == POLICY  # the login redirect
    assert policy(client.get("/no-such-page/")) == POLICY


def test_the_api_docs_page_widens_only_img_src_to_data(db, annotator):
    client = Client()
    client.force_login(annotator)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert policy(response) == {**POLICY, "img-src": {"'self'", "data:"}}
    html = response.content.decode()
    assert_nothing_inline("/api/docs/", html)
    # Swagger UI's start-up code comes from the same view as a script of its own, not inline.
    (script_url,) = [url for url in re.findall(r'<script src="([^"]+)"', html) if "script=" in url]
    script = client.get(script_url)
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


def test_no_template_has_inline_script_handlers_or_styles():
    """Also the templates no test above renders (partials, the outage page)."""
    templates = sorted(Path(settings.BASE_DIR, "templates").rglob("*.html"))
    assert len(templates) >= 10
    for template in templates:
        assert_nothing_inline(str(template), template.read_text())


def test_markdown_table_alignment_is_a_class_not_a_style(db):
    from annotation.rendering import _filter_attribute, render_markdown

    html = render_markdown("| a | b | c |\n|:-|-:|:-:|\n| 1 | 2 | 3 |\n")
    assert '<th class="align-left">a</th>' in html and '<td class="align-right">2</td>' in html
    assert '<td class="align-center">3</td>' in html and "style" not in html
    assert _filter_attribute("td", "class", "align-left") == "align-left"
    assert _filter_attribute("td", "class", "btn btn-primary") is None  # no other class reaches a cell
