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
not the pool. Where no process can be started at all (WebAssembly: Emscripten,
WASI), ``ProcessRunner`` is a factory that refuses and the first ``run_process``
raises ``UnsupportedPlatformError`` at the call, rather than leaving its task
pending. Elsewhere ``prepare_first`` (what a fresh manager's first ``run_process``
calls in the caller's thread) pickles the call there and then, unless pickle
surely takes it and nothing can change it any more (``plain_call``): then the
pool's ``prepare`` pickles it on the starter thread, and the caller imports
neither pickle nor the payload code.
"""

from __future__ import annotations

import sys
from types import FunctionType
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from .._remote._payload import Call
    from ._pool import ProcessRunner

__all__ = ["ProcessRunner", "prepare_first"]

#: The engine runs here: every system that can start a process (``tasker._platform``).
SUPPORTED = sys.platform not in ("emscripten", "wasi")


def refuse(lifecycle: Any = None, options: Any = None) -> NoReturn:
    """The runner factory where no process can be started: raise, naming the platform."""
    from ..._core._errors import UnsupportedPlatformError

    raise UnsupportedPlatformError(
        f"process tasks do not run on this platform ({sys.platform!r}): it cannot start processes; "
        "run_thread and add_coroutine work here"
    )


def prepare_first(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call | None:
    """A fresh manager's first process call, checked in the caller's thread: pickled now,
    or None when ``plain_call`` says the starter thread may pickle it as well (``_firststart``)."""
    if not SUPPORTED:
        refuse()
    if plain_call(func, args, kwargs):
        return None
    from .._remote._payload import prepare_call

    return prepare_call(func, args, kwargs)


#: Values pickled by value whatever happens to them: immutable, and pickle takes every one.
_PLAIN = frozenset({type(None), bool, int, float, complex, str, bytes})
_PLAIN_ITEMS = 16  # longer tuples are pickled at the call (the check must stay cheap)


def plain_call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Would pickling the call later give the same bytes and surely not raise?

    True for a module-level function (pickled by reference: a name, the same later)
    of an imported module other than ``__main__`` (cloudpickle would copy its code
    and globals), whose arguments are immutable built-in values (``_PLAIN``) or
    short tuples of them. Anything else — a list, a dict, an array, an object —
    could change after the call returns, or fail to pickle, and is pickled at the call.
    """
    if type(func) is not FunctionType:
        return False
    module_name = func.__module__
    qualname = func.__qualname__
    if not isinstance(module_name, str) or "__main__" in module_name or "<" in qualname:
        return False
    target: Any = sys.modules.get(module_name)
    for part in qualname.split("."):  # pickle finds it again by this path, or it is not plain
        target = getattr(target, part, None)
    if target is not func:
        return False
    return all(_plain(value) for value in args) and all(_plain(value) for value in kwargs.values())


def _plain(value: Any, depth: int = 2) -> bool:
    kind = type(value)
    if kind in _PLAIN:
        return True
    if kind is tuple and depth and len(value) <= _PLAIN_ITEMS:
        return all(_plain(item, depth - 1) for item in value)
    return False


def __getattr__(name: str) -> Any:
    if name == "ProcessRunner":
        if not SUPPORTED:
            return refuse
        from ._pool import ProcessRunner

        return ProcessRunner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
