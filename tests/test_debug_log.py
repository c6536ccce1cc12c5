"""The lifecycle's debug lines (docs: "Seeing why a task ended"), for every kind.

They are quiet by default and appear as soon as the ``tasker`` logger is at
DEBUG, also when it is turned on (or off again) after tasks already ran:
the lifecycle reads logging's own per-level answer instead of calling
``isEnabledFor`` on every task, and that answer must follow level changes.
"""

from __future__ import annotations

import logging

import pytest

from conftest import Harness

pytestmark = pytest.mark.timeout(60)


def _lines(caplog: pytest.LogCaptureFixture, task_id: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "tasker" and f"(#{task_id})" in r.getMessage()]


def _logged(h: Harness, caplog: pytest.LogCaptureFixture, task_id: int, text: str) -> bool:
    """Wait (bounded) for the line: the worker logs the ending right after it queued when_done."""
    return h.pump_until(lambda: any(text in line for line in _lines(caplog, task_id)))


def test_each_step_of_a_task_is_logged_at_debug(harness: Harness, kind: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="tasker"):
        task = harness.finish(harness.start(kind, "ok", 1, key="answer"))
        failed = harness.finish(harness.start(kind, "fail"))
        assert _logged(harness, caplog, task.id, "ended completed"), _lines(caplog, task.id)
        assert _logged(harness, caplog, failed.id, "ended failed (ValueError: boom)"), _lines(caplog, failed.id)
    lines = _lines(caplog, task.id)
    assert f"tasker: {kind} task 'answer' submitted (#{task.id})" in lines, lines
    assert f"tasker: task 'answer' (#{task.id}) started" in lines, lines


def test_a_cancel_is_logged_with_why_the_task_ended(
    harness: Harness, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="tasker"):
        task = harness.start(kind, "until_canceled")
        assert harness.pump_until(task.is_running)
        task.cancel()
        harness.finish(task)
        assert _logged(harness, caplog, task.id, "ended canceled"), _lines(caplog, task.id)
    assert f"tasker: task {task.name!r} (#{task.id}) asked to stop" in _lines(caplog, task.id)


def test_debug_lines_follow_level_changes_made_after_tasks_ran(harness: Harness) -> None:
    tasker_logger = logging.getLogger("tasker")
    seen: list[str] = []
    handler = logging.Handler()  # level NOTSET: the logger's level alone decides
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]

    def ended(task_id: int) -> bool:
        harness.settle()
        return harness.pump_until(lambda: any(f"(#{task_id}) ended" in line for line in seen), timeout=2.0)

    old_level = tasker_logger.level
    tasker_logger.addHandler(handler)
    try:
        tasker_logger.setLevel(logging.WARNING)
        quiet = harness.finish(harness.start("thread", "ok", 1))  # logging now knows: DEBUG is off
        tasker_logger.setLevel(logging.DEBUG)  # turned on later
        loud = harness.finish(harness.start("thread", "ok", 2))
        assert ended(loud.id), seen
        tasker_logger.setLevel(logging.INFO)  # and off again
        quiet_again = harness.finish(harness.start("thread", "ok", 3))
        logging.disable(logging.DEBUG)  # logging.disable clears logging's answers too
        tasker_logger.setLevel(logging.DEBUG)
        muted = harness.finish(harness.start("thread", "ok", 4))
        harness.settle()
    finally:
        logging.disable(logging.NOTSET)
        tasker_logger.setLevel(old_level)
        tasker_logger.removeHandler(handler)
    for silent in (quiet, quiet_again, muted):
        assert not any(f"(#{silent.id})" in line for line in seen), seen
