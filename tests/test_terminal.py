"""tasker.terminal: the live view for scripts."""

from __future__ import annotations

import io

import pytest

from tasker import TaskManager

import jobs

pytestmark = pytest.mark.timeout(60)


def test_show_progress_lists_every_task_with_its_ending() -> None:
    rich = pytest.importorskip("rich.console")
    from tasker.terminal import show_progress

    console = rich.Console(file=io.StringIO(), width=140, force_terminal=False, color_system=None)
    mgr = TaskManager(max_processes=1)
    try:
        with show_progress(mgr, console=console, timeout=30) as view:
            mgr.run_thread(jobs.report, 5, key="counting")
            mgr.run_process(jobs.ok, 2, key="doubling")
            mgr.run_thread(jobs.fail, key="breaking")
        text = console.file.getvalue()
    finally:
        mgr.shutdown()
    assert not mgr.has_tasks()
    for name in ("counting", "doubling", "breaking"):
        assert name in text
    assert "ValueError: boom" in text
    assert "idle" in text
    assert view.manager is mgr
    assert not mgr.tasks_updated.receivers and not mgr.task_ended.receivers, "the view disconnected"
