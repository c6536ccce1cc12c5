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


def test_a_batch_and_a_chain_are_one_row_each() -> None:
    rich = pytest.importorskip("rich.console")
    import stream_jobs
    from tasker.terminal import show_progress

    console = rich.Console(file=io.StringIO(), width=160, force_terminal=False, color_system=None)
    mgr = TaskManager(max_processes=1)
    try:
        with show_progress(mgr, console=console, timeout=30):
            mgr.map(stream_jobs.odd_fails, range(6), kind="thread", key="thumbnails", chunksize=1)
            first = mgr.run_thread(jobs.ok, 1, visible=False)
            first.then(stream_jobs.plus, key="load → analyse")
        text = console.file.getvalue()
    finally:
        mgr.shutdown()
    rows = {line.split()[1]: line for line in text.splitlines() if line.split()[1:2] in (["thumbnails"], ["load"])}
    assert "batch" in rows["thumbnails"] and "BatchError: 3 of 6 items failed" in rows["thumbnails"]
    assert "chain" in rows["load"] and "adding 1" in rows["load"]  # the chain's row shows its step
    assert "plus" not in text.replace("load → analyse", ""), "a chain's hidden step has no row of its own"


def test_the_time_a_task_took_is_read_from_the_managers_clock() -> None:
    """A manager's ``clock=`` times the view too: a FakeClock moved 7.5 s shows 7.5 s."""
    rich = pytest.importorskip("rich.console")
    from tasker._core._runner import RUNNERS, register_runner
    from tasker.terminal import TerminalView

    from test_fake_runner import FakeRunner, World

    register_runner("fake", FakeRunner, method="run_fake")
    world = World()
    view = TerminalView(world.mgr)
    try:
        task = world.start(key="exporting")
        world.scheduler.pump()  # the view sees it live: its start time
        world.runner.lifecycle.begin(task)
        world.clock.advance(7.5)
        world.runner.lifecycle.conclude(task, "done")
        world.scheduler.pump()
        console = rich.Console(file=io.StringIO(), width=140, force_terminal=False, color_system=None)
        console.print(view)
        row = next(line for line in console.file.getvalue().splitlines() if "exporting" in line)
        assert "(7.5 s)" in row, row
    finally:
        view.close()
        world.mgr.shutdown(timeout=0)
        world.scheduler.pump()
        RUNNERS.pop("fake", None)
