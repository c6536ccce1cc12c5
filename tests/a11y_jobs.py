"""The task of the accessibility apps (``gtk/a11y_app.py``, ``widgets/a11y_scenarios.py``).

A thread task that does what the test tells it, through a queue, so every step
(progress, message, ending) is the test's.
"""

from __future__ import annotations

import queue
from typing import Any


def obey(context: Any, orders: queue.Queue[tuple[Any, ...]]) -> str:
    """Wait for orders: ``("progress", fraction, message)``, ``("finish", "ok" | "fail")``.

    Returns ``"done"`` (``finish ok``) or ``"stopped"`` once canceled; ``finish
    fail`` raises ``ValueError("disk full")``.
    """
    while True:
        if context.is_cancelled():
            return "stopped"
        try:
            order = orders.get(timeout=0.02)
        except queue.Empty:
            continue
        if order[0] == "progress":
            context.set_message(order[2])
            context.set_progress(order[1])
        elif order[0] == "finish":
            if order[1] == "fail":
                raise ValueError("disk full")
            return "done"
