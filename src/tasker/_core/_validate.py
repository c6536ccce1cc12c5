"""Checks made at the call, so mistakes fail fast with a message that helps.

Also the keyword arguments that configure a task instead of reaching its
function (``take_reserved``: the one place they are popped from a call's kwargs
and checked, for every way a task is started). They live here, not in a module
of their own, because a fresh application's first ``run_process`` imports this
module on the UI thread: one module fewer to find, read and run there.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from types import FunctionType
from typing import Any

from ._seconds import timeout_seconds

CO_COROUTINE = 0x80
CO_GENERATOR = 0x20
CO_ASYNC_GENERATOR = 0x200
#: ``async def`` functions: coroutines and async generators (``add_coroutine`` runs both).
CO_ASYNC = CO_COROUTINE | CO_ASYNC_GENERATOR

#: Which public method starts each kind (for error messages; ``_runner.register_runner`` adds to it).
METHODS: dict[str, str] = {
    "thread": "run_thread",
    "coroutine": "add_coroutine",
    "process": "run_process",
    "cluster": "run_on_cluster",
}


def is_async_callable(func: Any) -> bool:
    """True for ``async def`` functions (async generators too), also behind partials and bound methods."""
    if func.__class__ is FunctionType:  # the common case, first: no call (every task checks this)
        return bool(func.__code__.co_flags & CO_ASYNC)
    return bool(code_flags(func) & CO_ASYNC)


def is_generator_callable(func: Any) -> bool:
    """True for generator functions (``def`` with ``yield``), also behind partials and bound methods."""
    return bool(code_flags(func) & CO_GENERATOR)


def code_flags(func: Any) -> int:
    """The ``co_flags`` of the code ``func`` runs (0 if it has none to read)."""
    if func.__class__ is FunctionType:  # the common case, first: no getattr
        return int(func.__code__.co_flags)
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
    return int(code.co_flags) if code is not None else 0


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
    when_yield: Any = None,
) -> None:
    """Raise ``TypeError``/``ValueError`` for arguments that cannot work (``method``: the caller's name).

    Every task goes through here: the checks of arguments left at their
    defaults cost no call.
    """
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
    if when_done is not None and not callable(when_done):
        raise TypeError(f"when_done must be callable or None, got {when_done!r}")
    if when_event is not None and not callable(when_event):
        raise TypeError(f"when_event must be callable or None, got {when_event!r}")
    if when_yield is not None and not callable(when_yield):
        raise TypeError(f"when_yield must be callable or None, got {when_yield!r}")
    if timeout is not None:
        timeout_seconds(timeout, "timeout")
    if visible is not True and visible is not False:  # (bool has these two instances only)
        raise TypeError(f"visible must be True or False, got {visible!r}")
    if priority.__class__ is not int and (not isinstance(priority, int) or isinstance(priority, bool)):
        raise TypeError(f"priority must be an int (higher starts first; default 0), got {priority!r}")


def _name(func: Callable[..., Any] | Hashable) -> str:
    return str(getattr(func, "__qualname__", None) or repr(func))


# -- the reserved keyword arguments (``_reserved`` re-exports them) --------------------------------
#: The kinds that run generator functions as streams (``_stream``); the others refuse them at the call.
STREAMING_KINDS = frozenset({"thread", "coroutine", "process", "cluster"})

#: Keyword arguments that configure the task instead of reaching the function.
RESERVED_KWARGS = ("key", "when_done", "when_event", "timeout", "visible", "priority", "when_yield")

_INF = float("inf")


class Reserved(tuple[Any, Any, Any, "float | None", bool, int, Any]):
    """``(key, when_done, when_event, timeout, visible, priority, when_yield)``, by position or name.

    (A plain tuple subclass, not a ``NamedTuple``: building a named tuple class
    compiles its methods from source: two thirds of the instructions a fresh
    application's first ``run_process`` spent on the UI thread, measured.)
    """

    __slots__ = ()

    @property
    def key(self) -> Any:
        return self[0]

    @property
    def when_done(self) -> Any:
        return self[1]

    @property
    def when_event(self) -> Any:
        return self[2]

    @property
    def timeout(self) -> float | None:
        return self[3]

    @property
    def visible(self) -> bool:
        return self[4]

    @property
    def priority(self) -> int:
        return self[5]

    @property
    def when_yield(self) -> Any:
        return self[6]

    def _asdict(self) -> dict[str, Any]:
        return dict(zip(RESERVED_KWARGS, self, strict=True))


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
    return Reserved((key, when_done, when_event, timeout, visible, priority, when_yield))


def give_back(kwargs: dict[str, Any], reserved: Reserved) -> None:
    """Put the reserved names back into ``kwargs`` (a call handed to another path)."""
    kwargs.update(reserved._asdict())
