"""SPEC §6: every bad input gives a clear error, loses nothing, never hangs."""

from __future__ import annotations

import logging
import signal
import threading

import pytest

from tasker import RemoteTaskError, TaskManager, WorkerDiedError
from tasker._core._errors import RemoteTraceback

import jobs
from conftest import Harness

pytestmark = pytest.mark.timeout(60)


async def coro_fn(ctx: object) -> None:
    return None


def plain_fn(ctx: object) -> None:
    return None


def test_add_coroutine_rejects_plain_function(harness: Harness) -> None:
    with pytest.raises(TypeError, match="run_thread\\(\\) or run_process\\(\\)"):
        harness.mgr.add_coroutine(plain_fn)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["run_thread", "run_process"])
def test_sync_runners_reject_coroutine_function(harness: Harness, method: str) -> None:
    with pytest.raises(TypeError, match="use add_coroutine"):
        getattr(harness.mgr, method)(coro_fn)


@pytest.mark.parametrize("method", ["add_coroutine", "run_thread", "run_process"])
def test_non_callable(harness: Harness, method: str) -> None:
    with pytest.raises(TypeError, match="needs a callable"):
        getattr(harness.mgr, method)(42)


@pytest.mark.parametrize("method", ["add_coroutine", "run_thread", "run_process"])
def test_unhashable_key(harness: Harness, method: str) -> None:
    fn = coro_fn if method == "add_coroutine" else plain_fn
    with pytest.raises(TypeError, match="hashable"):
        getattr(harness.mgr, method)(fn, key=["a", "list"])
    assert not harness.mgr.has_tasks()


def test_bad_options() -> None:
    with pytest.raises(TypeError, match="unknown TaskManager option"):
        TaskManager(max_procs=2)
    with pytest.raises(ValueError, match="max_processes"):
        TaskManager(max_processes=0)
    with pytest.raises(ValueError, match="fork"):
        TaskManager(start_method="fork")
    with pytest.raises(ValueError, match="timeout"):
        TaskManager(main_thread_scheduler="manual").run_thread(plain_fn, timeout=-1)


def test_unpicklable_argument_fails_at_the_call_and_pool_goes_on(harness: Harness) -> None:
    with pytest.raises(TypeError, match=r"argument 2 \(lock\) cannot be sent to a worker"):
        harness.mgr.run_process(jobs.ok, 1, threading.Lock())
    with pytest.raises(TypeError, match=r"keyword argument 'x'"):
        harness.mgr.run_process(jobs.ok, x=threading.Lock())
    assert not harness.mgr.has_tasks()
    task = harness.start("process", "ok", 2)
    assert harness.finish(task).result() == 4


def test_unpicklable_function_fails_at_the_call(harness: Harness) -> None:
    lock = threading.Lock()

    def closure(ctx: object) -> object:
        return lock

    with pytest.raises(TypeError, match="the function"):
        harness.mgr.run_process(closure)


def test_unpicklable_result_fails_the_task(harness: Harness) -> None:
    task = harness.start("process", "unpicklable_result")
    harness.finish(task)
    assert task.get_status() == "failed"
    assert "lock" in str(task.exception())
    assert "cannot be sent back" in str(task.exception())
    assert harness.finish(harness.start("process", "ok", 3)).result() == 6


def test_unpicklable_event_fails_the_task(harness: Harness) -> None:
    task = harness.start("process", "unpicklable_event")
    harness.finish(task)
    assert task.get_status() == "failed"
    assert "pickle" in str(task.exception()).lower()


def test_exception_keeps_type_and_remote_traceback(harness: Harness) -> None:
    task = harness.start("process", "raise_custom")
    harness.finish(task)
    error = task.exception()
    assert isinstance(error, jobs.CustomError) and error.code == 7
    assert isinstance(error.__cause__, RemoteTraceback)
    assert "raise_custom" in error.__cause__.tb


def test_exception_that_cannot_be_rebuilt(harness: Harness) -> None:
    task = harness.start("process", "raise_unrebuildable")
    harness.finish(task)
    error = task.exception()
    assert isinstance(error, RemoteTaskError)
    assert "Unrebuildable" in str(error) and "1+2" in str(error)
    assert "raise_unrebuildable" in str(error.__cause__)


@pytest.mark.parametrize(
    ("job", "args", "expect"),
    [
        ("die", (3,), "exited with code 3"),
        ("kill_self", (getattr(signal, "SIGKILL", 9),), "SIGKILL"),  # (no SIGKILL on Windows)
        ("segfault", (), "SIGSEGV"),
    ],
)
def test_worker_death_fails_only_its_task(harness: Harness, job: str, args: tuple[int, ...], expect: str) -> None:
    other = harness.start("process", "sleep_then", 0.5, "fine")
    task = harness.start("process", job, *args)
    harness.finish(task)
    assert isinstance(task.exception(), WorkerDiedError)
    assert expect in str(task.exception())
    assert harness.finish(other).result() == "fine"
    assert harness.finish(harness.start("process", "ok", 5)).result() == 10


def test_callback_that_raises_is_logged(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    def bad_done(task: object) -> None:
        raise RuntimeError("callback bug")

    seen: list[object] = []
    harness.mgr.tasks_updated.connect(lambda *a, **k: 1 / 0, weak=False)
    with caplog.at_level(logging.ERROR, logger="tasker"):
        t1 = harness.mgr.run_thread(jobs.ok, 1, when_done=bad_done)
        t2 = harness.mgr.run_thread(jobs.ok, 2, when_done=seen.append)
        assert harness.pump_until(lambda: t2 in seen)
        harness.settle()
    assert t1.result() == 2 and t2.result() == 4
    assert "callback bug" in caplog.text
    assert "ZeroDivisionError" in caplog.text
    assert harness.updates, "a raising receiver must not stop the others"


def test_calls_after_shutdown_raise(harness: Harness) -> None:
    harness.mgr.shutdown()
    for method, fn in (("run_thread", plain_fn), ("run_process", plain_fn), ("add_coroutine", coro_fn)):
        with pytest.raises(RuntimeError, match="shut down"):
            getattr(harness.mgr, method)(fn)
