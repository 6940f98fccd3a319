"""Stats: Krippendorff's alpha and per-annotator agreement against hand-computed values, throughput,
roles (annotators get 403), pseudonyms in the API, and the dashboard partial."""

import itertools

import pytest
from django.template.loader import render_to_string

from annotation.data.pseudonyms import annotator_pseudonym
from annotation.data.stats import krippendorff_alpha_nominal, project_stats
from annotation.models import Role
from annotation.workspace.charts import throughput_charts
from tests.factories import ProjectFactory, make_comparisons, member
from tests.helpers import annotate, api_client


def test_krippendorff_alpha_hand_computed():
    # Units [A,A], [A,B], [B,B]: coincidences o_AA=2, o_AB=o_BA=1, o_BB=2; n_A=n_B=3, n=6.
    # alpha = 1 - (n-1) * (o_AB+o_BA) / (n^2 - n_A^2 - n_B^2) = 1 - 5 * 2 / 18 = 4/9.
    assert krippendorff_alpha_nominal([["A", "A"], ["A", "B"], ["B", "B"]]) == pytest.approx(4 / 9)
    # Adding [A,A,B] (each pair weighted 1/(m-1) = 1/2: o_AA += 1, o_AB += 1, o_BA += 1) and a lone [T],
    # which is unpairable: n_A=5, n_B=4, n=9, disagreements 4 -> alpha = 1 - 8 * 4 / (81 - 25 - 16) = 0.2.
    units = [["A", "A"], ["A", "B"], ["B", "B"], ["A", "A", "B"], ["T"]]
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.2)
    assert krippendorff_alpha_nominal([["A", "A"], ["B", "B"]]) == pytest.approx(1.0)
    assert krippendorff_alpha_nominal([["A", "A"], ["A", "A"]]) is None  # no variation: undefined
    assert krippendorff_alpha_nominal([["A"]]) is None


@pytest.fixture
def scored(db):
    """Three annotators on a pairwise project. Votes per comparison (first/second in display order):
    c0: alice F, bob F; c1: alice F, bob S; c2: alice S, bob S, carol tie; c3: alice only (corrected once).
    Units (>= 2 votes): [F,F], [F,S], [S,S,T] -> n_F=3, n_S=3, n_T=1, n=7, disagreements 2 + 2 = 4,
    alpha = 1 - 6 * 4 / (49 - 9 - 9 - 1) = 0.2. Consensus: c0 F, c1 none (even split), c2 S: 4 of 5 votes
    overall. Per annotator, each vote against the plurality of the others (leave-one-out): c0 alice F vs F and
    bob F vs F agree; c1 alice F vs S and bob S vs F disagree; c2 alice and bob face [S, T] (no plurality:
    skipped), carol T vs S disagrees -> alice 1/2, bob 1/2, carol 0/1."""
    project = ProjectFactory(overlap=3, slug="scored")
    c0, c1, c2, c3 = make_comparisons(project, 4)
    alice, bob, carol = (member(project, username=name) for name in ("alice", "bob", "carol"))
    annotate(c0, alice, order=[0, 1], time_spent_ms=1000)
    annotate(c1, alice, order=[0, 1], time_spent_ms=2000)
    annotate(c2, alice, order=[1, 0], time_spent_ms=3000)
    annotate(c3, alice, order=[0, 1], time_spent_ms=4000)
    annotate(c3, alice, order=[1, 0], time_spent_ms=5000)  # supersedes the 4000 ms one
    annotate(c0, bob, order=[0, 1], time_spent_ms=6000)
    annotate(c1, bob, order=[1, 0], time_spent_ms=7000)
    annotate(c2, bob, order=[1, 0], time_spent_ms=8000)
    annotate(c2, carol, order=[[0, 1]], time_spent_ms=9000)
    return project, (alice, bob, carol)


def test_project_stats_values(scored):
    project, (alice, bob, carol) = scored
    stats = project_stats(project=project)
    assert stats["comparisons"] == {"total": 4, "open": 3, "complete": 1, "gold": 0}
    assert stats["annotations"] == {"live": 8, "superseded": 1, "annotators": 3}
    assert stats["median_time_ms"] == 5500  # live: 1,2,3,5,6,7,8,9 thousand
    assert stats["agreement"] == {
        "krippendorff_alpha": 0.2,
        "comparisons": 3,
        "units": 3,
        "consensus_agreement": 0.8,
    }
    rows = {row["annotator"]: row for row in stats["annotators"]}
    assert list(rows) == [
        annotator_pseudonym(u.pk, project_id=project.pk) for u in (alice, bob, carol)
    ]  # most annotations first
    a, b, c = (rows[annotator_pseudonym(u.pk, project_id=project.pk)] for u in (alice, bob, carol))
    assert (a["annotations"], a["median_time_ms"], a["agreement"], a["agreement_votes"]) == (4, 2500, 0.5, 2)
    assert (b["annotations"], b["agreement"], b["agreement_votes"]) == (3, 0.5, 2)
    assert (c["annotations"], c["agreement"], c["agreement_votes"]) == (1, 0.0, 1)
    assert "username" not in a

    throughput = stats["throughput"]
    assert len(throughput["per_hour"]) == 48 and len(throughput["per_day"]) == 30
    assert throughput["per_hour"][-1]["count"] == 9 == throughput["per_day"][-1]["count"]  # corrections count
    assert sum(bucket["count"] for bucket in throughput["per_hour"]) == 9 == throughput["peak_hour"]
    starts = [bucket["start"] for bucket in throughput["per_hour"]]
    assert all((later - earlier).total_seconds() == 3600 for earlier, later in itertools.pairwise(starts))


def test_annotator_agreement_leaves_the_annotator_out(db):
    # c: alice F, bob F, carol S. alice and bob each face [F, S] (no plurality: skipped); carol S vs F.
    # d: everyone F, and each faces [F, F]: all agree. -> alice 1/1, bob 1/1, carol 1/2.
    # Counting one's own vote would give alice and bob 2/2 and carol 1/2: with overlap 2 every pair would
    # be 1.0 or skipped, which is what this guards against.
    project = ProjectFactory(overlap=3)
    c, d = make_comparisons(project, 2)
    alice, bob, carol = (member(project, username=name) for name in ("alice", "bob", "carol"))
    for comparison, orders in ((c, ([0, 1], [0, 1], [1, 0])), (d, ([0, 1], [0, 1], [0, 1]))):
        for user, order in zip((alice, bob, carol), orders, strict=True):
            annotate(comparison, user, order=order)
    rows = {row["annotator"]: row for row in project_stats(project=project)["annotators"]}
    got = [rows[annotator_pseudonym(user.pk, project_id=project.pk)] for user in (alice, bob, carol)]
    assert [(row["agreement"], row["agreement_votes"]) for row in got] == [(1.0, 1), (1.0, 1), (0.5, 2)]


def test_stats_api_roles_and_pseudonyms(scored, site_admin, outsider):
    project, (alice, bob, carol) = scored
    url = f"/api/v1/projects/{project.slug}/stats/"
    assert api_client(alice).get(url).status_code == 403  # annotators: no project-wide details
    assert api_client(alice).get(url).json()["code"] == "permission_denied"
    assert api_client(outsider).get(url).status_code == 404
    assert api_client().get(url).status_code == 401

    # Reviewers: the aggregates, not who annotated what or how well.
    reviewer = api_client(member(project, Role.REVIEWER)).get(url)
    assert reviewer.status_code == 200
    body = reviewer.json()
    assert "annotators" not in body
    assert body["agreement"]["krippendorff_alpha"] == 0.2 and body["annotations"]["annotators"] == 3
    for user in (alice, bob, carol):
        assert annotator_pseudonym(user.pk, project_id=project.pk) not in reviewer.content.decode()

    for user in (member(project, Role.ADMIN), site_admin):
        response = api_client(user).get(url)
        assert response.status_code == 200
        body = response.json()
        assert body["agreement"]["krippendorff_alpha"] == 0.2 and body["median_time_ms"] == 5500
        assert {row["annotator"]: row["agreement"] for row in body["annotators"]} == {
            annotator_pseudonym(alice.pk, project_id=project.pk): 0.5,
            annotator_pseudonym(bob.pk, project_id=project.pk): 0.5,
            annotator_pseudonym(carol.pk, project_id=project.pk): 0.0,
        }
        text = response.content.decode()
        for user in (alice, bob, carol):
            assert user.username not in text
        assert "username" not in text and "annotator_id" not in text


def test_project_stats_are_cached_until_the_next_annotation(scored):
    project, (_, bob, _) = scored
    first = project_stats(project=project)
    again = project_stats(project=project, include_usernames=True)
    assert again["generated_at"] == first["generated_at"]  # served from the cache
    assert [row["username"] for row in again["annotators"]] == ["alice", "bob", "carol"]
    assert "username" not in first["annotators"][0]
    assert "annotators" not in project_stats(project=project, include_annotators=False)

    comparison = project.comparisons.order_by("pk").last()  # c3: alice only so far
    annotate(comparison, bob, order=[1, 0])
    fresh = project_stats(project=project)
    assert fresh["generated_at"] > first["generated_at"]  # a new annotation shows at once
    assert fresh["annotations"]["live"] == 9 and fresh["agreement"]["units"] == 4


def test_dashboard_partial_renders_names_for_admins(scored):
    project, (alice, *_) = scored
    stats = project_stats(project=project, include_usernames=True)
    charts = throughput_charts(stats=stats, per_hour_title="per hour", per_day_title="per day")
    html = render_to_string(
        "partials/project_stats.html", {"stats": stats, "project": project, "charts": charts}
    )
    assert 'data-stat="alpha">0.20<' in html and 'data-stat="live">8<' in html
    assert ">alice <small" in html and annotator_pseudonym(alice.pk, project_id=project.pk) in html
    # Throughput: two SVG charts (30 days, 48 hours, a bar each); export links: the export page.
    assert html.count('class="chart-bar"') == 78 and f"/p/{project.slug}/export/" in html


def test_stats_of_an_empty_project(db):
    project = ProjectFactory()
    stats = project_stats(project=project)
    assert stats["agreement"]["krippendorff_alpha"] is None and stats["median_time_ms"] is None
    assert stats["annotators"] == [] and stats["throughput"]["peak_day"] == 0
    assert "No annotations yet." in render_to_string("partials/project_stats.html", {"stats": stats})
