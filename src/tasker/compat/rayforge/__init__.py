"""Rayforge 1.13.1's ``rayforge.shared.tasker`` API, on tasker's core.

Rayforge switches to tasker by making its ``rayforge/shared/tasker/__init__.py``::

    from tasker.compat.rayforge import *  # noqa: F403
    from tasker.compat.rayforge import install_as

    install_as(__name__)  # rayforge.shared.tasker.manager, .task, .context, .proxy, .progress

Names: ``task_mgr``, ``TaskManager``, ``TaskManagerProxy``, ``Task``,
``CancelledError``, ``ExecutionContext``, ``ExecutionContextProxy``. The
submodules mirror Rayforge's (``manager``, ``task``, ``context``, ``proxy``,
``progress``). Importing this package is cheap: the names load on first use
(a worker process only loads ``.proxy`` and ``.progress``). See
``docs/rayforge.md`` for where the semantics differ from tasker's own API.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import ExecutionContext
    from .manager import TaskManager, TaskManagerProxy, task_mgr
    from .proxy import ExecutionContextProxy
    from .task import CancelledError, Task

__all__ = [
    "CancelledError",
    "ExecutionContext",
    "ExecutionContextProxy",
    "Task",
    "TaskManager",
    "TaskManagerProxy",
    "task_mgr",
]

#: Rayforge's submodules of ``rayforge.shared.tasker``, provided here under the same names.
SUBMODULES = ("context", "manager", "progress", "proxy", "task")

_LAZY = {
    "CancelledError": "task",
    "ExecutionContext": "context",
    "ExecutionContextProxy": "proxy",
    "Task": "task",
    "TaskManager": "manager",
    "TaskManagerProxy": "manager",
    "task_mgr": "manager",
}


def install_as(package: str) -> None:
    """Make ``<package>.manager``, ``.task``, ... import this package's submodules.

    For the package that replaces Rayforge's own (``install_as(__name__)`` in its
    ``__init__.py``): ``from rayforge.shared.tasker.manager import TaskManager``
    then gets the very classes of this package, not copies.
    """
    parent = sys.modules.get(package)
    for name in SUBMODULES:
        module = import_module(f"{__name__}.{name}")
        sys.modules[f"{package}.{name}"] = module
        if parent is not None:
            setattr(parent, name, module)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
