"""Tools for testing applications that use tasker.

``FakeClock``: time that moves only when the test says so. Give it to a
manager on the manual scheduler and drive throttles, grace periods, timeouts
and delayed calls exactly::

    from tasker import TaskManager
    from tasker.schedulers import ManualScheduler
    from tasker.testing import FakeClock

    clock, scheduler = FakeClock(), ManualScheduler()
    mgr = TaskManager(main_thread_scheduler=scheduler, clock=clock)
    mgr.schedule_delayed_on_main_thread(5.0, print, "five seconds later")
    clock.advance(5.0)   # the timer fires here, in this thread
    scheduler.pump()     # and the call runs here: prints
    mgr.shutdown()
"""

from __future__ import annotations

from ._core._clock import Clock, FakeClock, Timer, TimerThread

__all__ = ["Clock", "FakeClock", "Timer", "TimerThread"]
