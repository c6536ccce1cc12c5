"""Process tasks: a warm pool of worker processes.

    _pool.py      ProcessRunner: the budget, draining; composed of _dispatch.Dispatcher (dispatch,
                  sending ahead), _suspend.Pausing, _recycle.Recycling, _launch.LaunchGuard
    _reader.py    one reader thread per worker: its messages, its end
    _worker.py    one worker process as the parent sees it (WorkerState)
    _frozen.py    starting workers from a frozen (PyInstaller) application
    _child.py     the worker process's main
    _link.py      the worker's side of the channel (send, read, ask)
    _messages.py  how the kit's messages (``_remote._messages.Kind``) are framed here

Every OS call (the channel and its framing, shared memory, process groups, the
parent-death lifeline) is the platform seam's: ``tasker._platform``.

What every remote runner shares (the worker cell and reporter, the app-side
relay, errors, records, warnings, pickles + shared memory) is ``runners._remote``.

``ProcessRunner`` loads on first use: a worker process imports ``_child`` alone,
not the pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._remote._payload import Call
    from ._pool import ProcessRunner

__all__ = ["ProcessRunner", "prepare_first"]


def prepare_first(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    """A fresh manager's first process call, checked and pickled in the caller's thread."""
    from .._remote._payload import prepare_call

    return prepare_call(func, args, kwargs)


def __getattr__(name: str) -> Any:
    if name == "ProcessRunner":
        from ._pool import ProcessRunner

        return ProcessRunner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
