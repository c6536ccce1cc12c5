"""``task_mgr``: the module-level proxy that creates the real manager on first use.

Importing tasker must stay cheap and start nothing, so this module imports no
other part of tasker at run time; the ``TaskManager`` is built (thread-safely)
the first time an attribute of the proxy is used.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
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
