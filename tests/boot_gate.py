"""A module whose import waits until a test lets it go (preloaded by a worker: it stays STARTING).

A worker imports it before it reports READY (``prestart(preload=["boot_gate"])``).
With ``TASKER_TEST_BOOT_GATE`` naming a FIFO, the import blocks until every
writer of the FIFO has closed it: the test holds one open (``O_RDWR``, so that
nobody blocks opening it) and closes it to let the worker become ready. Without
the variable, importing it does nothing.
"""

from __future__ import annotations

import os

_path = os.environ.get("TASKER_TEST_BOOT_GATE")
if _path:
    # Non-blocking open: it must not wait for a writer that may have closed already
    # (then the read below sees EOF at once); blocking reads: EOF once the test closed its end.
    _fd = os.open(_path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        os.set_blocking(_fd, True)
        while os.read(_fd, 4096):
            pass
    finally:
        os.close(_fd)
