"""The public surface: exported names, the lazy proxy, typing-visible behaviour."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import tasker
from tasker import ExecutionContext, Task, TaskManager, TaskManagerProxy, TaskStatus, task_mgr

pytestmark = pytest.mark.timeout(60)


def test_exported_names_are_pinned() -> None:
    assert sorted(tasker.__all__) == sorted(
        [
            "RESERVED_KWARGS",
            "BatchError",
            "BatchTask",
            "CancelledError",
            "DelayedCall",
            "ExecutionContext",
            "InvalidStateError",
            "ManagerClosedError",
            "Options",
            "RemoteTaskError",
            "Task",
            "TaskError",
            "TaskManager",
            "TaskManagerProxy",
            "TaskStatus",
            "TaskTimeoutError",
            "UnsupportedPlatformError",
            "UpstreamError",
            "WorkerDiedError",
            "WorkerMemoryError",
            "WorkerStartError",
            "task_mgr",
            "when_all",
            "when_any",
        ]
    )
    for name in tasker.__all__:
        assert getattr(tasker, name) is not None
    assert issubclass(tasker.WorkerDiedError, tasker.TaskError)
    assert issubclass(tasker.WorkerMemoryError, tasker.WorkerDiedError)
    assert issubclass(tasker.WorkerStartError, tasker.TaskError)
    assert issubclass(tasker.TaskTimeoutError, tasker.TaskError)
    assert tasker.RESERVED_KWARGS == (
        "key", "when_done", "when_event", "timeout", "visible", "priority", "when_yield"
    )


def test_import_starts_nothing_and_imports_no_toolkit() -> None:
    code = (
        "import sys, threading, time, json\n"
        "t = time.perf_counter(); import tasker; from tasker import task_mgr; dt = time.perf_counter() - t\n"
        "mods = [m for m in ('gi', 'PySide6', 'PyQt6', 'tkinter', 'asyncio', 'multiprocessing', 'blinker')"
        " if m in sys.modules]\n"
        "print(json.dumps({'threads': threading.active_count(), 'mods': mods, 'ms': dt * 1000}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    info = json.loads(out.stdout)
    assert info["threads"] == 1
    assert info["mods"] == []


def test_status_is_a_str_enum() -> None:
    assert TaskStatus.COMPLETED == "completed"
    assert str(TaskStatus.CANCELED) == "canceled"
    assert [s.value for s in TaskStatus] == ["pending", "running", "completed", "failed", "canceled"]


def test_proxy_is_lazy_and_initialize_rules() -> None:
    proxy = TaskManagerProxy()
    assert proxy.__dict__["_manager"] is None
    proxy.initialize(main_thread_scheduler="manual", max_threads=2)
    with pytest.raises(TypeError, match="unknown TaskManager option"):
        proxy.initialize(bogus=1)
    assert len(proxy) == 0 and list(proxy) == [] and not proxy.has_tasks()
    assert bool(proxy) is True
    proxy.initialize(update_rate=10)  # created but nothing started yet: still allowed
    task = proxy.run_thread(lambda ctx: 1)
    with pytest.raises(RuntimeError, match="already in use"):
        proxy.initialize(max_threads=4)
    assert proxy.scheduler.pump_until(task.is_final, 10)
    proxy.shutdown()


def test_probing_private_names_does_not_build_the_manager() -> None:
    proxy = TaskManagerProxy()
    # pytest's fixture parser looks up such names on every module attribute.
    assert getattr(proxy, "_pytestfixturefunction", None) is None
    assert not hasattr(proxy, "_lifecycle")
    assert proxy.__dict__["_manager"] is None
    manager = proxy._get()
    assert proxy._lifecycle is manager._lifecycle  # forwarded once the manager exists
    manager.shutdown()


def test_task_mgr_is_a_proxy() -> None:
    assert isinstance(task_mgr, TaskManagerProxy)
    assert callable(task_mgr.run_process)


def test_independent_managers() -> None:
    a, b = TaskManager(main_thread_scheduler="manual"), TaskManager(main_thread_scheduler="manual")
    try:
        ta = a.run_thread(lambda ctx: "a", key="same")
        assert b.get_task("same") is None
        assert a.scheduler.pump_until(ta.is_final, 10)
    finally:
        a.shutdown()
        b.shutdown()


def test_auto_keys_are_unique_and_names_readable() -> None:
    mgr = TaskManager(main_thread_scheduler="manual")
    try:
        t1, t2 = mgr.run_thread(lambda ctx: 1), mgr.run_thread(lambda ctx: 1)
        assert t1.key != t2.key and t1.id != t2.id
        assert "auto key" in repr(t1.key)
        t3 = mgr.run_thread(lambda ctx: 1, key="named")
        assert t3.name == "named"
        assert "lambda" in t1.name
        assert isinstance(t1, Task)
    finally:
        mgr.shutdown()


def test_user_kwargs_reach_the_function() -> None:
    mgr = TaskManager(main_thread_scheduler="manual")

    def fn(ctx: ExecutionContext, a: int, *, scale: int = 1, label: str = "") -> str:
        return f"{label}{a * scale}"

    try:
        task = mgr.run_thread(fn, 2, scale=5, label="x", key="k")
        assert mgr.scheduler.pump_until(task.is_final, 10)
        assert task.result() == "x10"
    finally:
        mgr.shutdown()


def test_initialize_keeps_options_set_earlier() -> None:
    mgr = TaskManager(main_thread_scheduler="manual", max_threads=3)
    try:
        mgr.configure(update_rate=5)
        assert mgr.options.max_threads == 3, "a later initialize() must not reset earlier options"
        assert mgr.options.update_rate == 5
    finally:
        mgr.shutdown()


def test_exported_names_show_as_tasker_names() -> None:
    for name in tasker.__all__:
        value = getattr(tasker, name)
        if isinstance(value, type):
            assert value.__module__ == "tasker", name
    assert repr(tasker.TaskStatus.PENDING).startswith("<TaskStatus.")
    import pickle

    error = pickle.loads(pickle.dumps(tasker.TaskTimeoutError("late")))
    assert type(error) is tasker.TaskTimeoutError  # pickles resolve through the public name


def test_a_closed_manager_says_so_with_its_own_error() -> None:
    mgr = TaskManager(main_thread_scheduler="manual")
    mgr.shutdown()
    with pytest.raises(tasker.ManagerClosedError, match="shut down"):
        mgr.run_thread(lambda ctx: None)
    assert issubclass(tasker.ManagerClosedError, RuntimeError)


def test_manager_is_a_context_manager() -> None:
    with TaskManager(main_thread_scheduler="manual") as mgr:
        task = mgr.run_thread(lambda ctx: 3)
        assert task.wait(10)
    assert mgr._lifecycle.closed and task.result() == 3


def test_coroutine_receivers_are_refused() -> None:
    mgr = TaskManager(main_thread_scheduler="manual")

    async def on_update(sender: object, **kw: object) -> None: ...

    with pytest.raises(TypeError, match="coroutine function"):
        mgr.tasks_updated.connect(on_update)
    mgr.shutdown()
