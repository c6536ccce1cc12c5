"""The surface of tasker.compat.rayforge: names, submodules, the proxy, import cost."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import pytest

import tasker.compat.rayforge as rf_compat
from tasker.compat.rayforge import (
    CancelledError,
    ExecutionContext,
    ExecutionContextProxy,
    Task,
    TaskManager,
    TaskManagerProxy,
    task_mgr,
)
from tasker.compat.rayforge.progress import NoOpProgressContext, ProgressContext, set_progress

from .conftest import run_inline

pytestmark = pytest.mark.timeout(60)


def test_exported_names() -> None:
    assert sorted(rf_compat.__all__) == [
        "CancelledError",
        "ExecutionContext",
        "ExecutionContextProxy",
        "Task",
        "TaskManager",
        "TaskManagerProxy",
        "task_mgr",
    ]
    assert isinstance(task_mgr, TaskManagerProxy)
    import asyncio

    assert CancelledError is asyncio.CancelledError  # Rayforge re-exports asyncio's
    assert issubclass(ExecutionContext, ProgressContext) and issubclass(ExecutionContextProxy, ProgressContext)
    with pytest.raises(AttributeError):
        rf_compat.nothing_here  # noqa: B018


def test_star_import_gives_rayforges_names() -> None:
    namespace: dict[str, Any] = {}
    exec("from tasker.compat.rayforge import *", namespace)
    assert {"task_mgr", "TaskManager", "TaskManagerProxy", "Task", "CancelledError"} <= set(namespace)
    assert "install_as" not in namespace


def test_install_as_aliases_rayforges_submodules() -> None:
    """The one-file switch: rayforge/shared/tasker/__init__.py re-exports and installs."""
    code = (
        "import sys, types, json\n"
        "pkg = types.ModuleType('rayforge_like.shared.tasker'); sys.modules[pkg.__name__] = pkg\n"
        "exec('from tasker.compat.rayforge import *\\n"
        "from tasker.compat.rayforge import install_as\\n"
        "install_as(__name__)', pkg.__dict__)\n"
        "from rayforge_like.shared.tasker.manager import TaskManager, TaskManagerProxy\n"
        "from rayforge_like.shared.tasker.task import Task, CancelledError\n"
        "from rayforge_like.shared.tasker.context import ExecutionContext\n"
        "from rayforge_like.shared.tasker.proxy import ExecutionContextProxy\n"
        "from rayforge_like.shared.tasker.progress import ProgressContext\n"
        "import tasker.compat.rayforge as rf\n"
        "print(json.dumps([TaskManager is rf.TaskManager, Task is rf.Task, pkg.task_mgr is rf.task_mgr,\n"
        "    pkg.manager is sys.modules['tasker.compat.rayforge.manager'], ExecutionContext is rf.ExecutionContext]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [True] * 5


def test_importing_is_cheap_and_starts_nothing() -> None:
    code = (
        "import sys, threading, json\n"
        "import tasker.compat.rayforge\n"
        "light = [m for m in ('asyncio', 'blinker', 'multiprocessing') if m in sys.modules]\n"
        "from tasker.compat.rayforge import task_mgr, TaskManager\n"
        "m = TaskManager(main_thread_scheduler=lambda f, *a, **k: f(*a, **k))\n"
        "print(json.dumps({'light': light, 'threads': threading.active_count(),\n"
        "    'mp': 'multiprocessing.managers' in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"light": [], "threads": 1, "mp": False}


def test_proxy_creates_its_manager_on_first_use_with_an_inline_scheduler(no_leaks: None) -> None:
    proxy = TaskManagerProxy()
    assert proxy._instance is None and bool(proxy)
    with pytest.raises(TypeError, match="unknown TaskManager option"):
        proxy.initialize(max_workers=3)
    proxy.initialize(main_thread_scheduler="manual")  # replaced by the next call, as in Rayforge
    proxy.initialize()
    try:
        assert len(proxy) == 0 and list(proxy) == [] and not proxy.has_tasks()
        assert isinstance(proxy._instance, TaskManager)
        threads: list[threading.Thread] = []
        done = threading.Event()

        def body() -> str:
            return "ran"

        def when_done(task: Task) -> None:
            threads.append(threading.current_thread())
            done.set()

        task = proxy.run_thread(body, when_done=when_done)
        assert done.wait(10) and task.result() == "ran"
        assert threads[0] is not threading.current_thread()  # inline: where the ending happened
        with pytest.raises(RuntimeError, match="already been initialized"):
            proxy.initialize()
    finally:
        proxy.shutdown()


def test_a_test_may_swap_the_proxys_instance(no_leaks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rayforge's conftest: ``monkeypatch.setattr(tasker.task_mgr, "_instance", task_mgr)``."""
    proxy = TaskManagerProxy()
    mine = TaskManager(main_thread_scheduler=run_inline)
    try:
        monkeypatch.setattr(proxy, "_instance", mine)
        assert proxy.tasks_updated is mine.tasks_updated
        assert proxy.loop is mine.loop
    finally:
        mine.shutdown()


def test_task_manager_needs_a_scheduler_argument() -> None:
    with pytest.raises(TypeError):
        TaskManager()  # type: ignore[call-arg]


def test_progress_helpers() -> None:
    class Recorder(ProgressContext):
        def __init__(self) -> None:
            self.values: list[float] = []
            self.messages: list[str] = []
            super().__init__(total=100.0)

        def is_cancelled(self) -> bool:
            return False

        def set_message(self, message: str) -> None:
            self.messages.append(message)

        def flush(self) -> None:
            pass

        def _report_normalized_progress(self, progress: float) -> None:
            self.values.append(progress)

        def _create_sub_context(self, base_progress: float, progress_range: float, total: float) -> ProgressContext:
            return NoOpProgressContext(base_progress, progress_range, total)

    rec = Recorder()
    set_progress(rec, 25, "quarter")
    set_progress(rec, 50)
    set_progress(None, 1.0, "nobody")
    assert rec.values == [0.25, 0.5] and rec.messages == ["quarter"]
    rec.set_total(-1)
    assert rec._total == 1.0
    noop = NoOpProgressContext()
    assert not noop.is_cancelled()
    assert isinstance(noop.sub_context(0.0, 0.5), NoOpProgressContext)


def test_pyinstaller_bundles_the_compat_submodules() -> None:
    """A frozen Rayforge must ship the modules this package loads by name (and workers unpickle)."""
    pytest.importorskip("PyInstaller")
    import os
    import runpy

    from tasker._pyinstaller import get_hook_dirs

    (hooks,) = get_hook_dirs()
    hook = os.path.join(hooks, "hook-tasker.compat.rayforge.py")
    found = set(runpy.run_path(hook)["hiddenimports"])
    assert {f"tasker.compat.rayforge.{name}" for name in rf_compat.SUBMODULES} <= found
