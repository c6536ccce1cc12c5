"""asyncio on the GTK main loop (PyGObject 3.50+ ``gi.events``)."""

from __future__ import annotations

import asyncio
from typing import Any


def use_glib_asyncio() -> Any:
    """Make asyncio run on the GLib main loop; returns the policy in use.

    Call it once, before the application starts its main loop. Afterwards, on
    the GTK main thread, ``asyncio.get_running_loop()`` works inside callbacks
    while ``Gtk.Application.run()`` (or ``loop.run_forever()``) runs, so handlers
    can ``asyncio.ensure_future(coro())`` and the coroutine can ``await task``
    for any tasker task. Idempotent. Raises ``RuntimeError`` on PyGObject < 3.50.
    """
    try:
        from gi.events import GLibEventLoopPolicy
    except ImportError as exc:  # PyGObject < 3.50
        raise RuntimeError(
            "asyncio on the GLib main loop needs PyGObject 3.50 or later (gi.events); use when_done= callbacks instead"
        ) from exc
    policy = asyncio.get_event_loop_policy()
    if not isinstance(policy, GLibEventLoopPolicy):
        policy = GLibEventLoopPolicy()
        asyncio.set_event_loop_policy(policy)
    return policy
