"""Where the process engine does not run, ``run_process`` refuses at the call.

On Windows (scripts/test-windows) the refusal is checked end to end; everywhere,
the refusing factory itself is checked, so its message cannot rot unseen.
"""

from __future__ import annotations

import sys

import pytest

from tasker import TaskError, TaskManager, UnsupportedPlatformError
from tasker.runners import process
from tasker.schedulers import ManualScheduler

import jobs


def test_the_refusing_factory_names_the_platform_and_the_way_out() -> None:
    with pytest.raises(UnsupportedPlatformError) as caught:
        process.refuse(None, None)
    message = str(caught.value)
    assert repr(sys.platform) in message
    assert "run_thread" in message and "docs/windows.md" in message
    assert isinstance(caught.value, TaskError) and isinstance(caught.value, NotImplementedError)


@pytest.mark.skipif(sys.platform == "win32", reason="the process engine does not run on Windows yet")
def test_where_the_engine_runs_the_runner_is_the_real_one() -> None:
    assert process.ProcessRunner is not process.refuse


@pytest.mark.skipif(sys.platform != "win32", reason="the refusal end to end: on Windows")
def test_on_windows_run_process_raises_at_the_call_and_threads_go_on() -> None:
    scheduler = ManualScheduler()
    with TaskManager(main_thread_scheduler=scheduler) as mgr:
        with pytest.raises(UnsupportedPlatformError, match="win32"):
            mgr.run_process(jobs.SYNC["ok"], 5, key="p")
        assert mgr.get_task("p") is None and not mgr.has_tasks()  # no task left pending
        with pytest.raises(UnsupportedPlatformError):  # every call, not only the first
            mgr.run_process(jobs.SYNC["ok"], 5)
        task = mgr.run_thread(jobs.SYNC["ok"], 5)
        assert scheduler.pump_until(task.is_final, 15.0)
        assert task.result() == 10
