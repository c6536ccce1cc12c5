"""Process tasks, Rayforge's way: ``run_process`` with ``when_event`` and ``visible=False``,
``send_event_and_wait``, cancellation, the worker initializer and ``shared_state``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from typing import Any

import pytest

from tasker.compat.rayforge import CancelledError, Task, TaskManager, TaskManagerProxy

from . import rf_jobs
from .conftest import RfHarness, run_inline

pytestmark = pytest.mark.timeout(90)


def test_run_process_completes(rf: RfHarness) -> None:
    task = rf.mgr.run_process(rf_jobs.steps, 10, key="proc1", when_done=rf.when_done)
    assert isinstance(task, Task) and task.task_type == "process"
    assert task.get_status() == "running"  # Rayforge: a process task runs from the start
    assert "proc1" in rf.mgr._tasks and rf.mgr.get_task("proc1") is task
    assert task.args == (rf_jobs.steps, 10)  # Rayforge keeps the function first in args
    rf.finish(task)
    assert task.get_status() == "completed"
    assert task.get_progress() == 1.0
    assert task.get_message() == "Process step 10"
    assert task.result() == "process_done"
    assert not rf.mgr._tasks


def test_the_function_gets_an_execution_context_proxy(rf: RfHarness) -> None:
    task = rf.mgr.run_process(rf_jobs.describe, 1, "two", key="k", three=3, when_done=rf.when_done)
    rf.finish(task)
    got = task.result()
    assert got["context"] == "ExecutionContextProxy"
    assert got["args"] == (1, "two") and got["kwargs"] == {"three": 3}
    assert got["pid"] != os.getpid()


def test_tasker_reserved_names_reach_the_function(rf: RfHarness) -> None:
    """``timeout``/``priority`` configure a task in tasker; Rayforge passes them to the function."""
    task = rf.mgr.run_process(rf_jobs.reserved_kwargs, timeout=2.5, priority=7, when_done=rf.when_done)
    assert rf.finish(task).result() == (2.5, 7)


def test_sub_contexts_in_a_worker(rf: RfHarness) -> None:
    task = rf.mgr.run_process(rf_jobs.sub_contexts, key="sub", when_done=rf.when_done)
    seen: list[float] = []
    rf.mgr.tasks_updated.connect(lambda sender, tasks, progress: seen.extend(t.get_progress() for t in tasks))
    rf.finish(task)
    assert task.result() == 0.75


def test_failure_keeps_the_exception(rf: RfHarness, caplog: pytest.LogCaptureFixture) -> None:
    task = rf.mgr.run_process(rf_jobs.fail, key="proc_fail", when_done=rf.when_done)
    rf.finish(task)
    assert task.get_status() == "failed"
    with pytest.raises(Exception, match="Process failed intentionally") as info:
        task.result()
    assert isinstance(info.value, ValueError)  # Rayforge gives Exception(traceback text); tasker the original
    assert task._task_exception is info.value
    assert "Task 'proc_fail' failed in worker pool" in caplog.text
    assert not rf.mgr._tasks


def test_events_reach_when_event_as_keywords(rf: RfHarness) -> None:
    got: list[tuple[Task, str, Any, threading.Thread]] = []

    def when_event(task: Task, event_name: str, data: Any) -> None:
        got.append((task, event_name, data, threading.current_thread()))

    task = rf.mgr.run_process(rf_jobs.events, "a", "b", when_event=when_event, when_done=rf.when_done)
    seen_kwargs: list[dict[str, Any]] = []
    task.event_received.connect(lambda sender, **kwargs: seen_kwargs.append(kwargs), weak=False)
    rf.finish(task)
    assert task.result() == 3
    assert [(name, data) for _, name, data, _ in got] == [("a", {"name": "a"}), ("b", {"name": "b"}), ("no-data", {})]
    assert all(t is task and thread is threading.current_thread() for t, _, _, thread in got)
    assert seen_kwargs[0] == {"event_name": "a", "data": {"name": "a"}}


def test_an_invisible_task_gets_callbacks_but_is_not_listed(rf: RfHarness) -> None:
    got: list[str] = []
    visible = rf.mgr.run_process(rf_jobs.until_cancelled, key="shown", when_done=rf.when_done)
    hidden = rf.mgr.run_process(
        rf_jobs.events,
        "x",
        key="shown",  # the same key does not replace the visible task
        visible=False,
        when_event=lambda task, event_name, data: got.append(event_name),
        when_done=rf.when_done,
    )
    assert hidden._visible is False
    assert rf.mgr.get_task("shown") is visible and list(rf.mgr) == [visible] and len(rf.mgr) == 1
    rf.finish(hidden)
    assert hidden.get_status() == "completed" and got == ["x", "no-data"]
    assert visible.get_status() == "running" and not visible.is_cancelled()
    assert all(hidden not in tasks for tasks, _ in rf.updates)
    rf.mgr.cancel_task("shown")
    assert rf.mgr.get_overall_progress() == 1.0
    rf.finish(visible)


def test_invisible_tasks_do_not_count_in_overall_progress(rf: RfHarness) -> None:
    task = rf.mgr.run_process(rf_jobs.until_cancelled, visible=False, when_done=rf.when_done)
    assert not rf.mgr.has_tasks() and rf.mgr.get_overall_progress() == 1.0
    assert rf.mgr.wait_until_settled(0) is True  # Rayforge waits for visible tasks only
    rf.mgr.cancel_task(task.key)  # cancel_task(key) does not see invisible tasks
    assert not task.is_cancelled()
    rf.mgr.cancel_task_by_id(task.id)
    assert task.get_status() == "canceled" and task in rf.done


def test_cancel_task_ends_a_process_task_at_once(make_rf: Any) -> None:
    """Rayforge: canceled, unlisted and ``when_done`` called before ``cancel_task`` returns."""
    h = make_rf(run_inline)
    started = threading.Event()
    task = h.mgr.run_process(
        rf_jobs.until_cancelled,
        key="proc_cancel",
        when_event=lambda task, event_name, data: started.set(),
        when_done=h.when_done,
    )
    assert started.wait(30)
    h.mgr.cancel_task("proc_cancel")
    assert h.done == [task] and h.done_threads == [threading.current_thread()]
    assert task.get_status() == "canceled" and task.is_cancelled() and task.is_final()
    with pytest.raises(CancelledError):
        task.result()
    assert h.mgr.get_task("proc_cancel") is None and not h.mgr._tasks and not h.mgr.has_tasks()
    h.mgr.cancel_task("proc_cancel")
    h.mgr.shutdown()  # the worker saw the cancel and returned; when_done is not called again
    assert h.done == [task]


def test_replacing_a_process_task_by_key(rf: RfHarness) -> None:
    first = rf.mgr.run_process(rf_jobs.until_cancelled, key="preview", when_done=rf.when_done)
    second = rf.mgr.run_process(rf_jobs.steps, 3, key="preview", when_done=rf.when_done)
    assert rf.done[:1] == [first] and first.get_status() == "canceled"  # called at once, as Rayforge
    assert rf.mgr.get_task("preview") is second
    rf.finish(second)
    assert second.result() == "process_done"
    assert rf.done.count(first) == 1


def test_cancel_task_by_id_for_visible_and_invisible_tasks(rf: RfHarness) -> None:
    hidden = rf.mgr.run_process(rf_jobs.until_cancelled, visible=False, when_done=rf.when_done)
    shown = rf.mgr.run_process(rf_jobs.until_cancelled, when_done=rf.when_done)
    rf.mgr.cancel_task_by_id(hidden.id)
    rf.mgr.cancel_task_by_id(shown.id)
    rf.mgr.cancel_task_by_id(12345)  # unknown: nothing happens
    assert hidden.get_status() == shown.get_status() == "canceled"
    assert rf.done == [hidden, shown]


def test_send_event_and_wait_is_acked_once_dispatched(rf: RfHarness) -> None:
    dispatched: list[Any] = []
    task = rf.mgr.run_process(
        rf_jobs.adopt, when_event=lambda task, event_name, data: dispatched.append(data), when_done=rf.when_done
    )
    rf.finish(task)
    assert task.result() is True and dispatched == [{"handle": 7}]


def test_send_event_and_wait_is_nacked_when_a_receiver_raises(rf: RfHarness) -> None:
    def broken(task: Task, event_name: str, data: Any) -> None:
        raise RuntimeError("cannot adopt")

    task = rf.mgr.run_process(rf_jobs.adopt, when_event=broken, when_done=rf.when_done)
    rf.finish(task)
    assert task.result() is False


def test_send_event_and_wait_times_out_with_rayforges_warning(rf: RfHarness, caplog: pytest.LogCaptureFixture) -> None:
    """Nobody pumps the main thread: the ask is never answered."""
    task = rf.mgr.run_process(rf_jobs.adopt, timeout=0.2, log=True, when_done=rf.when_done)
    quiet = rf.mgr.run_process(rf_jobs.adopt, timeout=0, when_done=rf.when_done)  # no wait at all
    with caplog.at_level(logging.WARNING, logger="rf_jobs"):
        assert task._core is not None and task._core.wait(30)  # ended while the main thread slept
        rf.finish(task)
        rf.finish(quiet)
    assert task.result() is False and quiet.result() is False
    assert f"Timeout waiting for adoption signal for {task.id}:adopt" in caplog.text


def test_send_event_and_wait_is_nacked_when_the_task_is_cancelled(make_rf: Any) -> None:
    mp = multiprocessing.get_context("spawn").Manager()
    try:
        outcome = mp.Queue()
        h = make_rf(shared_state=mp.dict(), worker_initializer=rf_jobs.init_worker, worker_initargs=("nack",))
        # The grace period is a hang guard here: after the nack the worker still reports
        # through the multiprocessing manager, which a loaded machine (Wine: seconds) can
        # make outlast the default 2 s, and a worker killed first never reports.
        h.mgr._core.configure(cancel_grace_period=60)
        task = h.mgr.run_process(rf_jobs.adopt_into, outcome, when_done=h.when_done)
        assert outcome.get(timeout=30) == "asking"
        h.mgr.cancel_task_by_id(task.id)  # before the main thread dispatched the event
        assert outcome.get(timeout=30) is False
        h.finish(task)
        assert task.get_status() == "canceled"
    finally:
        h.mgr.shutdown()
        mp.shutdown()


# -- the worker initializer and shared_state ---------------------------------------------------
def test_initializer_gets_the_shared_state_and_the_app_sees_it(make_rf: Any) -> None:
    h = make_rf(worker_initializer=rf_jobs.init_worker, worker_initargs=("hello",))
    task = h.mgr.run_process(rf_jobs.shared_value, "from-app", when_done=h.when_done)
    h.mgr.shared_state["from-app"] = "app value"  # the same dict the workers got
    h.finish(task)
    state = dict(h.mgr.shared_state)
    worker = state["task:from-app"]
    assert state[f"init:{worker}"] == "hello"
    assert task.result() in ("app value", None)  # the task may read before the app wrote
    second = h.mgr.run_process(rf_jobs.shared_value, "from-app", when_done=h.when_done)
    assert h.finish(second).result() == "app value"


def test_a_given_shared_state_is_used(make_rf: Any) -> None:
    mp = multiprocessing.get_context("spawn").Manager()
    try:
        shared = mp.dict()
        h = make_rf(worker_initializer=rf_jobs.init_worker, worker_initargs=("given",), shared_state=shared)
        assert h.mgr.shared_state is shared
        task = h.mgr.run_process(rf_jobs.pid, when_done=h.when_done)
        worker = h.finish(task).result()
        assert shared[f"init:{worker}"] == "given"
        h.mgr.shutdown()
        assert shared[f"init:{worker}"] == "given"  # not ours: shutdown leaves it alone
    finally:
        mp.shutdown()


def test_restart_worker_pool_runs_the_initializer_in_new_workers(make_rf: Any) -> None:
    h = make_rf(worker_initializer=rf_jobs.init_worker, worker_initargs=("v1",))
    h.mgr.restart_worker_pool()  # before any worker: nothing to do
    before = h.finish(h.mgr.run_process(rf_jobs.pid, when_done=h.when_done)).result()
    h.mgr.restart_worker_pool()
    after = h.finish(h.mgr.run_process(rf_jobs.pid, when_done=h.when_done)).result()
    assert after != before
    state = dict(h.mgr.shared_state)
    assert state[f"init:{before}"] == state[f"init:{after}"] == "v1"


def test_a_failing_initializer_fails_the_task(make_rf: Any) -> None:
    h = make_rf(worker_initializer=rf_jobs.failing_init)
    task = h.finish(h.mgr.run_process(rf_jobs.pid, when_done=h.when_done))
    assert task.get_status() == "failed"
    with pytest.raises(Exception, match="initializer broke"):
        task.result()


def test_proxy_initialize_then_use(no_leaks: None, tmp_path: Any) -> None:
    """Rayforge's app: ``task_mgr.initialize(worker_initializer=..., main_thread_scheduler=...)``."""
    proxy = TaskManagerProxy()
    proxy.restart_worker_pool()  # no manager yet: nothing to do
    proxy.initialize(
        worker_initializer=rf_jobs.init_worker, worker_initargs=("proxy",), main_thread_scheduler=run_inline
    )
    done = threading.Event()
    try:
        task = proxy.run_process(rf_jobs.pid, when_done=lambda t: done.set())
        assert done.wait(30)
        assert dict(proxy.shared_state)[f"init:{task.result()}"] == "proxy"
        with pytest.raises(RuntimeError, match="already been initialized"):
            proxy.initialize(main_thread_scheduler=run_inline)
    finally:
        proxy.shutdown()


def test_workers_have_rayforges_gettext_fallback(rf: RfHarness) -> None:
    task = rf.mgr.run_process(rf_jobs.translated, when_done=rf.when_done)
    assert rf.finish(task).result() == "untranslated text"


def test_rayforge_max_workers_caps_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    from tasker.compat.rayforge._checks import pool_size as _pool_size

    monkeypatch.delenv("RAYFORGE_MAX_WORKERS", raising=False)
    assert _pool_size() == {}
    monkeypatch.setenv("RAYFORGE_MAX_WORKERS", "1")
    assert _pool_size() == {"max_processes": 1}
    monkeypatch.setenv("RAYFORGE_MAX_WORKERS", "999")
    assert _pool_size() == {"max_processes": os.cpu_count() or 1}
    monkeypatch.setenv("RAYFORGE_MAX_WORKERS", "many")
    with pytest.raises(ValueError, match="RAYFORGE_MAX_WORKERS"):
        TaskManager(main_thread_scheduler=run_inline)


def test_bad_process_input(rf: RfHarness) -> None:
    async def coro(ctx: Any) -> None:
        pass

    with pytest.raises(TypeError, match="coroutine function"):
        rf.mgr.run_process(coro)
    with pytest.raises(TypeError, match="when_event"):
        rf.mgr.run_process(rf_jobs.pid, when_event=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cannot be sent to a worker"):
        rf.mgr.run_process(rf_jobs.describe, threading.Lock())
    assert not rf.mgr.has_tasks() and not rf.mgr._tasks
    with pytest.raises(TypeError, match="worker_initializer"):
        TaskManager(main_thread_scheduler=run_inline, worker_initializer="init")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="worker_initargs"):
        TaskManager(main_thread_scheduler=run_inline, worker_initargs=5)  # type: ignore[arg-type]
