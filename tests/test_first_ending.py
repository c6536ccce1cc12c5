"""The first ending of each kind imports nothing (so it is as fast as later ones).

In a fresh interpreter, importing asyncio on the main thread at the first
cancel (tasker.CancelledError is an asyncio exception) or at the first worker
failure (through tasker's error module) makes that ending 20-40 ms late. So
the error module imports nothing and CancelledError is imported off the main
thread once the first task started; these tests check both.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(120)

#: The task functions, in a module of their own that imports nothing heavy
#: (tests/jobs.py imports asyncio, which would hide the import under test).
JOBS = textwrap.dedent(
    """
    import os, threading, time

    RELEASE = threading.Event()

    def ok(ctx, x):
        return 2 * x

    def until_canceled(ctx):
        ctx.set_message("looping")
        while not ctx.is_cancelled():
            time.sleep(0.001)

    def fail(ctx):
        raise ValueError("boom")

    def stuck(ctx, seconds):
        if threading.current_thread().name.startswith("tasker-thread"):
            RELEASE.wait(seconds)
        else:
            time.sleep(seconds)

    def die(ctx, code):
        os._exit(code)

    NOTED = None  # (in a worker) its modules when a task began looping until canceled

    def note_then_loop(ctx):
        global NOTED
        import sys
        NOTED = set(sys.modules)
        ctx.set_message("looping")
        while not ctx.is_cancelled():
            time.sleep(0.001)

    def imported_since_noted(ctx):
        import sys
        return None if NOTED is None else sorted(set(sys.modules) - NOTED)
    """
)

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, threading
    sys.path.insert(0, sys.argv[1])
    from tasker import TaskManager
    from tasker.schedulers import ManualScheduler
    import ending_jobs as jobs
    assert "asyncio" not in sys.modules

    scheduler = ManualScheduler()
    mgr = TaskManager(main_thread_scheduler=scheduler, max_processes=1, cancel_grace_period=0.3)
    outcomes = {}

    def record(task):
        try:
            task.result()
            outcomes[task.key] = "completed"
        except BaseException as error:
            outcomes[task.key] = type(error).__name__

    def run(kind, job, *args, key, **kw):
        start = {"thread": mgr.run_thread, "process": mgr.run_process}[kind]
        return start(getattr(jobs, job), *args, key=key, when_done=record, **kw)

    # Warm: a first task of each kind has run (pools started), the warm-up is over
    # (a warm-up thread's, or a process reader's while its worker booted).
    for kind in sys.argv[2].split(","):
        run(kind, "ok", 1, key="warm " + kind)
    scheduler.pump_until(lambda: len(outcomes) == 2, 60)
    warm = getattr(mgr, "_warm_up_thread", None)
    if warm is not None:
        warm.join(60)
    before = set(sys.modules)

    for kind in ("thread", "process"):
        canceled = run(kind, "until_canceled", key="cancel " + kind)
        scheduler.pump_until(lambda: canceled.get_message() == "looping", 60)
        canceled.cancel()
        run(kind, "fail", key="fail " + kind)
        run(kind, "stuck", 60, key="timeout " + kind, timeout=0.05)
        scheduler.pump_until(lambda: len(outcomes) == 2 + (3 if kind == "thread" else 6), 60)
    run("process", "die", 3, key="death process")
    scheduler.pump_until(lambda: len(outcomes) == 9, 60)
    new = sorted(set(sys.modules) - before)
    jobs.RELEASE.set()
    mgr.shutdown(2.0)
    print("RESULT " + json.dumps({"outcomes": outcomes, "imported": new}))
    """
)


@pytest.mark.parametrize("first_kinds", ["thread,process", "process,thread"])
def test_first_endings_import_nothing(tmp_path, first_kinds: str) -> None:
    """Whichever kind the manager's first task is (a first ``run_process`` is handed
    over by a starter thread: ``_firststart``), no ending imports anything."""
    (tmp_path / "ending_jobs.py").write_text(JOBS)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), first_kinds],
        capture_output=True, text=True, timeout=110, check=False,
    )
    assert done.returncode == 0, done.stderr
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT ") :])
    assert result["outcomes"] == {
        "warm thread": "completed",
        "warm process": "completed",
        "cancel thread": "CancelledError",
        "fail thread": "ValueError",
        "timeout thread": "TaskTimeoutError",
        "cancel process": "CancelledError",
        "fail process": "ValueError",
        "timeout process": "TaskTimeoutError",
        "death process": "WorkerDiedError",
    }
    assert result["imported"] == [], "modules imported on the ending path"


WORKER_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from tasker import TaskManager
    from tasker.schedulers import ManualScheduler
    import ending_jobs as jobs

    scheduler = ManualScheduler()
    # One worker and no spare: the task after the canceled one runs in the same worker.
    mgr = TaskManager(main_thread_scheduler=scheduler, max_processes=1, spare_processes=0)
    ended = []
    warm = mgr.run_process(jobs.ok, 1, when_done=ended.append)
    scheduler.pump_until(lambda: ended, 60)
    canceled = mgr.run_process(jobs.note_then_loop, when_done=ended.append)
    scheduler.pump_until(lambda: canceled.get_message() == "looping", 60)
    canceled.cancel()
    scheduler.pump_until(lambda: len(ended) == 2, 60)
    probe = mgr.run_process(jobs.imported_since_noted, when_done=ended.append)
    scheduler.pump_until(lambda: len(ended) == 3, 60)
    statuses = [t.get_status() for t in ended]
    mgr.shutdown(2.0)
    print("RESULT " + json.dumps({"statuses": statuses, "imported": probe.result()}))
    """
)


def test_a_first_cancel_imports_nothing_in_the_worker(tmp_path) -> None:
    """From the task seeing ``is_cancelled()`` to its worker's reply and next task: no import."""
    (tmp_path / "ending_jobs.py").write_text(JOBS)
    done = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=110, check=False
    )
    assert done.returncode == 0, done.stderr
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT ") :])
    assert result["statuses"] == ["completed", "canceled", "completed"]
    assert result["imported"] is not None, "the probe ran in another worker than the canceled task"
    assert result["imported"] == [], "modules a worker imported for its first cancel"
