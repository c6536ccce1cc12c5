"""Process tasks: a warm pool of worker processes.

    _pool.py      ProcessRunner: the budget, dispatch, sending ahead, draining
    _reader.py    one reader thread per worker: its messages, its end
    _worker.py    one worker process as the parent sees it (WorkerState)
    _group.py     a worker leads a process group that dies with it
    _frozen.py    starting workers from a frozen (PyInstaller) application
    _child.py     the worker process's main
    _link.py      the worker's side of the channel (send, read, ask)
    _messages.py  every message, both ways; _wire.py the framing; _payload.py pickles + shared memory
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._pool import ProcessRunner

__all__ = ["ProcessRunner"]


def __getattr__(name: str) -> Any:
    """``ProcessRunner`` on first use: a worker process imports ``_child`` alone, not the pool."""
    if name == "ProcessRunner":
        from ._pool import ProcessRunner

        return ProcessRunner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
