"""Exported names show as ``tasker.X`` (tracebacks, reprs, pickles), not their private module."""

from __future__ import annotations

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)
if TYPE_CHECKING:
    from typing import Any


def public(*objects: Any) -> None:
    """Give each class or function the ``tasker`` module (``tasker.X`` resolves it lazily)."""
    for obj in objects:
        obj.__module__ = "tasker"
