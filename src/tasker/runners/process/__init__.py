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
pending. Elsewhere a fresh manager's first ``run_process`` checks its call in
the caller's thread (``_core._firststart.prepare_first``): a call pickle surely
takes and that nothing can change any more (``plain_call``) is left to the
pool's ``prepare`` on the starter thread, and the caller imports neither this
package nor pickle nor the payload code; any other call comes to
``prepare_first`` here, which pickles it there and then.
"""

from __future__ import annotations

import sys

from ..._core._firststart import PROCESSES, plain_call

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    from typing import Any, NoReturn

    from .._remote._payload import Call
    from ._pool import ProcessRunner

__all__ = ["ProcessRunner", "plain_call", "prepare_first"]

#: The engine runs here: every system that can start a process (``tasker._platform``).
SUPPORTED = PROCESSES


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


def __getattr__(name: str) -> Any:
    if name == "ProcessRunner":
        if not SUPPORTED:
            return refuse
        from ._pool import ProcessRunner

        return ProcessRunner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
