"""The rounds endpoints: launch, watch, cancel, by role."""

from annotation.models import TrainingRound
from annotation.rounds.services import round_launch
from tests.helpers import api_client


def test_launch_validates_config_and_allows_one_active_round(project, project_admin):
    client = api_client(project_admin)
    url = f"/api/v1/projects/{project.slug}/rounds/"
    bad = client.post(url, {"kind": "ppo", "config": {"ppo": {"stepz": 3}}}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "config" and "stepz" in bad.json()["detail"]
    bad_kind = client.post(url, {"kind": "sft"}, format="json")
    assert bad_kind.status_code == 400 and bad_kind.json()["field"] == "kind"
    first = client.post(url, {"kind": "dpo", "config": {"preset": "smoke"}}, format="json")
    assert first.status_code == 202 and first.json()["status"] == "queued"
    second = client.post(url, {"kind": "ppo"}, format="json")
    assert second.status_code == 409 and second.json()["code"] == "round_active"
    assert TrainingRound.objects.filter(project=project).count() == 1
    detail = client.get(f"/api/v1/rounds/{first.json()['id']}/").json()
    assert {"id", "kind", "status", "stage", "progress", "metrics", "error"} <= set(detail)
    cancelled = client.post(f"/api/v1/rounds/{first.json()['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/rounds/{first.json()['id']}/cancel/")
    assert again.status_code == 409


def test_round_endpoints_by_role(project, project_admin, annotator, outsider):
    training_round = round_launch(project=project, config={"preset": "smoke"})
    for user, expected in ((None, 401), (outsider, 404), (annotator, 403), (project_admin, 200)):
        client = api_client(user)
        assert client.get(f"/api/v1/projects/{project.slug}/rounds/").status_code == expected
        assert client.get(f"/api/v1/rounds/{training_round.pk}/").status_code == expected
    assert api_client(annotator).post(f"/api/v1/rounds/{training_round.pk}/cancel/").status_code == 403
    assert api_client(annotator).post(f"/api/v1/projects/{project.slug}/rounds/", {}).status_code == 403
