"""Every page of the admin's workspace, and every form behind it, for every role: anonymous (sent to the
login page), a member of another project (404: the project's existence is not revealed), annotator,
reviewer, project admin and site admin; and the navigation each role is shown."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from annotation.models import Comparison, Membership, Role
from tests.factories import ProjectFactory, UserFactory, make_comparisons, member

ROLES = ["anon", "outsider", "annotator", "reviewer", "admin", "site_admin"]
LOGIN = 302
ADMIN_ONLY = (LOGIN, 404, 404, 404, 200, 200)
ADMIN_POST = (LOGIN, 404, 404, 404, 302, 302)

# (method, url, body, expected status for each of ROLES)
PAGES = [
    ("get", "/projects/new/", None, (LOGIN, 403, 403, 403, 403, 200)),
    ("post", "/projects/new/", {"slug": "made-{role}", "name": "Made"}, (LOGIN, 403, 403, 403, 403, 302)),
    ("post", "/projects/preview/", {"text": "**hi**"}, (LOGIN, 200, 200, 200, 200, 200)),
    ("get", "/p/{slug}/", None, (LOGIN, 404, 200, 200, 200, 200)),
    ("get", "/p/{slug}/annotate/", None, (LOGIN, 404, 200, 200, 200, 200)),
    ("get", "/p/{slug}/settings/", None, ADMIN_ONLY),
    ("post", "/p/{slug}/settings/", {"name": "Renamed", "overlap": "2", "lease_seconds": "600",
                                     "gold_rate": "0", "auto_round_min_new_preferences": "200"}, ADMIN_POST),
    ("get", "/p/{slug}/members/", None, ADMIN_ONLY),
    ("post", "/p/{slug}/members/", {"username": "target", "role": "reviewer"}, ADMIN_POST),
    ("post", "/p/{slug}/members/target/remove/", {}, ADMIN_POST),
    ("get", "/p/{slug}/data/", None, ADMIN_ONLY),
    ("get", "/p/{slug}/data/?status=open&split=train&gold=no&agreement=disagree", None, ADMIN_ONLY),
    ("post", "/p/{slug}/data/", "file", ADMIN_POST),
    ("get", "/p/{slug}/data/comparisons/{comparison}/", None, (LOGIN, 404, 404, 200, 200, 200)),
    ("get", "/p/{slug}/export/", None, ADMIN_ONLY),
    ("get", "/p/{slug}/export/download/?format=trl", None, ADMIN_ONLY),
    ("get", "/p/{slug}/models/", None, ADMIN_ONLY),
    ("get", "/p/{slug}/models/jobs/", None, ADMIN_ONLY),
    ("post", "/p/{slug}/models/fill/", {"limit": "2"}, ADMIN_POST),
]  # fmt: skip


def _users(project):
    site_admin = UserFactory()
    site_admin.is_superuser = True
    site_admin.save()
    return {
        "outsider": member(ProjectFactory()),
        "annotator": member(project, Role.ANNOTATOR),
        "reviewer": member(project, Role.REVIEWER),
        "admin": member(project, Role.ADMIN),
        "site_admin": site_admin,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "url", "body", "expected"), PAGES, ids=[f"{p[0]} {p[1]}" for p in PAGES])
def test_page_role_matrix(db, role, method, url, body, expected):
    project = ProjectFactory()
    comparison = make_comparisons(project, 1)[0]
    user = _users(project).get(role)
    member(project, Role.ANNOTATOR, username="target")
    client = Client()
    if user is not None:
        client.force_login(user)
    full_url = url.format(slug=project.slug, comparison=comparison.pk)
    if body == "file":
        data = {"file": SimpleUploadedFile("p.jsonl", b'{"id": "n1", "prompt": "hi"}\n')}
    else:
        data = {k: v.format(role=role) for k, v in (body or {}).items()}
    response = getattr(client, method)(full_url, data) if method == "post" else client.get(full_url)
    want = expected[ROLES.index(role)]
    assert response.status_code == want, (role, full_url, response.status_code)
    if want == LOGIN and role == "anon":
        assert response["Location"].startswith("/login/")
    if want in (404, 403):  # nothing was done
        assert Membership.objects.filter(project=project, user__username="target", role="annotator").exists()
        assert Comparison.objects.filter(project=project).count() == 1


NAV = {
    "annotator": {"Annotate"},
    "reviewer": {"Annotate"},
    "admin": {"Annotate", "Dashboard", "Data", "Members", "Export", "Models", "Settings"},
    "site_admin": {"Annotate", "Dashboard", "Data", "Members", "Export", "Models", "Settings", "New project"},
}
WORKSPACE = {"Dashboard", "Data", "Members", "Export", "Models", "Settings", "New project"}


@pytest.mark.parametrize("role", ["annotator", "reviewer", "admin", "site_admin"])
def test_navigation_shows_each_role_what_it_may_use(db, role):
    project = ProjectFactory()
    user = _users(project)[role]
    client = Client()
    client.force_login(user)
    html = client.get(f"/p/{project.slug}/annotate/").content.decode()
    nav = html[html.index('class="site-nav"') : html.index("</nav>")]
    shown = {name for name in WORKSPACE | {"Annotate"} if f">{name}</a>" in nav}
    assert shown == NAV[role]


def test_outsider_and_anonymous_see_no_project_links(db, outsider):
    client = Client()
    home = client.get("/")
    assert home.status_code == 302
    client.force_login(outsider)
    html = client.get("/").content.decode()
    nav = html[html.index('class="site-nav"') : html.index("</nav>")]
    assert ">Projects</a>" in nav and not any(f">{name}</a>" in nav for name in WORKSPACE)


def test_a_site_admin_without_projects_is_pointed_to_new_project(site_admin):
    client = Client()
    client.force_login(site_admin)
    assert 'href="/projects/new/">Create project</a>' in client.get("/").content.decode()
