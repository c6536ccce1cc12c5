"""``task_mgr``: the module-level proxy that creates the real manager on first use.

Importing tasker must stay cheap and start nothing, so this module imports no
other part of tasker at run time; the ``TaskManager`` is built (thread-safely)
the first time an attribute of the proxy is used.

For tests, ``swapped(manager)`` puts another manager behind the proxy for a
block (tasker's pytest plugin uses it: the ``manual_task_mgr`` fixture), and
``initialized_options()`` tells what ``initialize`` was given, so that such a
manager can be built like the application's own.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from ._manager import TaskManager
    from ._task import Task

    _Base = TaskManager
else:
    _Base = object


class TaskManagerProxy(_Base):
    """Forwards everything to one lazily created, shared ``TaskManager``."""

    def __init__(self) -> None:
        self.__dict__["_lock"] = threading.Lock()
        self.__dict__["_manager"] = None
        self.__dict__["_pending_options"] = {}

    def initialize(self, **options: Any) -> None:
        """Configure the shared manager (scheduler, pool sizes, …) before use.

        Allowed until the first task starts; raises ``RuntimeError`` after.
        """
        with self._lock:
            manager = self.__dict__["_manager"]
            if manager is None:
                from ._options import Options

                merged = {**self.__dict__["_pending_options"], **options}
                Options.build(**{k: v for k, v in merged.items() if k != "main_thread_scheduler"})
                self.__dict__["_pending_options"] = merged
                return
        manager.configure(**options)
        with self._lock:
            self.__dict__["_pending_options"] = {**self.__dict__["_pending_options"], **options}

    def initialized_options(self) -> dict[str, Any]:
        """Every option given to ``initialize`` so far (a copy), the last value of each."""
        with self._lock:
            return dict(self.__dict__["_pending_options"])

    @contextmanager
    def swapped(self, manager: TaskManager) -> Iterator[TaskManager]:
        """For tests: ``manager`` serves every use of this proxy inside the block.

        Afterwards the proxy is as it was — the manager it had (or none yet, so
        the next use builds one) and the options ``initialize`` had been given;
        ``initialize`` calls made inside the block configured ``manager`` only.
        Nothing is shut down: ``manager`` is the caller's, and the one set aside
        is untouched. Blocks nest.
        """
        with self._lock:
            saved = self.__dict__["_manager"], self.__dict__["_pending_options"]
            self.__dict__["_manager"] = manager
            self.__dict__["_pending_options"] = dict(saved[1])
        try:
            yield manager
        finally:
            with self._lock:
                self.__dict__["_manager"], self.__dict__["_pending_options"] = saved

    def _get(self) -> TaskManager:
        manager = self.__dict__["_manager"]
        if manager is None:
            with self._lock:
                manager = self.__dict__["_manager"]
                if manager is None:
                    from ._manager import TaskManager

                    manager = TaskManager(**self.__dict__["_pending_options"])
                    self.__dict__["_manager"] = manager
                    atexit.register(manager.shutdown, 1.0)
        return cast("TaskManager", manager)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name.startswith("_") and self.__dict__["_manager"] is None:
            # A probe (pytest collecting a module that imported task_mgr, mock,
            # a debugger): no public name, so no reason to build the manager.
            raise AttributeError(name)
        return getattr(self._get(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._get(), name, value)

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self) -> Iterator[Task[Any]]:
        return iter(self._get())

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        manager = self.__dict__["_manager"]
        return f"<TaskManagerProxy for {manager!r}>" if manager else "<TaskManagerProxy (not started)>"


task_mgr = TaskManagerProxy()


from ._public import public  # noqa: E402

public(TaskManagerProxy)
