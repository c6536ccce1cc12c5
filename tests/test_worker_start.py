"""A worker that cannot start fails the waiting work, clearly and cheaply.

Each launch that fails (the interpreter is missing, it exits before its
handshake, the platform has no ``AF_UNIX``, the app has no file descriptor
left) is followed by a pause that doubles (on the manager's ``FakeClock``: the
test moves time), and after ``LAUNCH_ATTEMPTS`` in a row the waiting process
task fails with ``WorkerStartError`` naming the cause and the command; one
traceback is logged, once; the next ``run_process`` tries again.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import launch_driver
from tasker import WorkerStartError, _platform
from tasker.runners.process._launch import LAUNCH_ATTEMPTS, LAUNCH_BACKOFF_MAX_S, LAUNCH_BACKOFF_S, LaunchGuard
from tasker.runners.process._worker import Worker
from tasker.testing import FakeClock

from conftest import Harness

pytestmark = pytest.mark.timeout(120)

HERE = Path(__file__).parent
MISSING = "/nonexistent/tasker-python3"


@pytest.fixture
def launches() -> Iterator[launch_driver.Launches]:
    counting = launch_driver.Launches()
    yield counting
    counting.restore()


def break_launches(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    if how == "missing-interpreter":
        monkeypatch.setattr(sys, "executable", MISSING)
    elif how == "exits-before-ready":
        monkeypatch.setattr(sys, "executable", "/bin/false")
    else:
        monkeypatch.delattr(socket, "AF_UNIX")


EXPECTED = {  # what the error names: (its message contains, the command's first word, __cause__)
    "missing-interpreter": (["FileNotFoundError", MISSING], MISSING, "FileNotFoundError"),
    "exits-before-ready": (["exited with code 1 before it was ready", "/bin/false"], "/bin/false", None),
    "no-af-unix": (["AttributeError", "AF_UNIX", "not built yet"], None, "AttributeError"),
}


@pytest.mark.parametrize("how", list(EXPECTED))
def test_launches_back_off_then_the_waiting_task_fails_with_the_cause_and_the_command(
    make_harness, launches: launch_driver.Launches, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, how: str,
) -> None:  # fmt: skip
    clock = FakeClock()
    h: Harness = make_harness(clock=clock, max_processes=1, spare_processes=0)
    caplog.set_level(logging.DEBUG, logger="tasker")
    with monkeypatch.context() as broken:
        break_launches(broken, how)
        task = h.start("process", "ok", 21)
        seen = launch_driver.drive_to_failure(clock, launches, task)
    assert seen["made"] == LAUNCH_ATTEMPTS, seen
    assert seen["status"] == "failed" and seen["error"] == "WorkerStartError", seen
    words, command, cause = EXPECTED[how]
    for word in words:
        assert word in seen["message"], seen
    assert (seen["command"][0] if seen["command"] else None) == command, seen
    assert seen["cause"] == cause, seen
    assert isinstance(task.exception(), WorkerStartError)
    tasker_records = [r for r in caplog.records if r.name == "tasker"]
    errors = [r for r in tasker_records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "no worker process could be started" in errors[0].getMessage()
    assert sum(r.exc_info is not None for r in tasker_records) == (1 if cause else 0)
    assert sum(r.levelno == logging.WARNING for r in tasker_records) == 1  # the first failure only

    # The next run_process tries again (and the launches work again).
    again = h.start("process", "ok", 21)
    assert h.finish(again).result() == 42
    assert launches.made == LAUNCH_ATTEMPTS + 1


def test_every_task_waiting_fails_and_a_late_one_starts_a_fresh_series(
    make_harness, launches: launch_driver.Launches, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    h: Harness = make_harness(clock=clock, max_processes=2, spare_processes=0)
    monkeypatch.setattr(sys, "executable", MISSING)
    gate = threading.Event()  # no launch before every task is queued (two workers are made then)
    real_start = Worker.start_process

    def gated(worker: Worker, lifeline_fd: int) -> None:
        assert gate.wait(launch_driver.BOUND)
        real_start(worker, lifeline_fd)

    monkeypatch.setattr(Worker, "start_process", gated)
    tasks = [h.start("process", "ok", n) for n in range(5)]
    gate.set()
    # Two workers per attempt fail together: the first failure of an attempt counts.
    launches.wait_ended(2)
    assert launches.made == 2
    clock.advance(0.1)
    launches.wait_ended(4)
    clock.advance(0.2)
    launches.wait_ended(6)
    for task in tasks:
        assert task.wait(launch_driver.BOUND) and isinstance(task.exception(), WorkerStartError)
    assert launches.made == 6  # LAUNCH_ATTEMPTS attempts of 2
    late = h.start("process", "ok", 1)
    assert launches.made == 7  # at once (one worker for one task): a new series, no backoff left over
    launches.wait_ended(7)
    assert not late.is_final()
    clock.advance(0.1)
    assert launches.made == 8


def test_a_launch_failure_beside_a_running_worker_never_fails_the_queue(
    make_harness, launches: launch_driver.Launches, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some worker is up: it serves the queue while the pool keeps trying, backed off.

    Each step moves the clock by the pending backoff exactly, not past it: the relaunched
    worker fails on its reader thread, maybe while ``advance`` is still running timers, and
    its own backoff timer must not be due within the same ``advance`` (it was, with a step
    of 10 s: one extra launch when the failure beat the end of ``advance``, under load).
    """
    clock = FakeClock()
    h: Harness = make_harness(clock=clock, max_processes=2, spare_processes=0)
    first = h.start("process", "stuck", 60)
    assert h.pump_until(lambda: first.get_message() == "stuck")
    monkeypatch.setattr(sys, "executable", MISSING)
    queued = h.start("process", "ok", 21)  # a second worker is launched for it, and fails
    for attempt in range(1, LAUNCH_ATTEMPTS + 2):  # one more than would fail a queue alone
        if attempt > 1:  # the backoff after attempt - 1 failures: it relaunches at the end of the step
            clock.advance(min(LAUNCH_BACKOFF_S * 2 ** (attempt - 2), LAUNCH_BACKOFF_MAX_S))
        launches.wait_ended(attempt)
        assert not queued.is_final()
    assert launches.made == 1 + LAUNCH_ATTEMPTS + 1
    monkeypatch.undo()
    clock.advance(10.0)  # the next attempt works
    assert h.finish(queued).result() == 42
    first.cancel()
    clock.advance(10.0)  # its grace period: killed
    h.finish(first)


def test_an_app_out_of_file_descriptors_gets_a_clear_error_then_works_again(tmp_path: Path) -> None:
    env = dict(os.environ)
    root = str(Path(__import__("tasker").__file__).parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, str(HERE / "launch_emfile_app.py")], env=env, capture_output=True, text=True, timeout=90
    )
    output = done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and len(lines) == 1, output
    seen = json.loads(lines[0][len("RESULT ") :])
    assert seen["made"] == LAUNCH_ATTEMPTS and seen["error"] == "WorkerStartError", seen
    assert "Too many open files" in seen["message"] and seen["cause"] == "OSError", seen
    assert seen["again"] == 42 and seen["made_in_all"] == LAUNCH_ATTEMPTS + 1, seen
    assert output.count("Traceback") == 1, output  # the one logged with the error


def test_a_worker_killed_before_its_handshake_is_replaced_at_once(
    make_harness, launches: launch_driver.Launches, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL from outside (the OOM killer, a user) is no failed launch: no pause, no WorkerStartError."""
    clock = FakeClock()  # never advanced: a backoff would hold the task for good
    h: Harness = make_harness(clock=clock, max_processes=1, spare_processes=0)
    real_start = Worker.start_process
    doomed = LAUNCH_ATTEMPTS + 1

    def killed_at_start(worker: Worker, lifeline_fd: int) -> None:
        real_start(worker, lifeline_fd)
        if int(worker.name.rsplit("-", 1)[1]) <= doomed:
            worker.kill()  # before it is sent its start-up data: it cannot be ready yet

    monkeypatch.setattr(Worker, "start_process", killed_at_start)
    task = h.start("process", "ok", 21)
    assert h.finish(task).result() == 42
    assert launches.made == doomed + 1


def test_a_fault_while_counting_a_failed_launch_still_refills_the_pool(
    make_harness, launches: launch_driver.Launches, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The pool's bookkeeping of a worker that ended before its handshake raises: the worker
    still leaves the pool and a new one serves the waiting task (nothing stays ``pending``)."""
    clock = FakeClock()  # never advanced: only an uncounted launch is retried at once
    h: Harness = make_harness(clock=clock, max_processes=1, spare_processes=0)
    platform = _platform.current()
    monkeypatch.setattr(type(platform), "killed_code", 12345)  # a kill now counts as a failed launch...
    real_start = Worker.start_process

    def killed_first(worker: Worker, lifeline_fd: int) -> None:
        real_start(worker, lifeline_fd)
        if worker.name.endswith("-1"):
            worker.kill()

    def broken(guard: LaunchGuard, worker: Worker) -> bool:
        raise RuntimeError("bookkeeping fault")  # ...and counting it fails

    monkeypatch.setattr(Worker, "start_process", killed_first)
    monkeypatch.setattr(LaunchGuard, "failed_locked", broken)
    task = h.start("process", "ok", 21)
    assert h.finish(task).result() == 42
    assert launches.made == 2
    assert any("counting the failed launch" in r.getMessage() for r in caplog.records), caplog.text
