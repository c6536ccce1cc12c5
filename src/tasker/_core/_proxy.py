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

import _thread  # (threading's lock, without threading's imports: ``import tasker`` stays light)
import atexit

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from ._manager import TaskManager
    from ._task import Task

    _Base = TaskManager
else:
    _Base = object


class TaskManagerProxy(_Base):
    """Forwards everything to one lazily created, shared ``TaskManager``."""

    def __init__(self) -> None:
        self.__dict__["_lock"] = _thread.allocate_lock()
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

    def swapped(self, manager: TaskManager) -> _Swapped:
        """For tests: ``manager`` serves every use of this proxy inside the block.

        Afterwards the proxy is as it was — the manager it had (or none yet, so
        the next use builds one) and the options ``initialize`` had been given;
        ``initialize`` calls made inside the block configured ``manager`` only.
        Nothing is shut down: ``manager`` is the caller's, and the one set aside
        is untouched. Blocks nest.
        """
        return _Swapped(self, manager)

    def _get(self) -> TaskManager:
        manager: TaskManager | None = self.__dict__["_manager"]
        if manager is None:
            with self._lock:
                manager = self.__dict__["_manager"]
                if manager is None:
                    from ._manager import TaskManager

                    manager = TaskManager(**self.__dict__["_pending_options"])
                    self.__dict__["_manager"] = manager
                    atexit.register(manager.shutdown, 1.0)
        return manager

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


class _Swapped:
    """``TaskManagerProxy.swapped``'s block (a class: ``contextlib`` costs ``import tasker`` its import)."""

    def __init__(self, proxy: TaskManagerProxy, manager: TaskManager) -> None:
        self._proxy = proxy
        self._manager = manager
        self._saved: tuple[Any, dict[str, Any]] | None = None

    def __enter__(self) -> TaskManager:
        state = self._proxy.__dict__
        with state["_lock"]:
            assert self._saved is None, "a swapped() block is entered once"
            self._saved = state["_manager"], state["_pending_options"]
            state["_manager"] = self._manager
            state["_pending_options"] = dict(self._saved[1])
        return self._manager

    def __exit__(self, *exc: object) -> None:
        state = self._proxy.__dict__
        assert self._saved is not None
        with state["_lock"]:
            state["_manager"], state["_pending_options"] = self._saved


task_mgr = TaskManagerProxy()


from ._public import public  # noqa: E402

public(TaskManagerProxy)
