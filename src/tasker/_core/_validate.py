"""Checks made at the call, so mistakes fail fast with a message that helps."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

CO_COROUTINE = 0x80


def is_async_callable(func: Any) -> bool:
    """True for ``async def`` functions, also behind partials and bound methods."""
    while True:
        inner = getattr(func, "func", None)  # functools.partial
        if inner is None or not callable(inner):
            break
        func = inner
    func = getattr(func, "__func__", func)  # bound method
    code = getattr(func, "__code__", None)
    if code is None and not isinstance(func, type):
        call = getattr(type(func), "__call__", None)  # noqa: B004 - the class attribute, not callable()
        code = getattr(call, "__code__", None)
    return code is not None and bool(code.co_flags & CO_COROUTINE)


def check_func(
    method: str,
    wants_coroutine: bool,
    func: Any,
    key: Any,
    when_done: Any,
    when_event: Any,
    timeout: Any,
    visible: Any = True,
    priority: Any = 0,
) -> None:
    """Raise ``TypeError``/``ValueError`` for arguments that cannot work (``method``: the caller's name)."""
    if not callable(func):
        raise TypeError(f"{method}() needs a callable as its first argument, got {func!r}")
    if wants_coroutine and not is_async_callable(func):
        raise TypeError(
            f"{method}() needs an 'async def' function, got {_name(func)}; "
            "use run_thread() or run_process() for a plain function"
        )
    if not wants_coroutine and is_async_callable(func):
        raise TypeError(f"{method}() got the coroutine function {_name(func)}; use add_coroutine() for it")
    if key is not None:
        try:
            hash(key)
        except TypeError:
            raise TypeError(f"key must be hashable, got {type(key).__name__}: {key!r}") from None
    for label, callback in (("when_done", when_done), ("when_event", when_event)):
        if callback is not None and not callable(callback):
            raise TypeError(f"{label} must be callable or None, got {callback!r}")
    if timeout is not None and (not isinstance(timeout, int | float) or not timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if not isinstance(visible, bool):
        raise TypeError(f"visible must be True or False, got {visible!r}")
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise TypeError(f"priority must be an int (higher starts first; default 0), got {priority!r}")


def _name(func: Callable[..., Any] | Hashable) -> str:
    return str(getattr(func, "__qualname__", None) or repr(func))
