"""Pausing process tasks: the worker is stopped at once (SIGSTOP), uses no CPU, and
nothing sent ahead to it waits behind it; cancel, timeouts and shutdown still work."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from tasker import Task, TaskTimeoutError

import control_jobs
from conftest import Harness, wait_for

pytestmark = pytest.mark.timeout(90)


def proc_stat(pid: int) -> tuple[str, int]:
    """(state letter, user + system CPU time in clock ticks) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return fields[0], int(fields[11]) + int(fields[12])


def worker_pid(task: Task[Any]) -> int:
    return int(task.handle.proc.pid)


def _run(h: Harness, func: Any, *args: Any, **kwargs: Any) -> Task[Any]:
    kwargs.setdefault("when_done", h.when_done)
    return h.mgr.run_process(func, *args, **kwargs)


def _running(h: Harness, task: Task[Any]) -> int:
    """Wait until the task's worker burns CPU; its pid."""
    assert h.pump_until(task.is_running)
    pid = worker_pid(task)
    start = proc_stat(pid)[1]
    assert wait_for(lambda: proc_stat(pid)[1] > start), "the task never ran"
    return pid


def test_a_paused_process_task_that_never_checks_uses_no_cpu(make_harness: Any) -> None:
    h = make_harness(cancel_grace_period=0.2, update_rate=0)
    task = _run(h, control_jobs.spin, 60.0)
    pid = _running(h, task)
    h.scheduler.pump()
    updates = len(h.updates)
    assert h.mgr.pause_task(task.key)
    assert wait_for(lambda: proc_stat(pid)[0] == "T"), "the worker was not stopped"
    assert task.get_status() == "running" and task.is_paused()
    before = proc_stat(pid)[1]
    threading.Event().wait(0.5)  # the measuring window (not a synchronisation)
    after = proc_stat(pid)[1]
    assert after == before, f"a stopped worker used {after - before} CPU ticks"
    assert h.pump_until(lambda: len(h.updates) > updates), "no tasks_updated for the pause"
    assert h.mgr.resume_task(task.key)
    assert wait_for(lambda: proc_stat(pid)[1] > after), "the worker did not go on after resume"
    task.cancel()  # it never checks: killed after the grace period
    assert h.finish(task).get_status() == "canceled"
    assert h.finish(_run(h, control_jobs.pid)).result() != pid  # the pool healed


def test_a_task_sent_ahead_to_a_paused_worker_runs_elsewhere(make_harness: Any, tmp_path: Path) -> None:
    h = make_harness(max_processes=2, spare_processes=0)
    for _ in range(4):  # both workers up
        h.finish(_run(h, control_jobs.pid))
    runner = h.mgr._lifecycle.runners["process"]
    paths = [tmp_path / "one", tmp_path / "two"]
    blockers = [_run(h, control_jobs.count_up, str(path)) for path in paths]
    assert h.pump_until(lambda: all(b.is_running() for b in blockers))
    runner.dispatcher.typical = 0.0  # tasks look short: the next one is sent ahead to a busy worker
    queued = _run(h, control_jobs.stamp, "queued")
    worker = queued.handle
    assert worker is not None and worker.next is queued and queued.get_status() == "pending"
    held = worker.task
    assert held.pause()
    # taken back, and (tasks still look short) sent ahead to the other worker at once
    assert worker.next is None and queued.handle is not worker, "the task sent ahead was not taken back"
    other = next(b for b in blockers if b is not held)
    paths[blockers.index(other)].touch()
    assert h.finish(queued).result()[0] == "queued"  # not stuck behind the paused worker
    assert held.is_paused() and not held.is_final()
    held.resume()
    paths[blockers.index(held)].touch()
    assert h.finish(held).result() > 0 and h.finish(other).result() > 0
    assert h.pump_until(lambda: not worker.skipping), "the skipped task never came back"
    assert h.finish(_run(h, control_jobs.stamp, "after")).result()[0] == "after"


def test_cancel_continues_a_paused_worker_so_the_function_sees_it(make_harness: Any) -> None:
    h = make_harness(cancel_grace_period=30.0)
    task = _run(h, control_jobs.count_up)
    pid = _running(h, task)
    task.pause()
    assert wait_for(lambda: proc_stat(pid)[0] == "T")
    task.cancel()
    assert h.finish(task).get_status() == "canceled"  # long before the 30 s grace: it stopped by itself
    assert h.finish(_run(h, control_jobs.pid)).result() == pid, "its worker was kept"


def test_shutdown_ends_a_paused_process_task(make_harness: Any) -> None:
    h = make_harness()
    task = _run(h, control_jobs.spin, 60.0)
    pid = _running(h, task)
    task.pause()
    assert wait_for(lambda: proc_stat(pid)[0] == "T")
    h.mgr.shutdown(timeout=0.5)
    h.scheduler.pump()
    assert task.get_status() == "canceled" and not task.is_paused()
    assert not os.path.exists(f"/proc/{pid}") or proc_stat(pid)[0] in "ZX"  # (the fixture checks too)


def test_a_paused_queued_task_waits_without_holding_a_worker(make_harness: Any, tmp_path: Path) -> None:
    h = make_harness(max_processes=1, spare_processes=0)
    gate = tmp_path / "open"
    first = _run(h, control_jobs.wait_gate, str(gate))
    held = _run(h, control_jobs.stamp, "held")
    after = _run(h, control_jobs.stamp, "after")
    assert held.pause() and held.get_status() == "pending"
    gate.touch()
    assert h.finish(after).result()[0] == "after"  # went past the paused task
    assert held.get_status() == "pending" and held.is_paused()
    assert held.resume()
    assert h.finish(held).result()[0] == "held"
    h.finish(first)


def test_paused_time_does_not_count_towards_a_process_timeout(make_harness: Any) -> None:
    from tasker.testing import FakeClock

    clock = FakeClock()
    h = make_harness(clock=clock, cancel_grace_period=30.0)
    task = _run(h, control_jobs.count_up, timeout=1.0)
    pid = _running(h, task)
    task.pause()
    assert wait_for(lambda: proc_stat(pid)[0] == "T")
    clock.advance(10.0)
    assert not task.is_cancelled() and proc_stat(pid)[0] == "T"
    task.resume()
    clock.advance(1.0)
    assert h.finish(task).get_status() == "failed" and isinstance(task.exception(), TaskTimeoutError)


def test_pause_and_resume_race_to_the_last_state(make_harness: Any) -> None:
    h = make_harness()
    task = _run(h, control_jobs.count_up)
    pid = _running(h, task)
    threads = [threading.Thread(target=task.pause if i % 2 else task.resume) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    task.resume()
    assert wait_for(lambda: proc_stat(pid)[0] != "T"), "resumed, yet its worker stayed stopped"
    task.pause()
    assert wait_for(lambda: proc_stat(pid)[0] == "T")
    task.cancel()
    assert h.finish(task).get_status() == "canceled"
