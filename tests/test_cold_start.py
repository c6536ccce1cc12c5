"""What a cold start pays: ``import tasker``, and a worker's boot, import only what they need.

``typing`` (with ``re``, ``contextlib``, ``enum``...) and ``logging`` (with ``traceback``,
``weakref``, ``string``...) cost a fresh interpreter milliseconds each. ``import tasker``
and ``from tasker import task_mgr, TaskManager`` import neither; a worker process boots
without them, and its log records still reach the parent once its code imports
``logging`` (an import hook installs the forwarding handler right then).
"""

from __future__ import annotations

import ast
import logging
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasker import TaskManager, task_mgr
from tasker.runners.process._child import AfterImport

import bare_jobs
from conftest import Harness

HEAVY = ("typing", "logging", "re", "contextlib", "traceback", "signal")

#: The lean worker boot is the Linux engine's. The posix engine's worker loads psutil (which
#: imports typing, re and contextlib), and the Windows engine's worker its platform module,
#: which imports logging: their boots are not lean, and their records are forwarded from boot.
lean_boot_only = pytest.mark.skipif(
    sys.platform != "linux" or os.environ.get("TASKER_PLATFORM", "linux") != "linux",
    reason="the lean worker boot is the Linux engine's (the posix engine loads psutil, the Windows one logging)",
)

PROBE = """
import sys
before = set(sys.modules)
import tasker
plain = set(sys.modules) - before
from tasker import task_mgr, TaskManager
names = set(sys.modules) - before
print(sorted(plain)); print(sorted(names))
"""


def test_import_tasker_and_its_manager_import_neither_typing_nor_logging() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True)
    plain, names = (ast.literal_eval(line) for line in done.stdout.splitlines()[-2:])
    assert [m for m in HEAVY if m in names] == [], names
    assert "threading" not in plain, plain  # (the proxy's lock is _thread's)
    assert {m for m in plain if m.startswith("tasker")} == {
        "tasker", "tasker._core", "tasker._core._proxy", "tasker._core._public"
    }


@lean_boot_only
def test_a_worker_boots_without_typing_or_logging(harness: Harness) -> None:
    task = harness.mgr.run_process(bare_jobs.loaded_modules, when_done=harness.when_done)
    loaded = harness.finish(task).result()
    assert "tasker.runners.process._child" in loaded  # (it is the worker's list)
    assert [m for m in HEAVY if m in loaded] == []


@lean_boot_only
def test_a_worker_forwards_the_records_of_its_first_logging_import(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tests.bare"):
        task = harness.mgr.run_process(bare_jobs.log_after_first_import, "hello", when_done=harness.when_done)
        had, handlers = harness.finish(task).result()
    assert had is False  # logging was not imported before this task
    assert handlers == 1  # the forwarding handler, installed by the import itself
    records = [r for r in caplog.records if r.name == "tests.bare"]
    assert [r.getMessage() for r in records] == ["first import: hello"]
    assert records[0].processName.startswith("tasker-worker-")


@pytest.fixture
def probe_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = "tasker_test_after_import_probe"
    (tmp_path / f"{name}.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    yield name
    sys.modules.pop(name, None)


def test_after_import_runs_once_right_after_the_module_ran(probe_module: str) -> None:
    seen: list[Any] = []
    hook = AfterImport(probe_module, lambda module: seen.append((module, module.VALUE)))  # type: ignore[attr-defined]
    sys.meta_path.insert(0, hook)
    try:
        module = __import__(probe_module)
        assert seen == [(module, 42)]
        assert hook.spent and hook in sys.meta_path  # one shot, left in place (see AfterImport)
        del sys.modules[probe_module]
        __import__(probe_module)  # a second import of it calls nothing
        assert len(seen) == 1
    finally:
        if hook in sys.meta_path:
            sys.meta_path.remove(hook)


def test_after_import_leaves_a_missing_module_missing(probe_module: str) -> None:
    seen: list[Any] = []
    hook = AfterImport(probe_module + "_absent", seen.append)
    sys.meta_path.insert(0, hook)
    try:
        with pytest.raises(ModuleNotFoundError):
            __import__(probe_module + "_absent")
        assert seen == []
        assert not hook.spent  # (still armed: the module may appear later)
        other = __import__(probe_module)  # other modules: not its business
        assert isinstance(other, types.ModuleType)
    finally:
        if hook in sys.meta_path:
            sys.meta_path.remove(hook)


def test_swapped_blocks_nest_and_restore_the_proxy() -> None:
    first = TaskManager(main_thread_scheduler=lambda fn, *a: fn(*a))
    second = TaskManager(main_thread_scheduler=lambda fn, *a: fn(*a))
    try:
        before = task_mgr.__dict__["_manager"], task_mgr.initialized_options()
        with task_mgr.swapped(first) as outer:
            assert outer is first and task_mgr._get() is first
            with task_mgr.swapped(second) as inner:
                assert inner is second and task_mgr._get() is second
            assert task_mgr._get() is first
        assert (task_mgr.__dict__["_manager"], task_mgr.initialized_options()) == before
        block = task_mgr.swapped(first)
        with block, pytest.raises(AssertionError, match="entered once"), block:
            pass
    finally:
        first.shutdown()
        second.shutdown()
