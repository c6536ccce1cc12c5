"""The lazy half of Rayforge's ``TaskManagerProxy``: build the manager on first use."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any


class LazyManager:
    """Forwards everything to a manager that ``_make(**options)`` builds on first use.

    ``initialize(**options)`` sets those options before; afterwards it raises
    ``RuntimeError``, as Rayforge's proxy does.
    """

    _option_names: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._instance: Any = None
        self._instance_lock = threading.Lock()
        self._init_kwargs: dict[str, Any] = {}

    def _make(self, **options: Any) -> Any:
        raise NotImplementedError

    def initialize(self, **kwargs: Any) -> None:
        """Set the options of the manager; raises RuntimeError once it exists."""
        unknown = sorted(set(kwargs) - set(self._option_names))
        if unknown:
            raise TypeError(
                f"unknown TaskManager option(s): {', '.join(unknown)}; known: {', '.join(self._option_names)}"
            )
        with self._instance_lock:
            if self._instance is not None:
                raise RuntimeError("TaskManager has already been initialized.")
            self._init_kwargs = dict(kwargs)

    def restart_worker_pool(self) -> None:
        """Replace the worker processes; nothing to do before the manager exists."""
        if self._instance is not None:
            self._instance.restart_worker_pool()

    def _get_instance(self) -> Any:
        instance = self._instance
        if instance is None:
            with self._instance_lock:
                instance = self._instance
                if instance is None:
                    instance = self._instance = self._make(**self._init_kwargs)
        return instance

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._get_instance(), name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._get_instance())

    def __len__(self) -> int:
        return len(self._get_instance())

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<rayforge TaskManagerProxy for {self._instance!r}>"
