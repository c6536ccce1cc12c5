"""Endings never fail: whatever raises while a task ends, it ends once and ``when_done`` runs.

Each fault is made deterministic: a half-imported ``asyncio`` in ``sys.modules``,
an internal error in the ending's decision, a scheduler that refuses callbacks,
a key whose ``__hash__`` breaks, exceptions whose ``__str__``/``__repr__``/
``__reduce__``/``__eq__`` raise. Every kind; no thread may die meanwhile.
"""

from __future__ import annotations

import logging
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tasker import TaskError, TaskManager
from tasker.schedulers import ManualScheduler
from tasker.testing import LeakCheck, shut_down_and_check

import jobs
from conftest import Harness, wait_for


@pytest.fixture
def deaths() -> Iterator[list[str]]:
    """Threads that died of an exception during the test (none may)."""
    died: list[str] = []
    previous = threading.excepthook

    def hook(args: Any) -> None:
        died.append(f"{args.thread.name if args.thread else '?'}: {args.exc_type.__name__}: {args.exc_value}")
        previous(args)

    threading.excepthook = hook
    yield died
    threading.excepthook = previous


def _warm(h: Harness, kind: str) -> None:
    """A first task of ``kind`` has ended: pools, hub and tasker's warm-up import are done."""
    h.finish(h.start(kind, "ok", 1))
    warm = h.mgr._warm_up_thread
    if warm is not None:
        warm.join(30)


def test_a_half_imported_asyncio_does_not_stop_an_ending(harness: Harness, kind: str, deaths: list[str]) -> None:
    """Another thread is importing asyncio: ``sys.modules`` holds it, without ``CancelledError`` yet."""
    _warm(harness, kind)
    half = types.ModuleType("asyncio")  # what the import system shows other threads mid-import
    real = sys.modules["asyncio"]
    sys.modules["asyncio"] = half
    try:
        task = harness.start(kind, "fail")
        ended = harness.pump_until(lambda: task in harness.done)
    finally:
        sys.modules["asyncio"] = real
    assert ended, f"{kind} task never ended; threads that died: {deaths}"
    assert task.get_status() == "failed" and isinstance(task.exception(), ValueError)
    assert harness.done.count(task) == 1 and not deaths
    assert harness.finish(harness.start(kind, "ok", 4)).result() == 8  # the pool goes on


def test_an_internal_error_while_ending_fails_the_task_and_is_logged(
    harness: Harness, kind: str, deaths: list[str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The last resort: the ending's own decision raises (a bug in tasker, simulated)."""
    from tasker._core import _lifecycle

    _warm(harness, kind)
    bug = RuntimeError("a bug in final_status")

    def broken(task: Any, error: Any) -> Any:
        raise bug

    monkeypatch.setattr(_lifecycle, "final_status", broken)
    task = harness.start(kind, "ok", 2)
    assert harness.pump_until(lambda: task in harness.done), f"never ended; dead threads: {deaths}"
    error = task.exception()
    assert task.get_status() == "failed" and isinstance(error, TaskError)
    assert error.__cause__ is bug and "internal error" in str(error)
    assert harness.done.count(task) == 1 and not deaths
    # (logged by the ending thread once its lock is released: maybe just after when_done ran)
    assert wait_for(lambda: any("internal error while task" in r.getMessage() for r in caplog.records)), "not logged"
    monkeypatch.undo()
    assert harness.finish(harness.start(kind, "ok", 4)).result() == 8
    harness.pump_until(lambda: not harness.mgr.has_tasks(), 5)


def test_a_hook_raising_inside_conclude_still_ends_the_task(
    harness: Harness, kind: str, deaths: list[str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Queueing the ending raises once, after the status was decided: it keeps that status, ends once."""
    _warm(harness, kind)
    delivery = harness.mgr._lifecycle.delivery
    real = delivery.ending_unposted
    raised: list[Any] = []

    def failing_once(fn: Any, *args: Any, show: bool = True) -> bool:
        if not raised:
            raised.append(args)
            raise RuntimeError("a hook raised inside conclude")
        return real(fn, *args, show=show)

    monkeypatch.setattr(delivery, "ending_unposted", failing_once)
    task = harness.start(kind, "ok", 3)
    assert harness.pump_until(lambda: task in harness.done), f"never ended; dead threads: {deaths}"
    assert raised and task.get_status() == "completed" and task.result() == 6
    assert harness.done.count(task) == 1 and not deaths
    assert any("internal error while task" in r.getMessage() for r in caplog.records), "not logged"
    assert harness.finish(harness.start(kind, "ok", 4)).result() == 8


def test_a_fault_after_the_ending_was_queued_still_posts_it_to_the_main_thread(
    harness: Harness, kind: str, deaths: list[str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The ending thread posts the main thread's flush last, after its own work; when that work
    raises (a bug, simulated), the flush is still posted: when_done runs, once."""
    _warm(harness, kind)
    lifecycle = harness.mgr._lifecycle
    real = lifecycle._after_ending
    raised: list[Any] = []

    def failing_once(task: Any, *args: Any) -> None:
        if not raised:
            raised.append(task)
            raise RuntimeError("a fault after the ending was queued")
        real(task, *args)

    monkeypatch.setattr(lifecycle, "_after_ending", failing_once)
    task = harness.start(kind, "ok", 5)
    assert harness.pump_until(lambda: task in harness.done), f"when_done never ran; dead threads: {deaths}"
    assert raised == [task] and task.get_status() == "completed" and task.result() == 10
    assert harness.done.count(task) == 1 and not deaths
    assert any("internal error while task" in r.getMessage() for r in caplog.records), "not logged"
    monkeypatch.undo()
    assert harness.finish(harness.start(kind, "ok", 4)).result() == 8


class BreakableKey:
    """A key whose ``__hash__`` starts raising once ``broken`` is set."""

    broken = False

    def __hash__(self) -> int:
        if self.broken:
            raise ValueError("this key's __hash__ raises now")
        return 7

    def __eq__(self, other: object) -> bool:
        return self is other


def test_a_key_whose_hash_breaks_does_not_stop_the_ending(harness: Harness, kind: str, deaths: list[str]) -> None:
    key = BreakableKey()
    task = harness.start(kind, "until_canceled", key=key)
    assert harness.pump_until(lambda: task.get_message() == "looping")
    key.broken = True
    task.cancel()
    assert harness.pump_until(lambda: task in harness.done), f"never ended; dead threads: {deaths}"
    assert task.get_status() == "canceled"
    assert harness.done.count(task) == 1 and not deaths
    assert not harness.mgr.has_tasks()


class RefusingScheduler(ManualScheduler):
    """Refuses every callback (its ``call_soon`` raises) until ``allow`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.allow = threading.Event()
        self.refused = 0

    def call_soon(self, fn: Callable[[], object]) -> None:
        if not self.allow.is_set():
            self.refused += 1
            raise RuntimeError("the main loop is not taking callbacks right now")
        super().call_soon(fn)


def test_when_done_runs_after_the_scheduler_refused_the_ending(kind: str, deaths: list[str]) -> None:
    check = LeakCheck()
    scheduler = RefusingScheduler()
    mgr = TaskManager(main_thread_scheduler=scheduler, max_processes=1)
    done: list[Any] = []
    try:
        start = {"thread": mgr.run_thread, "process": mgr.run_process, "coroutine": mgr.add_coroutine}[kind]
        func = jobs.ASYNC["fail"] if kind == "coroutine" else jobs.SYNC["fail"]
        task = start(func, when_done=done.append)
        assert task.wait(30) and task.get_status() == "failed"  # ended; its when_done refused
        assert scheduler.refused > 0
        scheduler.allow.set()  # the main loop takes callbacks again: nothing else is queued after
        assert scheduler.pump_until(lambda: bool(done), 15), "when_done never ran"
        assert done == [task] and not deaths
    finally:
        scheduler.allow.set()
        shut_down_and_check([mgr], check)


@pytest.mark.parametrize("how", ["str", "str_base", "str_repr", "repr", "reduce", "eq_hash"])
def test_an_exception_that_fights_back_fails_its_task(
    harness: Harness, kind: str, how: str, deaths: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Its ``__str__``/``__repr__``/``__reduce__``/``__eq__``/``__hash__`` raise; DEBUG logs read it too."""
    caplog.set_level(logging.DEBUG, logger="tasker")
    _warm(harness, kind)
    task = harness.start(kind, "raise_broken", how)
    assert harness.pump_until(lambda: task in harness.done), f"never ended; dead threads: {deaths}"
    facts = _facts(task)  # (plain strings: the assertion messages must not repr the exception)
    assert facts["status"] == "failed" and harness.done.count(task) == 1 and not deaths, facts
    if kind != "process" or how in ("repr", "eq_hash"):
        # In this process it is the very exception (and a process rebuilds it: pickling works).
        assert facts["type"] == "BrokenError" and facts["how"] == how, facts
    else:
        what = {
            "str": "its __str__ raised ValueError",
            "str_base": "its __str__ raised KeyboardInterrupt",
            "str_repr": "its __repr__ raised ValueError",
            "reduce": "pickling it raised KeyboardInterrupt",
        }[how]
        assert facts["type"] == "RemoteTaskError", facts
        assert "jobs.BrokenError" in facts["text"] and what in facts["text"], facts
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == "tasker"], caplog.text
    assert harness.finish(harness.start(kind, "ok", 4)).result() == 8  # the pool (and the worker) go on


def _facts(task: Any) -> dict[str, str]:
    error = task.exception()
    return {
        "status": str(task.get_status()),
        "type": type(error).__name__,
        "how": str(getattr(error, "how", "")),
        "text": _text(error),
    }


def _text(error: BaseException | None) -> str:
    try:
        return str(error)
    except BaseException as problem:
        return f"<str() raised {type(problem).__name__}>"
