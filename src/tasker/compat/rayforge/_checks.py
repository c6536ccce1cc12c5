"""Small helpers of the Rayforge manager: argument checks, the pool size, the inline scheduler."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any


def run_inline(callback: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """Rayforge's default main-thread scheduler: run the callback at once, in the calling thread."""
    callback(*args, **kwargs)


def pool_size() -> dict[str, Any]:
    """Rayforge's ``RAYFORGE_MAX_WORKERS``: at most that many worker processes (and the CPUs)."""
    value = os.environ.get("RAYFORGE_MAX_WORKERS")
    if value is None:
        return {}
    try:
        wanted = int(value)
    except ValueError:
        raise ValueError(f"RAYFORGE_MAX_WORKERS must be a whole number of processes, got {value!r}") from None
    return {"max_processes": max(1, min(wanted, os.cpu_count() or 1))}


def check_plain(method: str, func: Any) -> None:
    if not callable(func):
        raise TypeError(f"{method}() needs a callable as its first argument, got {func!r}")
    if inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(getattr(func, "__call__", None)):  # noqa: B004
        raise TypeError(f"{method}() got the coroutine function {func_name(func)}; use add_coroutine() for it")


def check_number(method: str, name: str, value: Any, unit: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise TypeError(f"{method}(): {name} must be a number of {unit}, got {value!r}")


def func_name(func: Any) -> str:
    inner = getattr(func, "func", func)  # functools.partial
    return str(getattr(inner, "__qualname__", None) or type(inner).__name__)
