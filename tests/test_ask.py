"""``context.ask``: a task asks, the main thread answers (every kind).

The answer is what the task's ``when_event`` handler returns; a handler that
raises raises at the ask; canceling the task wakes it with CancelledError; past
its timeout the ask raises TaskTimeoutError and the handler is never shown it.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tasker import CancelledError, Task, TaskTimeoutError

from conftest import Harness, wait_for

pytestmark = pytest.mark.timeout(60)


def test_the_handlers_return_value_is_the_answer(harness: Harness, kind: str) -> None:
    seen: list[tuple[str, Any, str]] = []

    def answer(task: Task[Any], name: str, data: Any) -> Any:
        seen.append((name, data, threading.current_thread().name))
        return {"overwrite": True, "asked": data}

    task = harness.finish(harness.start(kind, "ask", "file.txt exists", when_event=answer))
    assert task.result() == {"overwrite": True, "asked": "file.txt exists"}
    assert seen == [("question", "file.txt exists", threading.current_thread().name)]  # the pumping thread


def test_questions_and_events_keep_their_order(harness: Harness, kind: str) -> None:
    seen: list[Any] = []

    def handler(task: Task[Any], name: str, data: Any) -> Any:
        seen.append(name)
        return data * 10

    task = harness.finish(harness.start(kind, "ask_twice", when_event=handler))
    assert task.result() == [10, 20]
    assert seen == ["first", "between", "second"]


def test_no_handler_answers_none(harness: Harness, kind: str) -> None:
    assert harness.finish(harness.start(kind, "ask", 1)).result() is None


def test_a_raising_handler_raises_at_the_ask(harness: Harness, kind: str) -> None:
    def refuse(task: Task[Any], name: str, data: Any) -> Any:
        raise PermissionError("not allowed here")

    task = harness.finish(harness.start(kind, "ask", when_event=refuse))
    assert task.get_status() == "failed"
    assert isinstance(task.exception(), PermissionError)
    assert "not allowed here" in str(task.exception())
    caught = harness.finish(harness.start(kind, "ask_and_catch", when_event=refuse))
    assert caught.result() == "PermissionError"  # the task may catch it and go on


def test_cancel_wakes_a_waiting_ask(harness: Harness, kind: str) -> None:
    calls: list[str] = []
    task = harness.start(kind, "ask", when_event=lambda t, n, d: calls.append(n))
    # Without pumping, the question waits in the queue: cancel it there.
    assert _wait_for_question(harness, task)
    task.cancel()
    assert task.wait(20), "the ask was not woken by cancel"
    assert task.get_status() == "canceled"
    harness.settle()
    assert calls == [], "a question of a canceled task reached the handler"
    caught = harness.start(kind, "ask_and_catch", when_event=lambda t, n, d: None)
    assert _wait_for_question(harness, caught)
    caught.cancel()
    assert caught.wait(20)
    assert caught.get_status() == "canceled"  # the function's late return is discarded


def test_a_handler_that_cancels_the_task_wakes_it_canceled(harness: Harness, kind: str) -> None:
    caught: list[Any] = []

    def handler(task: Task[Any], name: str, data: Any) -> Any:
        if name == "caught":
            caught.append(data)
            return None
        task.cancel()  # e.g. the user pressed "Cancel" in the dialog this question opened
        return "this answer is dropped"

    task = harness.finish(harness.start(kind, "ask_and_catch", when_event=handler))
    assert task.get_status() == "canceled"
    # A coroutine is also canceled by asyncio at its await: either way it is a CancelledError.
    assert caught == ["CancelledError"]


def test_timeout_raises_and_withdraws_the_question(harness: Harness, kind: str) -> None:
    calls: list[str] = []
    task = harness.start(kind, "ask", None, 0.05, when_event=lambda t, n, d: calls.append(n))
    assert task.wait(20), "the ask never timed out"  # no pumping: nobody answers
    assert task.get_status() == "failed"
    assert isinstance(task.exception(), TaskTimeoutError)
    assert "ask('question')" in str(task.exception())
    harness.settle()
    assert calls == [], "the handler saw a question its asker had given up"
    caught = harness.start(kind, "ask_and_catch", 0.05, when_event=lambda t, n, d: None)
    assert caught.wait(20)
    assert caught.result() == "TaskTimeoutError"


def test_the_wrong_form_says_which_to_use(harness: Harness, kind: str) -> None:
    text = harness.finish(harness.start(kind, "ask_wrong_way")).result()
    if kind == "coroutine":
        assert "await context.ask_async" in text
    else:
        assert "context.ask()" in text


@pytest.mark.parametrize("timeout", [0, -1, "soon"])
def test_bad_timeout_is_refused(harness: Harness, kind: str, timeout: Any) -> None:
    task = harness.finish(harness.start(kind, "ask", None, timeout))
    assert isinstance(task.exception(), ValueError)
    assert "timeout" in str(task.exception())


def test_big_answer_reaches_a_process(harness: Harness) -> None:
    payload = b"x" * (3 << 20)  # over the shared-memory threshold
    task = harness.finish(harness.start("process", "ask", when_event=lambda t, n, d: payload))
    assert task.result() == payload


def test_an_answer_that_cannot_travel_fails_clearly(harness: Harness) -> None:
    task = harness.finish(harness.start("process", "ask", when_event=lambda t, n, d: threading.Lock()))
    assert task.get_status() == "failed"
    assert "cannot be sent to the worker process" in str(task.exception())


def test_ask_after_shutdown_is_cancelled(make_harness, kind: str) -> None:
    h = make_harness(cancel_grace_period=5.0)
    task = h.start(kind, "ask_and_catch", when_event=lambda t, n, d: None)
    assert _wait_for_question(h, task)
    h.mgr.shutdown(timeout=5.0)
    assert task.is_final()
    assert task.get_status() == "canceled"
    with pytest.raises(CancelledError):
        task.result()


def _wait_for_question(h: Harness, task: Task[Any], timeout: float = 20.0) -> bool:
    """True once the task's question waits for the main thread (which is not pumped)."""
    return wait_for(lambda: bool(task._questions), timeout)
