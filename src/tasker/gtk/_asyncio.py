"""asyncio on the GTK main loop (PyGObject's ``gi.events``).

Two ways, chosen by what the installed PyGObject offers::

    PyGObject whose GLibEventLoop is a context manager (newer than 3.50; 3.58 tested)
        GLibEventLoop()  ─ entered ─►  registered for GLib's default main context:
        Gtk.Application.run() and loop.run_forever() both drive it; no policy
        (event loop policies are deprecated from Python 3.14, gone in 3.16).
        The same class is asyncio.Runner's / asyncio.run's loop_factory.
    PyGObject 3.50 (gi.events without that)
        asyncio.set_event_loop_policy(GLibEventLoopPolicy()), as PyGObject's
        own documentation says for that version.
    older PyGObject
        RuntimeError: no gi.events.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from typing import Any

# The loop use_glib_asyncio made and entered (the modern way); None before.
# Invariant: when set and not closed, it is registered for GLib's default main context.
_entered: Any = None
_lock = threading.Lock()


def glib_loop_factory() -> Any:
    """PyGObject's ``GLibEventLoop`` class when it can serve as a loop factory, else None.

    Pass it to ``asyncio.Runner(loop_factory=...)`` or ``asyncio.run(main(),
    loop_factory=...)`` (Python 3.12+) to run a coroutine on the GLib main loop.
    None on PyGObject without ``gi.events`` or whose ``GLibEventLoop`` cannot be
    made without arguments (3.50).
    """
    try:
        from gi.events import GLibEventLoop
    except ImportError:  # PyGObject < 3.50
        return None
    if not hasattr(GLibEventLoop, "__enter__"):  # 3.50: needs a main context, no registration
        return None
    return GLibEventLoop


def use_glib_asyncio() -> asyncio.AbstractEventLoop:
    """Make asyncio run on the GLib main loop; returns that asyncio loop.

    Call it once, on the main thread, before the application starts its main
    loop. Afterwards, on the GTK main thread, ``asyncio.get_running_loop()``
    works inside callbacks while ``Gtk.Application.run()`` (or the returned
    loop's ``run_forever()``) runs, so handlers can ``asyncio.ensure_future(coro())``
    and the coroutine can ``await task`` for any tasker task. Idempotent.

    Where PyGObject's ``GLibEventLoop`` is a context manager (newer than 3.50)
    no event loop policy is touched (policies are deprecated from Python 3.14):
    a ``GLibEventLoop`` is made and entered, which registers it for GLib's
    default main context. On PyGObject 3.50 the ``GLibEventLoopPolicy`` is
    installed, as that version requires. Raises ``RuntimeError`` on PyGObject
    < 3.50, or when called off the main thread.
    """
    global _entered
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("use_glib_asyncio() must be called on the main thread (GLib's default main context)")
    try:
        from gi.events import GLibEventLoopPolicy
    except ImportError as exc:  # PyGObject < 3.50
        raise RuntimeError(
            "asyncio on the GLib main loop needs PyGObject 3.50 or later (gi.events); use when_done= callbacks instead"
        ) from exc
    factory = glib_loop_factory()
    if factory is not None:
        with _lock:
            if _entered is None or _entered.is_closed():
                loop = factory()
                loop.__enter__()  # registered until closed; Gio.Application.run finds it
                _entered = loop
            entered: asyncio.AbstractEventLoop = _entered
            return entered
    return _install_policy(GLibEventLoopPolicy)


def _install_policy(policy_class: Any) -> asyncio.AbstractEventLoop:
    """PyGObject 3.50: the policy is its only way (deprecated API, hence the filter)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        policy = asyncio.get_event_loop_policy()
        if not isinstance(policy, policy_class):
            policy = policy_class()
            asyncio.set_event_loop_policy(policy)
        loop: asyncio.AbstractEventLoop = policy.get_event_loop()
    return loop
