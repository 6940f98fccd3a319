"""The runner's heartbeat thread."""

from annotation.rounds import runner
from tests.helpers import wait_for


def test_heartbeat_survives_a_database_error(monkeypatch):
    calls = []

    def flaky(*, round_id, runner):
        calls.append(round_id)
        if len(calls) == 1:
            from django.db import OperationalError

            raise OperationalError("server closed the connection unexpectedly")
        return True

    monkeypatch.setattr(runner, "round_heartbeat", flaky)
    heartbeat = runner._Heartbeat(1, "token", interval=0.01)
    heartbeat.start()
    wait_for(lambda: len(calls) >= 3, 5, what="heartbeats after the error")
    assert heartbeat.is_alive() and heartbeat.cancel_requested
    heartbeat.stopped.set()
    heartbeat.join(timeout=5)
    assert not heartbeat.is_alive()
