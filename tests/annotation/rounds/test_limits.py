"""A project admin is not a machine admin: a round config names only models the project may use and stays
under the site's budget caps, each breach a 400 naming the field, before the one-active-round 409."""

import pytest

from annotation.models import PolicyVersion, RewardModelVersion, TrainingRound
from annotation.rounds.limits import LIMITS
from annotation.rounds.services import round_launch
from tests.helpers import api_client


def _launch(project, user, config: dict, kind: str = "ppo"):
    return api_client(user).post(
        f"/api/v1/projects/{project.slug}/rounds/", {"kind": kind, "config": config}, format="json"
    )


@pytest.mark.parametrize(
    "config, field",
    [
        ({"reward": {"model": "/etc"}}, "config.reward.model"),
        ({"reward": {"model": "someone/their-model"}}, "config.reward.model"),
        ({"ppo": {"steps": 10**12}}, "config.ppo.steps"),
        ({"ppo": {"max_new_tokens": 10**9}}, "config.ppo.max_new_tokens"),
        ({"generation": {"max_new_tokens": 10**9}}, "config.generation.max_new_tokens"),
        ({"dpo": {"steps": 10**9}}, "config.dpo.steps"),
        ({"reward": {"min_steps": 10**9}}, "config.reward.min_steps"),
        ({"prompts_per_round": 10**9}, "config.prompts_per_round"),
    ],
)
def test_a_config_beyond_the_project_is_refused_naming_the_field(project, project_admin, config, field):
    round_launch(project=project, config={"preset": "smoke"})  # an active round: the 400 still comes first
    response = _launch(project, project_admin, config)
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field
    assert TrainingRound.objects.filter(project=project).count() == 1


def test_the_defaults_builtin_models_own_artifacts_and_the_allow_list_are_accepted(
    project, project_admin, settings
):
    assert _launch(project, project_admin, {}).status_code == 202  # the default config is within the caps
    TrainingRound.objects.all().delete()
    assert _launch(project, project_admin, {"reward": {"model": "tiny-reward-model"}}).status_code == 202
    TrainingRound.objects.all().delete()
    own = RewardModelVersion.objects.create(
        project=project, version=1, base_model="minilm-l6", artifact_path="/data/rm/project-7/v1"
    )
    assert _launch(project, project_admin, {"reward": {"model": own.artifact_path}}).status_code == 202
    TrainingRound.objects.all().delete()
    settings.PREFER_ROUND_ALLOWED_MODELS = ["org/vetted-encoder"]
    assert _launch(project, project_admin, {"reward": {"model": "org/vetted-encoder"}}).status_code == 202


def test_another_projects_artifact_is_not_this_projects(project, project_admin, outsider):
    other = outsider.memberships.get().project
    theirs = PolicyVersion.objects.create(
        project=other, version=2, model_ref="smollm2-135m-instruct", artifact_path="/data/policies/theirs/v2"
    )
    response = _launch(project, project_admin, {"reward": {"model": theirs.artifact_path}})
    assert response.status_code == 400 and response.json()["field"] == "config.reward.model"


def test_a_site_raises_its_caps_in_settings(project, project_admin, settings):
    over = LIMITS["ppo"]["steps"] + 1
    assert _launch(project, project_admin, {"ppo": {"steps": over}}).status_code == 400
    settings.PREFER_ROUND_LIMITS = {"ppo": {"steps": over}}
    assert _launch(project, project_admin, {"ppo": {"steps": over}}).status_code == 202
