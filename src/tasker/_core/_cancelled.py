"""``tasker.CancelledError``: an ``asyncio.CancelledError``.

Kept apart from ``_errors`` because it imports asyncio (tens of milliseconds
in a fresh process). The manager imports this module on a background thread
once the first task starts (see ``TaskManager._warm_up``), and a process
runner's reader thread while its worker boots (both through
``_errors.import_cancelled_error``), so the first
``result()`` of a canceled task finds it ready.
"""

from __future__ import annotations

import asyncio


class CancelledError(asyncio.CancelledError):
    """The task was canceled (by ``cancel()``, a replacement or shutdown)."""


from ._public import public  # noqa: E402

public(CancelledError)
