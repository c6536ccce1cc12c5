"""The process engine runs on every platform tasker supports (Linux, other POSIX, Windows).

On Windows (scripts/test-windows) a process task runs end to end next to a
thread task; everywhere, the runner is the real pool.
"""

from __future__ import annotations

from tasker import TaskManager
from tasker.runners import process
from tasker.runners.process._pool import ProcessRunner
from tasker.schedulers import ManualScheduler

import jobs


def test_the_runner_is_the_real_pool() -> None:
    assert process.ProcessRunner is ProcessRunner


def test_a_process_task_and_a_thread_task_run_side_by_side() -> None:
    scheduler = ManualScheduler()
    with TaskManager(main_thread_scheduler=scheduler, max_processes=1) as mgr:
        remote = mgr.run_process(jobs.SYNC["ok"], 5, key="p")
        local = mgr.run_thread(jobs.SYNC["ok"], 6)
        assert scheduler.pump_until(lambda: remote.is_final() and local.is_final(), 60.0)
        assert (remote.result(), local.result()) == (10, 12)
