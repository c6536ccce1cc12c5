"""A hypothesis state machine over the public API.

Rules: start a task of each kind (optionally on a shared key, so starting
replaces), let it complete or fail, cancel it (by task or key, at any stage),
let a timeout expire, pump the main thread, shut down. Every task is *gated*: it
runs until the test creates its gate file, so the machine decides when it ends.
After every step the main thread is pumped until delivery is idle, and the
invariants are checked:

* status only moves forward (pending → running → one final status);
* ``when_done`` runs at most once, on the main thread, and exactly once for a
  final task once delivery is idle; never for a live one;
* ``tasks_updated`` (``update_rate=0``: every change emits) lists the live tasks
  in start order: at emission (a superset of the live ones, the extras ended
  meanwhile) and exactly when idle; progress in [0, 1], 1.0 when nothing is live;
* ``get_overall_progress()`` likewise.

CI: 20 examples of up to 15 steps; full (``TASKER_FULL=1``): 300 of up to 40.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Hashable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tasker import Task, TaskManager, TaskTimeoutError
from tasker.schedulers import ManualScheduler

from . import rjobs
from .support import FULL
from conftest import children

ORDER = {"pending": 0, "running": 1, "completed": 2, "failed": 2, "canceled": 2}
KEYS = st.sampled_from([None, None, "a", "b"])
KINDS = st.sampled_from(["thread", "coroutine", "process"])
WAIT = 15.0  # seconds any single step may take at most
CAP = {"thread": 2, "process": 2, "coroutine": 1 << 30}  # the machine's pool sizes


STATS: Counter[str] = Counter()  # what the machine did, for the summary line


class TaskerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        STATS["examples"] += 1
        self.dir = tempfile.mkdtemp(prefix="tasker-sm-")
        self.scheduler = ManualScheduler()
        self.mgr = TaskManager(
            main_thread_scheduler=self.scheduler,
            update_rate=0,
            max_threads=CAP["thread"],
            max_processes=CAP["process"],
            spare_processes=0,
            cancel_grace_period=0.5,
        )
        self.main = threading.current_thread()
        self.tasks: list[Task[Any]] = []
        self.outcome: dict[int, tuple[str, int]] = {}  # task id -> (outcome asked, value)
        self.rank: dict[int, int] = {}
        self.done: Counter[int] = Counter()
        self.off_main: list[int] = []
        self.last: tuple[list[Task[Any]], float] | None = None
        self.closed = False
        self.mgr.tasks_updated.connect(self.on_update, weak=False)

    # -- callbacks (main thread) ---------------------------------------------------
    def on_update(self, sender: Any, tasks: list[Task[Any]], progress: float) -> None:
        assert threading.current_thread() is self.main
        assert 0.0 <= progress <= 1.0, progress
        assert (not tasks and progress == 1.0) or tasks, "idle must report progress 1.0"
        ids = [t.id for t in tasks]
        assert ids == sorted(set(ids)), "tasks in start order, each once"
        live = set(self.mgr)
        assert live <= set(tasks), "a live task is missing from tasks_updated"
        assert all(t.is_final() for t in set(tasks) - live), "a task listed that was not live"
        self.last = (list(tasks), progress)

    def when_done(self, task: Task[Any]) -> None:
        self.done[task.id] += 1
        if threading.current_thread() is not self.main:
            self.off_main.append(task.id)

    # -- helpers ---------------------------------------------------------------------
    def start(self, kind: str, key: Hashable | None, outcome: str, timeout: float | None = None) -> Task[Any]:
        value = len(self.tasks)
        gate = os.path.join(self.dir, f"gate-{value}")
        old = self.mgr.get_task(key) if key is not None else None
        if kind == "coroutine":
            task = self.mgr.add_coroutine(
                rjobs.a_gated, gate, outcome, value, key=key, when_done=self.when_done, timeout=timeout
            )
        else:
            start = self.mgr.run_thread if kind == "thread" else self.mgr.run_process
            task = start(rjobs.gated, gate, outcome, value, key=key, when_done=self.when_done, timeout=timeout)
        self.tasks.append(task)
        STATS[f"started {kind}"] += 1
        self.outcome[task.id] = (outcome, value)
        if key is not None:
            assert self.mgr.get_task(key) is task
            if old is not None:
                assert old.is_cancelled(), "starting on a live key cancels the old task"
        return task

    def gate(self, task: Task[Any]) -> str:
        return os.path.join(self.dir, f"gate-{self.outcome[task.id][1]}")

    def live(self) -> list[Task[Any]]:
        return [t for t in self.tasks if not t.is_final()]

    def quiesce(self) -> None:
        """Pump until the state is the one the model predicts, and delivered.

        Pools are FIFO: of the live tasks of a kind, the first ``CAP[kind]`` (in
        start order) run, the others are pending. Waiting for that keeps the
        machine's preconditions deterministic, as hypothesis requires.
        """
        STATS["steps"] += 1

        def settled() -> bool:
            for kind, cap in CAP.items():
                live = [t for t in self.tasks if t.kind == kind and not t.is_final()]
                if not all(t.is_running() for t in live[:cap]):
                    return False
                if any(t.is_running() for t in live[cap:]):
                    raise AssertionError(f"more than {cap} {kind} tasks run at once")
            # Under the lifecycle's lock, as wait_until_settled: a task is made final and
            # its when_done queued in one critical section, not to be seen in between.
            with self.mgr._lifecycle.lock:
                return self.mgr._lifecycle.delivery.is_idle()

        assert self.scheduler.pump_until(settled, WAIT), "the pools or the delivery never settled"

    # -- rules -------------------------------------------------------------------------
    @precondition(lambda self: not self.closed)
    @rule(kind=KINDS, key=KEYS, outcome=st.sampled_from(["ok", "ok", "fail"]))
    def start_task(self, kind: str, key: Hashable | None, outcome: str) -> None:
        old = self.mgr.get_task(key) if key is not None else None
        self.start(kind, key, outcome)
        if old is not None:  # replaced: it stops in the background; let it end first
            assert self.scheduler.pump_until(old.is_final, WAIT), f"replaced {old} did not stop"
            assert old.get_status() == "canceled"
        self.quiesce()

    @precondition(lambda self: not self.closed and any(t.is_running() for t in self.tasks))
    @rule(data=st.data())
    def let_it_end(self, data: st.DataObject) -> None:
        # A running one: a pending task waits for a slot that gated tasks may hold.
        task = data.draw(st.sampled_from([t for t in self.tasks if t.is_running()]))
        open(self.gate(task), "w").close()
        assert self.scheduler.pump_until(task.is_final, WAIT), f"{task} did not end"
        self.quiesce()
        outcome, value = self.outcome[task.id]
        if task.is_cancelled():
            assert task.get_status() == "canceled"
        elif outcome == "ok":
            assert task.get_status() == "completed" and task.result() == value
        else:
            assert task.get_status() == "failed" and str(task.exception()) == f"failed as asked ({value})"

    @precondition(lambda self: bool(self.tasks))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        task = data.draw(st.sampled_from(self.tasks))
        was_live = not task.is_final()
        assert task.cancel() is was_live
        assert self.scheduler.pump_until(task.is_final, WAIT), f"{task} did not stop"
        self.quiesce()
        if was_live:
            assert task.get_status() == "canceled"

    @rule(key=st.sampled_from(["a", "b"]))
    def cancel_by_key(self, key: str) -> None:
        task = self.mgr.get_task(key)
        assert self.mgr.cancel_task(key) is (task is not None)
        if task is not None:
            assert self.scheduler.pump_until(task.is_final, WAIT)
            assert task.get_status() == "canceled"
        self.quiesce()

    @precondition(lambda self: not self.closed)
    @rule(kind=KINDS)
    def time_out(self, kind: str) -> None:
        task = self.start(kind, None, "ok", timeout=0.05)
        assert self.scheduler.pump_until(task.is_final, WAIT)
        self.quiesce()
        assert task.get_status() == "failed" and isinstance(task.exception(), TaskTimeoutError)

    @rule()
    def pump(self) -> None:
        self.scheduler.pump()

    @precondition(lambda self: not self.closed)
    @rule()
    def shutdown(self) -> None:
        self.mgr.shutdown(timeout=1.0)
        self.closed = True
        self.quiesce()
        assert all(t.is_final() for t in self.tasks)
        with pytest.raises(RuntimeError, match="shut down"):
            self.mgr.run_thread(rjobs.returns_now, 1)

    # -- invariants ----------------------------------------------------------------------
    @invariant()
    def status_moves_forward(self) -> None:
        for task in self.tasks:
            rank = ORDER[str(task.get_status())]
            assert rank >= self.rank.get(task.id, 0), f"{task} went back"
            self.rank[task.id] = rank

    @invariant()
    def when_done_exactly_once(self) -> None:
        assert self.off_main == []
        for task in self.tasks:
            expected = 1 if task.is_final() else 0
            assert self.done[task.id] == expected, f"when_done ran {self.done[task.id]} times for {task}"

    @invariant()
    def tasks_updated_matches(self) -> None:
        live = [t for t in self.tasks if not t.is_final()]
        assert list(self.mgr) == live
        progress = self.mgr.get_overall_progress()
        assert 0.0 <= progress <= 1.0
        if not live:
            assert progress == 1.0 and not self.mgr.has_tasks()
        if self.last is not None:
            assert self.last[0] == live, "the last tasks_updated is not the live tasks"
            if not live:
                assert self.last[1] == 1.0

    def teardown(self) -> None:
        try:
            for task in self.live():
                open(self.gate(task), "w").close()
            self.mgr.shutdown(timeout=2.0)
            self.scheduler.pump()
            assert all(t.is_final() for t in self.tasks)
            assert all(self.done[t.id] == 1 for t in self.tasks)
            STATS.update(str(t.get_status()) for t in self.tasks)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


TaskerMachine.TestCase.settings = settings(
    max_examples=300 if FULL else 20,
    stateful_step_count=40 if FULL else 15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=not FULL,  # CI: the same examples every run; full: new ones each time
)


@pytest.mark.timeout(3600 if FULL else 150)
def test_state_machine() -> None:
    before = children()
    STATS.clear()
    TaskerMachine.TestCase().runTest()
    print(f"\nstate machine: {dict(STATS)}")
    assert children() <= before
