"""The keyword arguments that configure a task instead of reaching its function.

``take_reserved`` is the one place they are popped from a call's kwargs and
checked (``check_func``), for every way a task is started (``_submit``, a
fresh manager's first ``run_process``, ``map``, ``then``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._validate import check_func, is_generator_callable

#: The kinds that run generator functions as streams (``_stream``); the others refuse them at the call.
STREAMING_KINDS = frozenset({"thread", "coroutine", "process", "cluster"})

#: Keyword arguments that configure the task instead of reaching the function.
RESERVED_KWARGS = ("key", "when_done", "when_event", "timeout", "visible", "priority", "when_yield")

_INF = float("inf")


class Reserved(NamedTuple):
    key: Any
    when_done: Any
    when_event: Any
    timeout: float | None
    visible: bool
    priority: int
    when_yield: Any


def take_reserved(method: str, kind: str, func: Any, kwargs: dict[str, Any]) -> Reserved:
    """Pop the reserved names from ``kwargs`` and check them with ``func`` (raises at the call)."""
    pop = kwargs.pop
    key = pop("key", None)
    when_done = pop("when_done", None)
    when_event = pop("when_event", None)
    timeout = pop("timeout", None)
    visible = pop("visible", True)
    priority = pop("priority", 0)
    when_yield = pop("when_yield", None)
    check_func(method, kind == "coroutine", func, key, when_done, when_event, timeout, visible, priority, when_yield)
    if kind not in STREAMING_KINDS and is_generator_callable(func):
        raise TypeError(
            f"{method}() cannot stream the generator function {getattr(func, '__qualname__', func)!r} yet: "
            "generator tasks run with run_thread() or add_coroutine() (an async generator)"
        )
    if timeout is not None and timeout == _INF:
        timeout = None  # float("inf"): no timeout
    return Reserved(key, when_done, when_event, timeout, visible, priority, when_yield)


def give_back(kwargs: dict[str, Any], reserved: Reserved) -> None:
    """Put the reserved names back into ``kwargs`` (a call handed to another path)."""
    kwargs.update(reserved._asdict())
