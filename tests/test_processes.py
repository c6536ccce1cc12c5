"""SPEC §5: the worker pool — start-up, shipping functions, healing, payloads, logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import control_jobs
import jobs
from conftest import FREED_LATER_WITHOUT_GIL, Harness, children, memfd_maps

pytestmark = pytest.mark.timeout(60)


def test_no_main_guard_script_runs_lambda_and_main_is_not_rerun(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(
        textwrap.dedent(
            """
            import os
            from tasker import task_mgr
            print("MAIN RAN in", os.getpid(), flush=True)
            factor = 3
            def nested_factory():
                def inner(ctx, x):
                    return x * factor
                return inner
            t1 = task_mgr.run_process(lambda ctx, x: x + 1, 41)
            t2 = task_mgr.run_process(nested_factory(), 5)
            assert task_mgr.wait_until_settled(30)
            print("RESULTS", t1.result(), t2.result(), flush=True)
            """
        )
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("MAIN RAN") == 1, out.stdout
    assert "RESULTS 42 15" in out.stdout


def test_import_starts_nothing_and_first_process_starts_pool(harness: Harness) -> None:
    before = children()
    assert not harness.mgr._lifecycle.runners
    task = harness.start("process", "pid")
    harness.finish(task)
    assert task.result() in children() - before


def test_pool_is_warm_and_bounded(make_harness, tmp_path) -> None:
    h = make_harness(max_processes=2, spare_processes=1)
    gate = tmp_path / "open"  # (a gate, not a sleep: the second worker may start late on a loaded machine)
    tasks = [h.mgr.run_process(control_jobs.wait_gate, str(gate), when_done=h.when_done) for _ in range(6)]
    assert h.pump_until(lambda: sum(t.is_running() for t in tasks) == 2)
    assert sum(t.get_status() == "pending" for t in tasks) == 4
    gate.touch()
    assert h.pump_until(lambda: all(t.is_final() for t in tasks), 30)
    assert [t.result() for t in tasks] == ["through"] * 6
    pids = {h.finish(h.start("process", "pid")).result() for _ in range(6)}
    assert len(pids) <= 2, "the same warm workers are reused"
    assert len(h.mgr._lifecycle.runners["process"].workers) <= 3


def test_worker_initializer_runs_in_every_worker(make_harness) -> None:
    h = make_harness(max_processes=2, worker_initializer=jobs.initializer, worker_initargs=("ready",))
    tasks = [h.start("process", "read_init") for _ in range(4)]
    assert h.pump_until(lambda: all(t.is_final() for t in tasks))
    assert {t.result() for t in tasks} == {"ready"}
    assert "TASKER_TEST_INIT" not in os.environ


def test_failing_initializer_fails_tasks_clearly(make_harness) -> None:
    h = make_harness(worker_initializer=jobs.fail, worker_initargs=(ValueError("no plugin"),))
    task = h.start("process", "ok")
    h.finish(task)
    assert "worker_initializer failed" in str(task.exception())


def test_restart_worker_pool_replaces_workers(harness: Harness) -> None:
    first = harness.finish(harness.start("process", "pid")).result()
    harness.mgr.restart_worker_pool()
    second = harness.finish(harness.start("process", "pid")).result()
    assert first != second
    assert harness.pump_until(lambda: first not in children(), 10)


def test_dead_worker_replaced_by_warm_spare(make_harness) -> None:
    h = make_harness(max_processes=1, spare_processes=1)
    h.finish(h.start("process", "ok"))
    runner = h.mgr._lifecycle.runners["process"]
    assert h.pump_until(lambda: len(runner.idle) == 2), "one worker and one spare, warm"
    spare_pids = {w.proc.pid for w in runner.idle}
    dead = h.finish(h.start("process", "die", 9))
    assert "code 9" in str(dead.exception())
    survivor = h.finish(h.start("process", "pid")).result()
    assert survivor in spare_pids, "the next task ran on the warm spare"


def test_non_cooperative_process_is_killed_after_grace(make_harness) -> None:
    h = make_harness(max_processes=1, cancel_grace_period=0.0)
    stuck = h.start("process", "stuck", 60)
    # Started in the worker, not only dispatched (a task canceled before it starts is skipped there).
    assert h.pump_until(lambda: stuck.get_message() == "stuck")
    stuck_pid = stuck.handle.proc.pid
    stuck.cancel()
    h.finish(stuck)
    assert stuck.get_status() == "canceled"
    assert h.finish(h.start("process", "ok", 1)).result() == 2
    assert h.pump_until(lambda: stuck_pid not in children(), 10)


def test_worker_logs_reach_parent_logging(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tests.worker"):
        task = harness.finish(harness.start("process", "log_something", "hello"))
    records = [r for r in caplog.records if r.name == "tests.worker"]
    assert records and records[0].getMessage() == "from worker: hello"
    assert records[0].processName.startswith("tasker-worker-")
    assert records[0].process == task.result()


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def _wait_warm(h: Harness) -> None:
    from tasker.runners.process._worker import WorkerState

    runner = h.mgr._lifecycle.runners["process"]
    assert h.pump_until(lambda: all(w.state is WorkerState.READY for w in runner.workers)), "never warm"


@FREED_LATER_WITHOUT_GIL
@pytest.mark.parametrize("job", ["big_array", "big_bytes"])
def test_large_results_travel_through_shared_memory(harness: Harness, job: str) -> None:
    pytest.importorskip("numpy")
    size = 8 << 20
    harness.finish(harness.start("process", "ok"))  # warm up the pool
    _wait_warm(harness)  # the spare started meanwhile has its socket and flags by now
    fds = _fd_count()
    task = harness.finish(harness.start("process", job, size))
    value = task.result()
    assert len(value) * (8 if job == "big_array" else 1) == size
    if job == "big_array":
        assert value[-1] == size // 8 - 1
        assert memfd_maps() >= 1, "the array maps the worker's memory, no copy"
    else:
        assert value[:3] == b"\x00\x01\x02"
    del value, task
    harness.done.clear()
    harness.updates.clear()
    import gc

    gc.collect()
    harness.scheduler.pump()
    assert memfd_maps() == 0, "no shared segment outlives its use"
    assert _fd_count() <= fds


def test_large_event_payload(harness: Harness) -> None:
    got: list[int] = []
    task = harness.start("process", "event_big", 3 << 20, when_event=lambda t, n, data: got.append(len(data)))
    harness.finish(task)
    harness.settle()
    assert got == [3 << 20]
    assert memfd_maps() == 0


def test_cancel_flag_reaches_worker_without_round_trip(harness: Harness) -> None:
    task = harness.start("process", "until_canceled")
    assert harness.pump_until(task.is_running)
    worker = task.handle
    task.cancel()
    assert worker.flags[0] == 1, "the flag is shared memory the worker reads"
    harness.finish(task)
    assert task.get_status() == "canceled"


def test_queued_large_argument_is_released_when_canceled(make_harness) -> None:
    h = make_harness(max_processes=1, spare_processes=0)
    blocker = h.start("process", "until_canceled")
    assert h.pump_until(blocker.is_running)
    fds = _fd_count()
    queued = h.start("process", "ok", b"x" * (2 << 20))  # a big argument: shared memory, an fd
    assert _fd_count() == fds + 1
    queued.cancel()
    h.finish(queued)
    del queued
    h.done.clear()
    h.updates.clear()
    import gc

    gc.collect()
    assert _fd_count() == fds, "the queued call's shared memory is released"
    blocker.cancel()
    h.finish(blocker)


@pytest.mark.parametrize("by_value", [False, True])
def test_big_buffers_go_out_of_band(by_value: bool) -> None:
    np = pytest.importorskip("numpy")
    from tasker.runners._remote import _payload

    big = b"y" * (1 << 20)
    for value in (big, bytearray(big), np.ones(1 << 18), {"blob": big}, ("R", 1, [big], 0.5, None)):
        data, fds = _payload.dumps(value, by_value=by_value)
        assert len(fds) == 1 and len(data) < 1000, type(value)
        back = _payload.loads(data, fds)
        if isinstance(value, np.ndarray):
            assert (back == value).all()
        else:
            assert back == value
    small_data, small_fds = _payload.dumps(b"z" * 1000)
    assert small_fds == [] and _payload.loads(small_data, []) == b"z" * 1000


def test_cancel_flag_is_written_under_the_pool_lock(harness: Harness) -> None:
    """The flag write and the check that the worker still runs this task are atomic.

    Otherwise a cancel racing with the task's end could flag the worker's next task.
    """
    task = harness.start("process", "until_canceled")
    assert harness.pump_until(task.is_running)
    runner = harness.mgr._lifecycle.runners["process"]
    worker = task.handle
    real = worker.flags
    writes: list[bool] = []

    class Spy:
        def __getitem__(self, index: int) -> int:
            return real[index]

        def __setitem__(self, index: int, value: int) -> None:
            writes.append(runner.lock.locked())
            real[index] = value

    worker.flags = Spy()
    try:
        task.cancel()
    finally:
        worker.flags = real
    assert writes == [True]
    harness.finish(task)


def _force_prefetch(h: Harness) -> None:
    """Make the pool believe tasks are short, so it sends the next task ahead."""
    runner = h.mgr._lifecycle.runners["process"]
    runner.dispatcher.typical = 0.0


def test_task_sent_ahead_then_canceled_never_runs(make_harness, tmp_path) -> None:
    h = make_harness(max_processes=1, spare_processes=0)
    h.finish(h.start("process", "ok"))
    _force_prefetch(h)
    runner = h.mgr._lifecycle.runners["process"]
    blocker = h.start("process", "until_canceled")
    assert h.pump_until(blocker.is_running)
    _force_prefetch(h)
    trace = tmp_path / "ran"
    queued = h.start("process", "touch", str(trace))
    worker = blocker.handle
    assert worker.next is queued and queued.get_status() == "pending", "sent ahead, still pending"
    queued.cancel()
    assert queued.get_status() == "canceled"
    blocker.cancel()
    h.finish(blocker)
    after = h.finish(h.start("process", "ok", 4))
    assert after.result() == 8
    assert not trace.exists(), "a task canceled while pending never runs"
    assert not runner.pending and worker.next is None


def test_task_sent_ahead_goes_elsewhere_when_its_worker_dies(make_harness) -> None:
    h = make_harness(max_processes=1, spare_processes=1)
    h.finish(h.start("process", "ok"))
    doomed = h.start("process", "die_later", 0.3)
    assert h.pump_until(doomed.is_running)
    _force_prefetch(h)
    queued = h.start("process", "ok", 21)
    assert doomed.handle.next is queued
    h.finish(doomed)
    assert "code 5" in str(doomed.exception())
    assert h.finish(queued).result() == 42, "it never ran on the dead worker: it runs on another"


def test_long_tasks_are_not_sent_ahead(make_harness) -> None:
    h = make_harness(max_processes=1, spare_processes=0)
    h.finish(h.start("process", "sleep_then", 0.05))  # a "long" task: 50 ms
    blocker = h.start("process", "until_canceled")
    assert h.pump_until(blocker.is_running)
    queued = h.start("process", "ok", 1)
    assert blocker.handle.next is None and queued.handle is None, "it waits in the pool's queue"
    blocker.cancel()
    assert h.finish(queued).result() == 2


def test_worker_nice_lowers_worker_priority(make_harness) -> None:
    import os

    h = make_harness(worker_nice=7)
    assert h.finish(h.start("process", "niceness")).result() == os.nice(0) + 7
    with pytest.raises(ValueError, match="worker_nice"):
        make_harness(worker_nice=-1)


def test_worker_nice_applies_from_the_first_task_on_not_to_the_boot_and_imports(make_harness) -> None:
    """Fixed: workers booted at ``worker_nice``, so under load their boot and the first task's
    imports crawled. The initializer and the imports run at the normal priority now; every task
    runs lowered, once (``os.nice`` adds up: a second task must not be lowered again)."""
    import os

    import nice_probe

    normal = os.nice(0)
    lowered = min(19, normal + 7)
    h = make_harness(worker_nice=7, max_processes=1, spare_processes=0, worker_initializer=nice_probe.note_boot)
    first = h.finish(h.mgr.run_process(nice_probe.priorities, when_done=h.when_done)).result()
    assert first == (normal, normal, lowered), "(initializer, import, task) niceness"
    assert h.finish(h.mgr.run_process(nice_probe.priorities, when_done=h.when_done)).result() == first


def test_a_fresh_spare_is_the_last_choice(make_harness) -> None:
    """Fixed: the warm spare, started after the first worker, took the next task and paid the
    app's module imports (~10 ms) although the worker that had run tasks was idle."""
    h = make_harness(max_processes=1, spare_processes=1)
    first = h.finish(h.start("process", "pid"))
    runner = h.mgr._lifecycle.runners["process"]
    assert h.pump_until(lambda: sum(w.state.name == "READY" for w in runner.workers) == 2), "the spare never came up"
    for _ in range(3):
        assert h.finish(h.start("process", "pid")).result() == first.result()


def test_a_new_worker_imports_the_modules_tasks_used_before_it_is_ready(make_harness) -> None:
    """A spare (or a replacement) is warm: the next task on it imports nothing new."""
    h = make_harness(max_processes=1, spare_processes=1)
    h.finish(h.start("process", "ok", 1))  # jobs is now a module the pool has used
    died = h.finish(h.start("process", "die", 3))
    assert died.get_status() == "failed"
    # The spare takes the next task (a function of another module): it imported
    # `jobs` before it reported ready, though it never ran a task of `jobs`.
    import probe_jobs

    probe = h.mgr.run_process(probe_jobs.loaded, "jobs", when_done=h.when_done)
    assert h.finish(probe).result() is True


def test_shutdown_while_a_new_worker_is_not_started_yet(make_harness) -> None:
    """A reader thread grows the pool (after a death), then reaps its dead worker before
    it starts the new one: a shutdown in between must neither join that thread nor let
    it start later (it raised "cannot join thread before it is started")."""
    from tasker.runners.process._worker import Worker

    h = make_harness(max_processes=1, spare_processes=0)
    h.finish(h.start("process", "ok"))
    runner = h.mgr._lifecycle.runners["process"]
    with runner.lock:  # what _grow_locked hands back, to be started once the lock is released
        new = Worker("tasker-worker-late", runner._serve)
        runner.workers.add(new)
        runner._alive.add(new)
    h.mgr.shutdown(timeout=1.0)
    runner.start_workers([new])  # the reader thread gets there late
    assert new.thread.ident is None and new not in runner._alive
    h.scheduler.pump()
