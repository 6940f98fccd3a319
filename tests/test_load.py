"""A short load run of the annotator loop with locust (the long one: benchmarks/load.py): 5 annotators for 10
seconds against the live server, then the counts. It asserts counts, never timings: nothing acknowledged is
lost, nothing is counted twice, a retried submission makes no second annotation, no request fails."""

import pytest

from annotation.rest import ScopedThrottle
from benchmarks.load import annotator_tokens, check_counts, run_locust
from tests.factories import ProjectFactory, make_comparisons

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_annotator_loop_under_load_loses_and_doubles_nothing(live_server, monkeypatch, tmp_path):
    # Locust users submit at a script's pace: no per-user submit limit (DRF binds the rates at import).
    monkeypatch.setattr(ScopedThrottle, "THROTTLE_RATES", {**ScopedThrottle.THROTTLE_RATES, "submit": None})
    project = ProjectFactory(slug="load", overlap=2)
    make_comparisons(project, 300)
    tokens = annotator_tokens(project, 5)
    result = run_locust(
        host=live_server.url, tokens=tokens, slug=project.slug, users=5, seconds=10, workdir=tmp_path
    )
    assert result["failures"] == []
    assert result["endpoints"]["annotations?next=1"]["requests"] > 20  # it did work
    counts = check_counts(project, result["acknowledged"])
    assert counts["acknowledged"] == counts["distinct"] > 20
    assert (counts["lost"], counts["doubled"], counts["over_counted"]) == (0, 0, 0)
