"""Defects the reliability suite found, each pinned by a deterministic test.

The fault matrix finds them by timing (e.g. ``shutdown()`` taking 5 s); these
tests hold the racing thread at the exact point instead, so each fails every time
the defect it pins is there.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

import pytest

from tasker import TaskManager, TaskTimeoutError
from tasker.runners.process import _pool, _worker
from tasker.schedulers import ManualScheduler

import jobs
from . import rjobs
from conftest import children, tasker_threads, wait_for

pytestmark = pytest.mark.timeout(60)


def test_hub_stopped_while_starting_does_not_run_its_loop() -> None:
    """Fixed: a shutdown while the hub thread was starting left its loop running forever
    (a leaked ``tasker-hub`` thread) and made ``shutdown()`` wait 5 s for it."""
    mgr = TaskManager(main_thread_scheduler=ManualScheduler())
    hub = mgr._lifecycle.runner("coroutine")._hub
    started = hub._on_start

    def stop_during_start(thread_id: int) -> None:
        started(thread_id)
        hub.stop(timeout=0)  # what shutdown() does, landing before the loop is published

    hub._on_start = stop_during_start
    task = mgr.add_coroutine(jobs.a_ok, 1)
    thread = hub._thread
    assert thread is not None
    thread.join(3.0)
    assert not thread.is_alive(), "the hub ran its loop after stop()"
    mgr.shutdown(timeout=1.0)  # nothing left to wait for
    assert task.get_status() == "canceled"


def test_shutdown_while_a_worker_is_being_spawned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed: ``shutdown()`` right after the first ``run_process`` (worker not spawned
    yet) could not kill it; it waited 5 s for the worker's reader, then killed it."""
    before = children()
    mgr = TaskManager(main_thread_scheduler=ManualScheduler(), max_processes=1)
    go = threading.Event()
    real_env = _worker._child_env

    def held_env() -> dict[str, str]:  # the reader, just before it spawns the worker
        assert go.wait(10)
        return real_env()

    monkeypatch.setattr(_worker, "_child_env", held_env)
    task = mgr.run_process(jobs.ok, 1)
    runner = mgr._lifecycle.runners["process"]
    (worker,) = runner.workers
    real_join = worker.thread.join
    joins: list[bool] = []

    def join(timeout: float | None = None) -> None:  # shutdown is past its kill(): spawn now
        go.set()
        # A hang guard, not shutdown's own timeout: the spawn and the kill take what a
        # loaded machine gives them; a worker that was not killed keeps its reader alive.
        real_join(30.0)
        joins.append(worker.thread.is_alive())  # True: the reader outlived the guard

    worker.thread.join = join  # type: ignore[method-assign]
    mgr.shutdown(timeout=1.0)
    assert task.get_status() == "canceled"
    assert joins == [False], "the reader outlived its worker's kill (the worker was not killed)"
    assert children() <= before


def test_shutdown_waits_for_a_worker_whose_spawn_outlasts_its_join(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed: ``shutdown()`` waited ``JOIN_TIMEOUT_S`` for the reader of a worker still
    being spawned, then returned: on a loaded machine (Windows under Wine: seconds per
    spawn) the worker was started after ``shutdown()`` had returned, and its reader ran on."""
    before = children()
    mgr = TaskManager(main_thread_scheduler=ManualScheduler(), max_processes=1)
    gave_up = threading.Event()
    real_env, real_join = _worker._child_env, _pool._join_reader

    def held_env() -> dict[str, str]:  # the reader, just before it spawns the worker
        assert gave_up.wait(30)
        return real_env()

    def join_reader(worker: Any) -> None:
        real_join(worker)  # gives up (the spawn is held): then the spawn goes on
        gave_up.set()

    monkeypatch.setattr(_worker, "_child_env", held_env)
    monkeypatch.setattr(_pool, "_join_reader", join_reader)
    monkeypatch.setattr(_pool, "JOIN_TIMEOUT_S", 0.05)
    task = mgr.run_process(jobs.ok, 1)
    mgr.shutdown(timeout=1.0)
    assert gave_up.is_set()
    left = [t.name for t in tasker_threads() if t.name.endswith("-reader")]
    assert left == [], f"a reader still spawning its worker outlived shutdown(): {left}"
    assert children() <= before
    assert task.get_status() == "canceled"


def test_a_reader_is_started_under_the_pools_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed: a worker's reader was started just after the pool's lock was released: a
    ``shutdown()`` in between saw a reader not started yet, did not join it, and the reader
    then spawned its worker after ``shutdown()`` had returned. Under the lock, shutdown
    sees every reader either started (and joins it) or never to be started."""
    mgr = TaskManager(main_thread_scheduler=ManualScheduler(), max_processes=1, spare_processes=1)
    held: list[bool] = []
    real_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        if thread.name.endswith("-reader"):  # its target: the pool's bound _serve
            held.append(thread._target.__self__.lock.locked())  # type: ignore[attr-defined]
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    try:
        mgr.run_process(jobs.ok, 1)  # the first worker's reader starts here
    finally:
        mgr.shutdown(timeout=1.0)
    assert held and all(held), f"readers started outside the pool's lock: {held}"


@pytest.mark.parametrize("job", ["one_way_result", "one_way_event"])
def test_message_the_parent_cannot_unpickle(job: str) -> None:
    """Fixed: a result or event that pickles in the worker but cannot be rebuilt in
    the parent stalled the reader 2 s, then failed the task with a misleading
    ``WorkerDiedError`` ("killed by SIGKILL ... out-of-memory killer")."""
    scheduler = ManualScheduler()
    mgr = TaskManager(main_thread_scheduler=scheduler, max_processes=1)
    try:
        # Each round replaces the worker: on Windows (under Wine) a new interpreter
        # takes seconds to boot, so fewer rounds keep the test inside its timeout.
        for round_ in range(3 if sys.platform == "win32" else 10):
            task = mgr.run_process(rjobs.SYNC[job])
            assert scheduler.pump_until(task.is_final, 20)
            error = task.exception()
            assert task.get_status() == "failed"
            assert "could not be unpickled" in str(error), repr(error)
            assert "cannot be rebuilt" in str(error), "the cause is named"
            assert "SIGKILL" not in str(error)  # not the reader's 2 s stall, then a kill
            # The worker is replaced. Fixed too: the result it could still send after
            # an unloadable event made it idle again, and the next task went to it.
            nxt = mgr.run_process(jobs.ok, round_)
            assert scheduler.pump_until(nxt.is_final, 20)
            assert nxt.exception() is None and nxt.result() == 2 * round_
    finally:
        mgr.shutdown(timeout=1.0)


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_cancel_then_timeout_ends_canceled(kind: str) -> None:
    """Fixed: a task canceled by the user whose timeout passed while it was still
    stopping ended ``failed`` with ``TaskTimeoutError`` instead of ``canceled``."""
    scheduler = ManualScheduler()
    mgr = TaskManager(main_thread_scheduler=scheduler, cancel_grace_period=0.6)
    start: Any = mgr.run_thread if kind == "thread" else mgr.run_process
    try:
        warm = start(jobs.ok, 1)
        assert scheduler.pump_until(warm.is_final, 20)
        task = start(jobs.stuck, 5.0, timeout=0.3)
        assert scheduler.pump_until(task.is_running, 20)
        task.cancel()
        assert scheduler.pump_until(task.is_final, 20)
        assert not isinstance(task.exception(), TaskTimeoutError)
        assert task.get_status() == "canceled"
    finally:
        jobs.RELEASE.set()
        mgr.shutdown(timeout=1.0)


def test_worker_death_is_seen_although_a_process_it_started_lives_on() -> None:
    """Fixed: the worker's socket to the parent (and its lifeline) were inheritable in
    the worker, so a process a task started (``os.system``, ``Popen(close_fds=False)``)
    kept the parent's channel open: when the worker died the parent saw no EOF and
    the task stayed 'running' as long as that process lived (and it could have
    written to the parent's channel)."""
    scheduler = ManualScheduler()
    mgr = TaskManager(main_thread_scheduler=scheduler, max_processes=1)
    grandchildren: list[int] = []
    try:
        task = mgr.run_process(rjobs.spawn_then_die, 30.0, when_event=lambda t, name, pid: grandchildren.append(pid))
        assert scheduler.pump_until(task.is_final, 5.0), "the worker's death was not noticed"
        assert task.get_status() == "failed" and "exited with code 3" in str(task.exception())
    finally:
        scheduler.pump_until(lambda: bool(grandchildren), 5.0)
        for pid in grandchildren:
            os.kill(pid, signal.SIGKILL)
        mgr.shutdown(timeout=1.0)


def test_shutdown_waits_for_workers_that_left_the_pool() -> None:
    """Fixed: ``shutdown()`` waited only for the workers still in the pool; workers
    retired by ``restart_worker_pool()`` (or replaced after a cancel) could still be
    exiting, their reader threads still running, when ``shutdown()`` returned."""
    before = children()
    scheduler = ManualScheduler()
    mgr = TaskManager(main_thread_scheduler=scheduler, max_processes=2)
    tasks = [mgr.run_process(jobs.ok, i) for i in range(4)]
    assert scheduler.pump_until(lambda: all(t.is_final() for t in tasks), 20)
    runner = mgr._lifecycle.runners["process"]
    assert scheduler.pump_until(lambda: sum(w.state.name == "READY" for w in runner.workers) == 3, 20)
    mgr.restart_worker_pool()  # the three idle workers are told to stop
    mgr.shutdown(timeout=1.0)
    left = [t.name for t in tasker_threads() if t.name.endswith("-reader")]
    assert left == [], f"reader threads still running after shutdown(): {left}"
    assert children() <= before


def test_received_shared_memory_is_closed_when_the_peer_dies_mid_message() -> None:
    """Fixed: descriptors received with a message whose sender died before the
    rest of it arrived (a worker SIGKILLed while sending a large result) were never
    closed: the shared memory leaked, and the descriptors, received without
    close-on-exec, were inherited by any process the application started."""
    import socket

    from tasker._platform import _wire
    from tasker.runners._remote import _payload

    def memfds() -> int:  # payload segments: memfd (linux), /dev/shm (posix)
        return sum("tasker-payload" in os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
                   if os.path.exists(f"/proc/self/fd/{fd}"))

    before = memfds()
    a, b = socket.socketpair()
    with a, b:
        data, fds = _payload.dumps(b"x" * (2 << 20))  # one payload segment
        assert len(fds) == 1
        header = _wire.HEADER.pack(len(data) + 100, len(fds))  # more body than will come
        a.sendmsg([header], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, __import__("array").array("i", fds))])
        a.sendall(data)
        _payload.close_fds(fds)
        a.shutdown(socket.SHUT_WR)  # the sender "dies" mid-message
        with pytest.raises(EOFError):
            _wire.recv(b)
    assert memfds() == before, "the received memfd leaked"
    a, b = socket.socketpair()
    with a, b:
        data, fds = _payload.dumps(b"y" * (2 << 20))
        _wire.send(a, data, fds)
        _payload.close_fds(fds)
        _, got = _wire.recv(b)
        assert [os.get_inheritable(fd) for fd in got] == [False], "received fds are close-on-exec"
        _payload.close_fds(got)


def test_the_first_coroutine_tasks_are_not_kept_alive_by_the_hub() -> None:
    """Fixed: the hub thread's start-up loop kept the first coroutine task(s) in its
    frame's variables for as long as the loop ran (their results with them)."""
    import gc
    import weakref

    scheduler = ManualScheduler()
    mgr = TaskManager(main_thread_scheduler=scheduler)
    try:
        task = mgr.add_coroutine(jobs.a_ok, 1)
        assert scheduler.pump_until(task.is_final, 20)
        scheduler.pump()
        ref = weakref.ref(task)
        del task
        gc.collect()
        assert ref() is None, "the first coroutine task outlived its use"
    finally:
        mgr.shutdown(timeout=1.0)


@pytest.mark.parametrize("kind", ["thread", "coroutine", "process"])
def test_never_settled_between_a_tasks_ending_and_its_when_done_being_queued(
    make_rh: Any, kind: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread that ends a task makes it final and queues its ``when_done`` under the
    lifecycle's lock; ``wait_until_settled`` read the live tasks and the delivery queue
    without that lock, so between the two it could answer "settled" with the
    ``when_done`` still to come (met on free-threaded CPython: the state machine saw a
    failed task left in the last ``tasks_updated``). The ending thread is held right
    there, and the question asked from another thread."""
    h = make_rh()
    gate = tmp_path / "gate"
    if kind == "coroutine":
        task = h.mgr.add_coroutine(rjobs.a_gated, str(gate), "fail", 7, when_done=h.when_done)
    else:
        start = h.mgr.run_thread if kind == "thread" else h.mgr.run_process
        task = start(rjobs.gated, str(gate), "fail", 7, when_done=h.when_done)
    delivery = h.mgr._lifecycle.delivery
    # Running, its 0.5 shown, nothing queued: the ending ("fail": no change before it) is
    # then the only thing between the manager and "settled".
    assert h.pump_until(lambda: task.get_progress() == 0.5 and delivery.is_idle(), 60)
    reached, proceed = threading.Event(), threading.Event()
    ending = delivery.ending_unposted

    def held_ending(fn: Any, *args: Any, show: bool = True) -> bool:
        reached.set()
        proceed.wait(30)
        return ending(fn, *args, show=show)

    monkeypatch.setattr(delivery, "ending_unposted", held_ending)
    gate.touch()
    assert reached.wait(60), "the task never ended"
    assert task.is_final()  # what any thread sees from here on
    answers: list[bool] = []
    asker = threading.Thread(target=lambda: answers.append(h.mgr.wait_until_settled(0)))
    asker.start()
    asker.join(2.0)  # (a hang guard only: with the lock, the answer waits for the ending)
    proceed.set()
    asker.join(30)
    assert answers == [False], "settled while the task's when_done was not queued yet"
    h.finish(task)
    assert h.done.count(task) == 1 and task.get_status() == "failed"


def test_shutdown_goes_on_when_a_killed_worker_is_slow_to_exit(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Fixed: on a saturated machine a killed worker (one booting under ``SCHED_IDLE``
    above all) may not have exited by the end of shutdown's bounded wait, and
    ``shutdown()`` raised ``subprocess.TimeoutExpired`` into the app's quit."""
    import subprocess

    scheduler = ManualScheduler()
    mgr = TaskManager(main_thread_scheduler=scheduler, max_processes=1)
    task = mgr.run_process(jobs.stuck, 30.0)
    assert scheduler.pump_until(task.is_running, 20)
    runner = mgr._lifecycle.runners["process"]
    (worker,) = [w for w in runner.workers if w.task is task]  # not the spare
    proc = worker.proc
    real_wait, real_poll = proc.wait, proc.poll
    here = threading.current_thread()  # shutdown's thread; the reader keeps the real calls

    def slow_wait(timeout: float | None = None) -> int:
        if threading.current_thread() is not here:
            return real_wait(timeout)
        raise subprocess.TimeoutExpired(worker.command, timeout or 0.0)

    def poll() -> int | None:  # as if the kill had not landed yet
        return None if threading.current_thread() is here else real_poll()

    # The canceled task's worker is killed when shutdown's 1 s wait ends, before the runners
    # are shut down; its reader (real calls) may then reap it and drop it from the pool
    # before the process runner's shutdown takes its list of live workers, and that
    # shutdown never meets it (on free-threaded CPython, about one run in two). On a
    # saturated machine the reader is still waiting for the worker to go: so here it
    # drops the worker only once the runner's shutdown has begun.
    real_forget = runner.forget

    def forget(gone: Any) -> None:
        if gone is worker:
            assert wait_for(lambda: runner.closed), "the runner's shutdown never began"
        real_forget(gone)

    monkeypatch.setattr(proc, "poll", poll)
    monkeypatch.setattr(proc, "wait", slow_wait)
    monkeypatch.setattr(runner, "forget", forget)
    try:
        with caplog.at_level("WARNING", logger="tasker"):
            mgr.shutdown(timeout=1.0)  # raised TimeoutExpired before
        assert task.get_status() == "canceled"
        assert any("had not exited" in r.getMessage() for r in caplog.records), caplog.text
    finally:
        jobs.RELEASE.set()
        monkeypatch.undo()
        if real_poll() is None:  # killed: reaped by its reader, or here (a hang guard)
            real_wait(30.0)
