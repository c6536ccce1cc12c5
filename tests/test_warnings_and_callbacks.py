"""Warnings raised in thread, coroutine and process tasks reach the application's warnings
machinery on the main thread, naming the task; task.add_done_callback."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from tasker import Task

import control_jobs
from conftest import Harness

pytestmark = pytest.mark.timeout(60)

Shown = list[tuple[str, type[Warning], str, int, str]]


@pytest.fixture
def shown() -> Iterator[Shown]:
    """What the application's ``warnings.showwarning`` shows (and in which thread)."""
    seen: Shown = []

    def show(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None):
        seen.append((str(message), category, filename, lineno, threading.current_thread().name))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield seen


def _start(h: Harness, kind: str, func: Any, *args: Any) -> Task[Any]:
    if kind == "coroutine":
        return h.mgr.add_coroutine(control_jobs.awarn, *args, key=f"{kind} job", when_done=h.when_done)
    run = h.mgr.run_thread if kind == "thread" else h.mgr.run_process
    return run(func, *args, key=f"{kind} job", when_done=h.when_done)


@pytest.mark.parametrize("kind", ["thread", "coroutine", "process"])
def test_a_warning_in_a_task_is_shown_on_the_main_thread_naming_the_task(
    harness: Harness, shown: Shown, kind: str
) -> None:
    task = _start(harness, kind, control_jobs.warn, "careful", control_jobs.CustomWarning)
    assert harness.finish(task).result() == "warned"
    expected = ["careful"] + (["careful (child)"] if kind == "coroutine" else [])
    assert harness.pump_until(lambda: len(shown) >= len(expected))
    assert [entry[0] for entry in shown] == [f"{text} (in task '{kind} job')" for text in expected]
    for _, category, filename, lineno, thread in shown:
        assert category is control_jobs.CustomWarning
        assert filename.endswith("control_jobs.py") and lineno > 0
        assert thread == threading.current_thread().name, "shown on the main thread"


def test_a_warning_on_taskers_loop_outside_any_task_is_not_named(harness: Harness, shown: Shown) -> None:
    """Only the task's own code is named: a callback on tasker's loop warns as itself."""
    harness.finish(_start(harness, "coroutine", control_jobs.warn, "first"))  # the hook is installed
    assert harness.pump_until(lambda: len(shown) >= 2)
    done = threading.Event()

    def outside() -> None:
        warnings.warn("from the loop", UserWarning, stacklevel=1)
        done.set()

    harness.mgr.loop.call_soon_threadsafe(outside)
    assert done.wait(10)
    assert [entry[0] for entry in shown[2:]] == ["from the loop"]
    assert shown[2][4] != threading.current_thread().name, "shown where it was raised"


def test_the_applications_filters_decide_for_a_process_task(harness: Harness, shown: Shown) -> None:
    warnings.filterwarnings("ignore", category=control_jobs.CustomWarning)
    quiet = _start(harness, "process", control_jobs.warn, "hush", control_jobs.CustomWarning)
    loud = _start(harness, "process", control_jobs.warn, "hear me", UserWarning)
    harness.finish(quiet), harness.finish(loud)
    assert harness.pump_until(lambda: bool(shown))
    harness.settle()
    assert [text for text, *_ in shown] == ["hear me (in task 'process job')"]


def test_a_process_warning_the_app_turns_into_an_error_is_logged(
    harness: Harness, shown: Shown, caplog: pytest.LogCaptureFixture
) -> None:
    warnings.filterwarnings("error", category=control_jobs.CustomWarning)
    task = _start(harness, "process", control_jobs.warn, "strict", control_jobs.CustomWarning)
    with caplog.at_level(logging.ERROR, logger="tasker"):
        assert harness.finish(task).result() == "warned"  # the task had gone on already
        harness.settle()
    assert any("strict (in task 'process job')" in r.getMessage() + str(r.exc_info) for r in caplog.records)


def test_a_thread_warning_the_app_turns_into_an_error_fails_the_task(harness: Harness, shown: Shown) -> None:
    warnings.filterwarnings("error", category=control_jobs.CustomWarning)
    task = _start(harness, "thread", control_jobs.warn, "strict", control_jobs.CustomWarning)
    assert isinstance(harness.finish(task).exception(), control_jobs.CustomWarning)


def test_a_warning_category_the_app_cannot_import_arrives_as_a_user_warning(harness: Harness, shown: Shown) -> None:
    task = _start(harness, "process", control_jobs.warn_made_here, "odd")
    harness.finish(task)
    assert harness.pump_until(lambda: bool(shown))
    text, category, *_ = shown[0]
    assert category is UserWarning and text == "nowhere.to.be.found.LocalWarning: odd (in task 'process job')"


def test_a_worker_sends_a_warning_once_per_location(harness: Harness, shown: Shown) -> None:
    harness.finish(_start(harness, "process", control_jobs.warn_twice, "again"))
    harness.settle()
    assert [text for text, *_ in shown] == ["again (in task 'process job')"]


def test_threads_that_run_no_task_warn_as_before(harness: Harness, shown: Shown) -> None:
    harness.finish(_start(harness, "thread", control_jobs.warn, "in a task"))
    outside = threading.Thread(target=lambda: warnings.warn("outside", UserWarning, stacklevel=1), name="plain")
    outside.start()
    outside.join(10)
    assert ("outside", UserWarning) in [(text, category) for text, category, *_ in shown]
    assert [thread for text, _, _, _, thread in shown if text == "outside"] == ["plain"]


# -- add_done_callback ------------------------------------------------------------------------
def test_done_callbacks_run_in_order_on_the_main_thread_after_when_done(harness: Harness, kind: str) -> None:
    order: list[tuple[str, str]] = []
    main = threading.current_thread().name

    def note(label: str) -> Any:
        return lambda task: order.append((label, threading.current_thread().name))

    task = harness.start(kind, "ok", 3, when_done=note("when_done"))
    task.add_done_callback(note("first"))
    task.add_done_callback(note("second"))
    assert harness.pump_until(lambda: len(order) == 3)
    assert order == [("when_done", main), ("first", main), ("second", main)]
    late: list[Task[Any]] = []
    task.add_done_callback(late.append)  # already ended: at once
    assert late == [task]


def test_a_done_callback_that_raises_is_logged_and_the_others_run(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    task = harness.start("thread", "ok")

    def boom(task: Task[Any]) -> None:
        raise RuntimeError("listener broke")

    task.add_done_callback(boom)
    task.add_done_callback(lambda t: seen.append(str(t.get_status())))
    with caplog.at_level(logging.ERROR, logger="tasker"):
        harness.finish(task)
        assert harness.pump_until(lambda: bool(seen))
    assert seen == ["completed"] and "listener broke" in caplog.text


def test_a_done_callback_added_in_when_done_runs_at_once(harness: Harness) -> None:
    seen: list[str] = []

    def when_done(task: Task[Any]) -> None:
        task.add_done_callback(lambda t: seen.append("inner"))
        seen.append("when_done")

    harness.finish(harness.start("thread", "ok", when_done=lambda t: (when_done(t), harness.when_done(t))))
    assert seen == ["inner", "when_done"]


def test_add_done_callback_needs_a_callable(harness: Harness) -> None:
    task = harness.start("thread", "ok")
    with pytest.raises(TypeError, match="add_done_callback needs a callable"):
        task.add_done_callback("not callable")  # type: ignore[arg-type]
    harness.finish(task)
