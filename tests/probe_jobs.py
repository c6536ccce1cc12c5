"""A task function in a module of its own (see test_processes: preloading)."""

from __future__ import annotations

import sys
from typing import Any


def loaded(ctx: Any, name: str) -> bool:
    """Whether this worker has imported ``name``."""
    return name in sys.modules
