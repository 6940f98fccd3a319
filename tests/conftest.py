"""Fixtures shared by every test. Helper functions live in tests/helpers.py, not here."""

import pytest

from annotation.models import Role
from tests.factories import ProjectFactory, UserFactory, member


@pytest.fixture
def project(db):
    return ProjectFactory()


@pytest.fixture
def annotator(project):
    return member(project, Role.ANNOTATOR)


@pytest.fixture
def project_admin(project):
    return member(project, Role.ADMIN)


@pytest.fixture
def site_admin(db):
    user = UserFactory(username="root-admin")
    user.is_superuser = True
    user.is_staff = True
    user.save()
    return user


@pytest.fixture
def outsider(db):
    """An annotator of another project."""
    other = ProjectFactory()
    return member(other, Role.ANNOTATOR)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness buys nothing in tests and costs seconds per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
