"""Tools for testing applications that use tasker — with pytest or without.

With pytest, tasker's plugin (``tasker._pytest_plugin``, loaded by itself once
``tasker-ui`` is installed) gives fixtures built from these tools:
``task_manager``, ``fake_clock``, ``manual_task_mgr`` and ``tasker_options``
(see docs/testing.md). Without pytest (unittest, scripts), use them directly.

Managers on the manual scheduler, and bounded waits that explain themselves:

* ``manual_task_manager(**options)`` — a ``TaskManager`` whose main-thread
  callbacks run only when the test pumps it, in the test's thread;
* ``pump(manager)``, ``pump_until(manager, predicate, timeout)``,
  ``wait_settled(manager, timeout)`` — fail with ``WaitTimeout`` (an
  ``AssertionError``) listing the live tasks and their states instead of hanging;
  ``describe_tasks(manager)`` gives that listing;
* ``task_mgr.swapped(manager)`` (on ``tasker.task_mgr``) puts such a manager
  behind the shared ``task_mgr`` for a block.

Nothing left behind: ``LeakCheck()`` before, ``shut_down_and_check(managers,
check)`` after — live tasks, worker processes, tasker's threads, shared-memory
payloads (``LeftBehindError``); ``child_pids()``, ``tasker_threads()`` and
``payload_mappings()`` are what it reads.

Time that moves only when the test says so — ``FakeClock``. Give it to a manager
on the manual scheduler and drive throttles, grace periods, timeouts and delayed
calls exactly:

    from tasker.testing import FakeClock, manual_task_manager, pump

    clock = FakeClock()
    mgr = manual_task_manager(clock=clock)
    mgr.schedule_delayed_on_main_thread(5.0, print, "five seconds later")
    clock.advance(5.0)   # the timer fires here, in this thread
    pump(mgr)            # and the call runs here: prints
    mgr.shutdown()
"""

from __future__ import annotations

from .._core._clock import Clock, FakeClock, Timer, TimerThread
from ._leaks import LeakCheck, LeftBehindError, child_pids, payload_mappings, shut_down_and_check, tasker_threads
from ._waits import (
    PinnedTaskManager,
    WaitTimeout,
    describe_task,
    describe_tasks,
    manual_task_manager,
    pump,
    pump_until,
    wait_settled,
)

__all__ = [
    "Clock",
    "FakeClock",
    "LeakCheck",
    "LeftBehindError",
    "PinnedTaskManager",
    "Timer",
    "TimerThread",
    "WaitTimeout",
    "child_pids",
    "describe_task",
    "describe_tasks",
    "manual_task_manager",
    "payload_mappings",
    "pump",
    "pump_until",
    "shut_down_and_check",
    "tasker_threads",
    "wait_settled",
]
