"""The one interface every implementation is driven through.

Scenarios only see ``Adapter``: submit a task of a kind, get ``on_done``
called on the main loop with a result getter, cancel cooperatively, kill a
stuck task, shut down. Libraries are imported inside ``__init__`` so the
parent process can list implementations without importing any of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bench.mainloop import Getter, MainLoop

OnDone = Callable[[Getter], None]
THREAD, CORO, PROCESS, CLUSTER = "thread", "coro", "process", "cluster"
CPUS = os.cpu_count() or 1


class NotSupported(Exception):
    """The implementation has no way to do what the scenario asks."""


@dataclass(frozen=True)
class Config:
    """Pool sizes are the same for every implementation in a scenario."""

    processes: int = CPUS
    threads: int = min(32, CPUS + 4)  # ThreadPoolExecutor's own default
    grace: float | None = None  # tasker cancel_grace_period; None = default
    #: more TaskManager options, for tasker only (e.g. worker recycling)
    tasker_options: dict[str, Any] = field(default_factory=dict)


class Adapter:
    """Base class; subclasses set the class attributes and the hooks."""

    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]]
    #: kinds whose task functions receive the library's own ExecutionContext
    ctx_kinds: ClassVar[frozenset[str]] = frozenset()
    #: can stop a running task that never checks for cancellation
    can_kill: ClassVar[str | None] = "cannot stop a running task"
    #: distribution names needed (for the dependency check)
    requires: ClassVar[tuple[str, ...]] = ()
    #: one-line description for the report
    about: ClassVar[str] = ""
    #: if set, the only scenarios this implementation appears in (a peer of one kind only)
    scenarios: ClassVar[frozenset[str] | None] = None

    def __init__(self, loop: MainLoop, cfg: Config) -> None:
        self.loop = loop
        self.cfg = cfg

    @property
    def process_workers(self) -> int:
        """How many process tasks really run at once."""
        return self.cfg.processes

    def submit(
        self, kind: str, fn: Callable[..., Any], *args: Any, on_done: OnDone,
        cancellable: bool = False,
    ) -> Any:
        """Start ``fn(ctx, *args)``; return a handle for cancel()/kill()."""
        raise NotImplementedError

    def cancel(self, handle: Any) -> None:
        """Ask a task to stop; it notices at its next is_cancelled()."""
        raise NotSupported("no cooperative cancellation")

    def kill(self, handle: Any) -> None:
        """Stop a task that never checks for cancellation."""
        raise NotSupported(self.can_kill or "cannot stop a running task")

    def map(self, fn: Callable[..., Any], items: list[Any], *, on_done: OnDone, kind: str = PROCESS) -> Any:
        """Run ``fn(ctx, item)`` for each item in ``kind`` (processes, or the cluster's workers);
        ``on_done`` gets the results' list."""
        raise NotSupported("no map")

    def stream(self, n: int, on_value: Callable[[Any], None], on_done: OnDone) -> Any:
        """A process sends ``n`` small values one by one; each reaches ``on_value`` on the main loop."""
        raise NotSupported("no stream from a process")

    def shutdown(self) -> None:
        raise NotImplementedError
