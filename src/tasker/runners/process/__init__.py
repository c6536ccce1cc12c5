"""Process tasks: a warm pool of worker processes.

    _pool.py      ProcessRunner: the budget, dispatch, sending ahead, draining
    _reader.py    one reader thread per worker: its messages, its end
    _worker.py    one worker process as the parent sees it (WorkerState)
    _group.py     a worker leads a process group that dies with it
    _frozen.py    starting workers from a frozen (PyInstaller) application
    _child.py     the worker process's main
    _link.py      the worker's side of the channel (send, read, ask)
    _messages.py  every message, both ways; _wire.py the framing; _payload.py pickles + shared memory

``ProcessRunner`` loads on first use: a worker process imports ``_child`` alone,
not the pool. On a platform the engine does not run on (Windows: it needs Unix
sockets with fd passing, process groups and ``/proc``; docs/windows.md),
``ProcessRunner`` is a factory that refuses and ``prepare_first`` (what a fresh
manager's first ``run_process`` calls in the caller's thread) raises too: the
first ``run_process`` raises ``UnsupportedPlatformError`` at the call, rather than
leaving its task pending while workers fail to start.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, NoReturn

from ..._core._errors import UnsupportedPlatformError

if TYPE_CHECKING:
    from ._payload import Call
    from ._pool import ProcessRunner

__all__ = ["ProcessRunner", "prepare_first"]

#: The engine runs here: Linux and other POSIX systems, and Windows (``_platform._windows``).
SUPPORTED = True


def refuse(lifecycle: Any = None, options: Any = None) -> NoReturn:
    """The runner factory where the engine does not run: raise, naming the platform."""
    raise UnsupportedPlatformError(
        f"process tasks do not run on this platform ({sys.platform!r}) yet: tasker's process engine "
        "needs Linux (Unix-domain sockets that pass file descriptors, process groups, /proc); "
        "run_thread and add_coroutine work here (see docs/windows.md)"
    )


def prepare_first(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    """A fresh manager's first process call, checked and pickled in the caller's thread."""
    if not SUPPORTED:
        refuse()
    from ._payload import prepare_call

    return prepare_call(func, args, kwargs)


def __getattr__(name: str) -> Any:
    if name == "ProcessRunner":
        if not SUPPORTED:
            return refuse
        from ._pool import ProcessRunner

        return ProcessRunner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
