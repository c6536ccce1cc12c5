"""tasker: background work for desktop apps, reported on the UI's main thread.

``from tasker import task_mgr`` and start work with ``add_coroutine``,
``run_thread`` or ``run_process``. Importing tasker starts no thread or process
and imports no GUI toolkit; the names below are loaded on first access.
"""

from __future__ import annotations

from ._core._proxy import TaskManagerProxy, task_mgr

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    from typing import Any

    from ._core._batch import BatchTask
    from ._core._cancelled import CancelledError
    from ._core._chain import when_all, when_any
    from ._core._context import ExecutionContext
    from ._core._delivery import DelayedCall
    from ._core._errors import (
        BatchError,
        InvalidStateError,
        ManagerClosedError,
        RemoteTaskError,
        TaskError,
        TaskTimeoutError,
        UnsupportedPlatformError,
        UpstreamError,
        WorkerDiedError,
        WorkerMemoryError,
        WorkerStartError,
    )
    from ._core._manager import TaskManager
    from ._core._options import Options
    from ._core._reserved import RESERVED_KWARGS
    from ._core._status import TaskStatus
    from ._core._task import Task

__version__ = "0.1.0"

__all__ = [
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

_LAZY = {
    "BatchError": "._core._errors",
    "BatchTask": "._core._batch",
    "UpstreamError": "._core._errors",
    "when_all": "._core._chain",
    "when_any": "._core._chain",
    "ExecutionContext": "._core._context",
    "CancelledError": "._core._cancelled",
    "InvalidStateError": "._core._errors",
    "ManagerClosedError": "._core._errors",
    "Options": "._core._options",
    "RemoteTaskError": "._core._errors",
    "TaskError": "._core._errors",
    "TaskTimeoutError": "._core._errors",
    "UnsupportedPlatformError": "._core._errors",
    "WorkerDiedError": "._core._errors",
    "WorkerMemoryError": "._core._errors",
    "WorkerStartError": "._core._errors",
    "TaskManager": "._core._manager",
    "DelayedCall": "._core._delivery",
    "RESERVED_KWARGS": "._core._reserved",
    "TaskStatus": "._core._status",
    "Task": "._core._task",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tasker' has no attribute {name!r}")
    # (what ``from ._core._x import name`` runs; importlib.import_module would import importlib)
    value = getattr(__import__(module[1:], globals(), None, [name], 1), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
