"""run_on_cluster on real Dask processes: ``dask scheduler`` and two ``dask worker --nanny``.

The manager connects by address (``cluster="tcp://127.0.0.1:…"``) and closes its
own Client at shutdown. The endings here touch the cluster itself: a stuck task
killed through its worker's nanny, a worker SIGKILLed mid-task, the scheduler
going away.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import cluster_jobs as jobs
import pytest

from tasker import WorkerDiedError
from tasker._core._errors import TaskError

from .conftest import START_TIMEOUT_S, ClusterHarness, RealCluster


@pytest.fixture
def h(make_harness: Any, real_cluster: RealCluster) -> ClusterHarness:
    real_cluster.recover()  # a test before may have killed a worker
    harness: ClusterHarness = make_harness(cluster=real_cluster.address, cancel_grace_period=0.5)
    return harness


def test_a_real_scheduler_runs_the_task_and_1000_events_arrive_in_order(h: ClusterHarness) -> None:
    task = h.finish(h.run(jobs.events, 1000))
    assert task.result() == 1000
    assert h.mgr._lifecycle.runners["cluster"].reruns is False  # allowed-failures 0: no run asks first
    assert [d for t, n, d in h.events if t is task] == list(range(1000))
    pid, address = h.finish(h.run(jobs.where)).result()
    assert address.startswith("tcp://127.0.0.1:")
    assert pid != os.getpid()


def test_a_stuck_task_is_killed_through_its_nanny_and_the_cluster_recovers(
    h: ClusterHarness, real_cluster: RealCluster
) -> None:
    before = real_cluster.worker_pids()
    task = h.run(jobs.stuck)
    pid = h.event(task, "started")
    address = task.handle.worker
    assert before[address] == pid
    task.cancel()
    h.finish(task)  # after the grace period (0.5 s): the worker's process is killed
    assert task.get_status() == "canceled"
    after = h.finish(h.run(jobs.where))  # the next cluster task runs
    assert after.get_status() == "completed"
    real_cluster.recover(gone=address)
    now = real_cluster.worker_pids()
    others = {a: p for a, p in before.items() if a != address}
    assert {a: now.get(a) for a in others} == others  # only that worker was touched
    assert pid not in now.values()  # its process was replaced by the nanny


def test_a_worker_killed_mid_task_fails_it_with_WorkerDiedError(h: ClusterHarness, real_cluster: RealCluster) -> None:
    task = h.run(jobs.until_canceled)
    pid = h.event(task, "started")
    address = task.handle.worker
    os.kill(pid, signal.SIGKILL)
    h.finish(task)
    assert task.get_status() == "failed"
    error = task.exception()
    assert isinstance(error, WorkerDiedError)
    assert address in str(error) and str(pid) in str(error)
    real_cluster.recover()
    assert h.finish(h.run(jobs.ok, 4)).result() == 8


def test_a_worker_killed_mid_run_on_a_scheduler_that_reruns_fails_it_and_the_second_run_does_nothing(
    make_harness: Any, rerun_cluster: RealCluster, tmp_path: Path
) -> None:
    """Dask's default allowed-failures: the scheduler sends the task to the other worker."""
    h = make_harness(cluster=rerun_cluster.address, cancel_grace_period=0.5)
    runs = tmp_path / "runs"
    task = h.run(jobs.once_then_until_canceled, str(runs))
    pid = h.event(task, "started")
    address, key = task.handle.worker, task.handle.key
    assert h.mgr._lifecycle.runners["cluster"].reruns is True  # each run asks the scheduler first
    os.kill(pid, signal.SIGKILL)
    h.finish(task)
    assert task.get_status() == "failed"
    error = task.exception()
    assert isinstance(error, WorkerDiedError)
    assert address in str(error) and str(pid) in str(error)
    rerun_cluster.recover(gone=address)
    with rerun_cluster.client() as client:
        _until_idle(client)
        stories = client.run(jobs.story_of, key)
    assert any(stories.values()), f"Dask did not send the task to another worker: {stories}"  # it did re-run it
    assert runs.read_text().splitlines() == [str(pid)]  # the function ran once: the second run stopped first
    assert h.finish(h.run(jobs.ok, 4)).result() == 8


def _until_idle(client: Any) -> None:
    """No key is processing and no worker thread runs a function (bounded)."""
    deadline = time.monotonic() + START_TIMEOUT_S / 2
    tick = threading.Event()
    while time.monotonic() < deadline:
        if client.run_on_scheduler(jobs.processing) == 0 and not any(client.run(jobs.executing).values()):
            return
        tick.wait(0.05)
    raise AssertionError(
        f"the cluster is still running something: {client.run_on_scheduler(jobs.processing)} keys processing, "
        f"executing {client.run(jobs.executing)}"
    )


def test_the_scheduler_going_away_fails_the_tasks_and_shutdown_returns(
    make_harness: Any, start_scheduler: Any
) -> None:
    address, procs = start_scheduler()
    h = make_harness(cluster=address)
    running = h.run(jobs.until_canceled)
    h.event(running, "started")
    queued = h.run(jobs.ok)  # one worker thread: it waits on the cluster
    procs.kill(procs.procs[0])  # SIGKILL the scheduler
    for task in (running, queued):
        h.finish(task)
        assert task.get_status() == "failed"
        assert isinstance(task.exception(), TaskError)
        assert f"the connection to the Dask scheduler at {address}" in str(task.exception())
    h.mgr.shutdown(timeout=1.0)  # returns: nothing waits for the lost scheduler
    h.scheduler.pump()


def test_after_the_scheduler_went_away_new_tasks_fail_clearly(make_harness: Any, start_scheduler: Any) -> None:
    address, procs = start_scheduler()
    h = make_harness(cluster=address)
    h.finish(h.run(jobs.ok))
    procs.kill(procs.procs[0])
    late = h.finish(h.run(jobs.ok))  # once the Client gives up reconnecting (its timeout)
    assert isinstance(late.exception(), TaskError)
    assert f"the connection to the Dask scheduler at {address}" in str(late.exception())
    h.mgr.shutdown(timeout=1.0)
