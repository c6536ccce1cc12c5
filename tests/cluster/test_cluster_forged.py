"""Another client of the same scheduler forges and replays a task's events.

A real ``dask scheduler`` on 127.0.0.1 (``real_cluster``); the forger is a second
``Client`` of it, as any program that can reach the scheduler can be. It reads
the app's topic, replays every real message, and forges events with the next
sequence numbers — in the old list format and in the signed one with a wrong
HMAC — whose payload writes a marker file when unpickled; and a worker-removal
notice. The app must unpickle none of it, and the task's real events must all
arrive, in order.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import pickle
from pathlib import Path
from typing import Any

import cluster_jobs as jobs
import pytest

from .conftest import ClusterHarness, RealCluster

N = 40


@pytest.fixture
def h(make_harness: Any, real_cluster: RealCluster) -> ClusterHarness:
    real_cluster.recover()
    harness: ClusterHarness = make_harness(cluster=real_cluster.address)
    return harness


def test_forged_and_replayed_events_are_never_unpickled_and_the_real_ones_all_arrive_in_order(
    h: ClusterHarness, real_cluster: RealCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker, gate = tmp_path / "unpickled", tmp_path / "gate"
    evil = pickle.dumps(("n", jobs.Marker(str(marker))))
    assert not marker.exists()
    with caplog.at_level(logging.WARNING, logger="tasker"):
        task = h.run(jobs.events_around_a_gate, N, str(gate))
        assert h.pump_until(lambda: len([e for e in h.events if e[0] is task]) == N // 2)
        with real_cluster.client() as forger:
            topic = h.mgr._lifecycle.runners["cluster"].topic
            seen = forger.get_events()[topic]  # any client lists the topics and reads them
            real = [msg for _, msg in seen]
            assert len(real) > N // 2  # it reads them: begin, events
            first = real[0]
            if isinstance(first, dict):
                token, run, worker = first["k"], first["r"], first["worker"]
            else:  # the format before signing: [tag, token, …], the begin event naming its worker
                token, run, worker = first[1], "", first[2]
            for msg in real:  # replayed as they were
                forger.log_event(topic, msg)
            for seq in range(N // 2 + 1, N // 2 + 21):  # the next numbers, before the real ones
                forger.log_event(topic, ["E", token, seq, evil])  # the format before signing
                forged = forge("E", token, run, 1000 + seq, [seq, evil])
                forger.log_event(topic, forged)  # signed with a wrong key
                if isinstance(real[-1], dict):
                    forger.log_event(topic, {**real[-1], "b": forged["b"]})  # a real HMAC, another body
                forger.log_event(topic, {**forged, "worker": worker})  # claiming the real worker
            forger.log_event(topic, {"t": "E", "k": token, "n": "1", "b": evil, "m": 7})  # wrong types
            forger.log_event(topic, "junk")
            forger.log_event(worker, {"action": "remove-worker", "expected": False})  # a false death
        gate.touch()  # the rest of the real events: after all of that, on the app's stream
        h.finish(task)
    assert task.get_status() == "completed", task.exception()
    assert task.result() == N
    assert [d for t, n, d in h.events if t is task] == list(range(N))
    assert not marker.exists()  # nothing forged was unpickled
    dropped = [r.getMessage() for r in caplog.records if "dropped unread a message" in r.getMessage()]
    mine = [text for text in dropped if f"for task {task.name!r}" in text]
    assert len(mine) == 1, dropped  # once for the task
    assert "Another client of the scheduler may be forging or replaying events" in mine[0]
    assert len(dropped) == 2, dropped  # and once for the junk that names no task of this app


def forge(tag: str, token: str, run: str, n: int, fields: list[Any]) -> dict[str, Any]:
    """A message in the signed format, with an HMAC made with a key the forger guessed."""
    import msgpack

    body = msgpack.packb(fields, use_bin_type=True)
    mac = hmac.new(b"\0" * 32, f"{tag}\0{token}\0{run}\0{n}\0".encode() + body, hashlib.sha256).digest()
    return {"t": tag, "k": token, "r": run, "n": n, "b": body, "m": mac}
