import threading
from collections.abc import Callable, Sequence

import pytest
from django.db import connection
from rest_framework.test import APIClient

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


def api_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness buys nothing in tests and costs seconds per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run_concurrently(work: Callable[..., object], argsets: Sequence[tuple], *, timeout: float = 120) -> list:
    """Runs `work(*args)` for every args in its own thread, all released at the same moment; each thread
    closes its database connection. Returns what the threads raised (assert it is empty)."""
    barrier = threading.Barrier(len(argsets))
    errors: list[BaseException] = []

    def run(args: tuple) -> None:
        try:
            barrier.wait(timeout=timeout)
            work(*args)
        except BaseException as exc:  # surfaced by the caller's assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(args,)) for args in argsets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors
