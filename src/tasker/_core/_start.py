"""``TaskManager``'s typed ways to start work (a mixin, to keep ``_manager`` short).

    add_coroutine / run_thread / run_process / run_on_cluster ──► TaskManager._submit(kind, …)

Each method is typed twice over (``ParamSpec`` for the function's own keyword
arguments, ``TypeVarTuple`` with the reserved ones), and again for generator
functions (``async def`` with ``yield`` for ``add_coroutine``): those stream
each ``yield`` to ``when_yield(task, value)`` and their ``return`` value is the
result (``_stream``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Hashable, Iterable

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    from typing import Any, Concatenate, ParamSpec, TypeVar, TypeVarTuple, Unpack, overload

    from ._batch import BatchTask
    from ._context import ExecutionContext
    from ._lifecycle import TaskLifecycle
    from ._task import Task, TaskKind

    P = ParamSpec("P")
    R = TypeVar("R")
    T = TypeVar("T")
    Y = TypeVar("Y")
    Ts = TypeVarTuple("Ts")
else:

    def overload(func: object) -> object:
        """At run time each ``@overload`` stub is simply replaced by the implementation below it."""
        return func

if TYPE_CHECKING:
    WhenDone = Callable[[Task[R]], object]
    WhenEvent = Callable[[Task[R], str, Any], object]
    WhenYield = Callable[[Task[R], Y], object]
    WhenItem = Callable[[BatchTask[R], int, R | None, BaseException | None], object]


class StartMethods:
    """Mixin of ``TaskManager``: the public methods that start one task."""

    if TYPE_CHECKING:  # TaskManager's

        def _submit(
            self, kind: TaskKind, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Task[Any]: ...
        def _built(self) -> TaskLifecycle: ...
        def _check_open(self) -> None: ...
        def _get_scheduler(self) -> Any: ...

    @overload
    def add_coroutine(
        self,
        coro_fn: Callable[Concatenate[ExecutionContext, P], AsyncGenerator[Y, Any]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Task[None]: ...
    @overload
    def add_coroutine(
        self,
        coro_fn: Callable[[ExecutionContext, Unpack[Ts]], AsyncGenerator[Y, Any]],
        /,
        *args: *Ts,
        key: Hashable | None = None,
        when_done: WhenDone[None] | None = None,
        when_event: WhenEvent[None] | None = None,
        when_yield: WhenYield[None, Y] | None = None,
        timeout: float | None = None,
        visible: bool = True,
        priority: int = 0,
        **kwargs: Any,
    ) -> Task[None]: ...
    @overload
    def add_coroutine(
        self,
        coro_fn: Callable[Concatenate[ExecutionContext, P], Awaitable[R]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Task[R]: ...
    @overload
    def add_coroutine(
        self,
        coro_fn: Callable[[ExecutionContext, Unpack[Ts]], Awaitable[R]],
        /,
        *args: *Ts,
        key: Hashable | None = None,
        when_done: WhenDone[R] | None = None,
        when_event: WhenEvent[R] | None = None,
        timeout: float | None = None,
        visible: bool = True,
        when_yield: None = None,
        priority: int = 0,
        **kwargs: Any,
    ) -> Task[R]: ...
    def add_coroutine(self, coro_fn: Callable[..., Any], /, *args: object, **kwargs: object) -> Task[Any]:
        """Run ``await coro_fn(context, *args, **kwargs)`` on tasker's asyncio loop.

        Coroutines never wait for a slot (the loop runs them all at once), so
        ``priority=`` is accepted and orders nothing for them.
        """
        return self._submit("coroutine", coro_fn, args, kwargs)

    @overload
    def run_thread(
        self,
        func: Callable[Concatenate[ExecutionContext, P], Generator[Y, Any, R]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Task[R]: ...
    @overload
    def run_thread(
        self,
        func: Callable[[ExecutionContext, Unpack[Ts]], Generator[Y, Any, R]],
        /,
        *args: *Ts,
        key: Hashable | None = None,
        when_done: WhenDone[R] | None = None,
        when_event: WhenEvent[R] | None = None,
        when_yield: WhenYield[R, Y] | None = None,
        timeout: float | None = None,
        visible: bool = True,
        priority: int = 0,
        **kwargs: Any,
    ) -> Task[R]: ...
    @overload
    def run_thread(
        self,
        func: Callable[Concatenate[ExecutionContext, P], R],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Task[R]: ...
    @overload
    def run_thread(
        self,
        func: Callable[[ExecutionContext, Unpack[Ts]], R],
        /,
        *args: *Ts,
        key: Hashable | None = None,
        when_done: WhenDone[R] | None = None,
        when_event: WhenEvent[R] | None = None,
        timeout: float | None = None,
        visible: bool = True,
        when_yield: None = None,
        priority: int = 0,
        **kwargs: Any,
    ) -> Task[R]: ...
    def run_thread(self, func: Callable[..., Any], /, *args: object, **kwargs: object) -> Task[Any]:
        """Run ``func(context, *args, **kwargs)`` in the bounded thread pool.

        ``priority=`` (an int, default 0) orders the tasks waiting for a thread:
        higher first, FIFO within a priority; a running task is never preempted.
        """
        return self._submit("thread", func, args, kwargs)

    @overload
    def run_process(
        self,
        func: Callable[Concatenate[ExecutionContext, P], Generator[Y, Any, R]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Task[R]: ...
    @overload
    def run_process(
        self,
        func: Callable[[ExecutionContext, Unpack[Ts]], Generator[Y, Any, R]],
        /,
        *args: *Ts,
        key: Hashable | None = None,
        when_done: WhenDone[R] | None = None,
        when_event: WhenEvent[R] | None = None,
        when_yield: WhenYield[R, Y] | None = None,
        timeout: float | None = None,
        visible: bool = True,
        priority: int = 0,
        **kwargs: Any,
    ) -> Task[R]: ...
    @overload
    def run_process(
        self,
        func: Callable[Concatenate[ExecutionContext, P], R],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Task[R]: ...
    @overload
    def run_process(
        self,
        func: Callable[[ExecutionContext, Unpack[Ts]], R],
        /,
        *args: *Ts,
        key: Hashable | None = None,
        when_done: WhenDone[R] | None = None,
        when_event: WhenEvent[R] | None = None,
        timeout: float | None = None,
        visible: bool = True,
        when_yield: None = None,
        priority: int = 0,
        **kwargs: Any,
    ) -> Task[R]: ...
    def run_process(self, func: Callable[..., Any], /, *args: object, **kwargs: object) -> Task[Any]:
        """Run ``func(context, *args, **kwargs)`` in a warm worker process.

        ``priority=`` orders the tasks waiting for a worker, as for ``run_thread``.
        """
        return self._submit("process", func, args, kwargs)

    @overload
    def run_on_cluster(
        self,
        func: Callable[Concatenate[ExecutionContext, P], Generator[Y, Any, R]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Task[R]: ...
    @overload
    def run_on_cluster(
        self,
        func: Callable[[ExecutionContext, Unpack[Ts]], Generator[Y, Any, R]],
        /,
        *args: *Ts,
        key: Hashable | None = None,
        when_done: WhenDone[R] | None = None,
        when_event: WhenEvent[R] | None = None,
        when_yield: WhenYield[R, Y] | None = None,
        timeout: float | None = None,
        visible: bool = True,
        priority: int = 0,
        **kwargs: Any,
    ) -> Task[R]: ...
    @overload
    def run_on_cluster(
        self,
        func: Callable[Concatenate[ExecutionContext, P], R],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Task[R]: ...
    @overload
    def run_on_cluster(
        self,
        func: Callable[[ExecutionContext, Unpack[Ts]], R],
        /,
        *args: *Ts,
        key: Hashable | None = None,
        when_done: WhenDone[R] | None = None,
        when_event: WhenEvent[R] | None = None,
        timeout: float | None = None,
        visible: bool = True,
        when_yield: None = None,
        priority: int = 0,
        **kwargs: Any,
    ) -> Task[R]: ...
    def run_on_cluster(self, func: Callable[..., Any], /, *args: object, **kwargs: object) -> Task[Any]:
        """Run ``func(context, *args, **kwargs)`` on a Dask cluster (the ``cluster`` option).

        ``priority=`` goes to Dask: it orders the tasks waiting on the cluster.
        """
        return self._submit("cluster", func, args, kwargs)

    @overload
    def map(
        self,
        fn: Callable[[ExecutionContext, T], Awaitable[R]],
        items: Iterable[T],
        /,
        *,
        kind: str = "process",
        max_concurrency: int | None = None,
        ordered: bool = False,
        fail_fast: bool = False,
        when_item: WhenItem[R] | None = None,
        key: Hashable | None = None,
        when_done: Callable[[BatchTask[R]], object] | None = None,
        timeout: float | None = None,
        priority: int = 0,
        visible: bool = True,
        chunksize: int | None = None,
    ) -> BatchTask[R]: ...
    @overload
    def map(
        self,
        fn: Callable[[ExecutionContext, T], R],
        items: Iterable[T],
        /,
        *,
        kind: str = "process",
        max_concurrency: int | None = None,
        ordered: bool = False,
        fail_fast: bool = False,
        when_item: WhenItem[R] | None = None,
        key: Hashable | None = None,
        when_done: Callable[[BatchTask[R]], object] | None = None,
        timeout: float | None = None,
        priority: int = 0,
        visible: bool = True,
        chunksize: int | None = None,
    ) -> BatchTask[R]: ...
    def map(
        self, fn: Callable[..., Any], items: Iterable[Any], /, *, kind: str = "process", **options: Any
    ) -> BatchTask[Any]:
        """Run ``fn(context, item)`` for each item as one task (a ``BatchTask``; see ``_batch``).

        ``items`` is consumed lazily; at most ``max_concurrency`` parts run at a
        time (default: twice the kind's pool, so a worker finds its next chunk
        queued); small items go in chunks (``chunksize``, automatic). As items end,
        ``when_item(batch, index, result, error)`` runs on the main thread
        (``ordered=True``: in input order). The batch completes with the list of
        results in input order, or fails with ``tasker.BatchError`` (an
        ``ExceptionGroup``; ``.failures``, ``.results``) if an item failed;
        ``fail_fast=True`` cancels the rest at the first failure. ``timeout`` is
        each item's (a timed-out item fails with ``TaskTimeoutError``; the rest go
        on). Cancel, pause, resume, replace by key and shutdown act on every item.
        """
        from ._batch import start_map

        self._check_open()
        lifecycle = self._built()
        self._get_scheduler()  # chosen here, in the caller's (main) thread
        for name, default in _MAP_DEFAULTS:
            options.setdefault(name, default)
        return start_map(self, lifecycle, fn, items, kind, options)


_MAP_DEFAULTS = (("max_concurrency", None), ("ordered", False), ("fail_fast", False), ("when_item", None),
                 ("chunksize", None))
