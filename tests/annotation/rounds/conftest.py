"""Fixtures of the rounds tests."""

import pytest

from tests.celery_worker import use_test_broker


@pytest.fixture(autouse=True)
def _isolated_broker():
    use_test_broker()
