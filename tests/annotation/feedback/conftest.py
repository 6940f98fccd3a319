import pytest

from annotation.feedback.settings import default_categories
from tests.factories import ProjectFactory, member


@pytest.fixture
def hh_project(db):
    """A helpful-and-harmless project: harm flags from the built-in list, dual preference, edits on."""
    return ProjectFactory(safety_categories=default_categories(), dual_preference=True)


@pytest.fixture
def scoring_project(db):
    return ProjectFactory(responses_per_task=1, rating_axes=["helpfulness", "honesty"], rating_scale_max=5)


@pytest.fixture
def hh_annotator(hh_project):
    return member(hh_project)


@pytest.fixture
def scorer(scoring_project):
    return member(scoring_project)
