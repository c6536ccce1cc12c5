"""tasker's demo application: ``python -m tasker.demo``.

A GTK 4 window when a display is available, a live terminal view (``rich``)
otherwise; the same tasks in both. See ``python -m tasker.demo --help``.
"""

from __future__ import annotations

from ._main import main

__all__ = ["main"]
