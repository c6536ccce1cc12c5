"""Notes a worker's niceness while it boots and imports, and while a task runs (``test_processes``)."""

from __future__ import annotations

import os

from tasker import ExecutionContext

IMPORTED_AT = os.nice(0)  # the worker's niceness as it imported this module (the task's, or the initializer's)
BOOTED_AT: int | None = None  # ... as it ran its initializer (``note_boot``)


def note_boot() -> None:
    global BOOTED_AT
    BOOTED_AT = os.nice(0)


def priorities(ctx: ExecutionContext) -> tuple[int | None, int, int]:
    return BOOTED_AT, IMPORTED_AT, os.nice(0)
