"""``TaskManager``: the public face of tasker — start work, cancel it, watch it.

    add_coroutine / run_thread / run_process
        └─► _submit: check the call, runner.prepare, Task, lifecycle.add (replace by key),
                     runner.submit (its runner: tasker.runners.*, loaded by kind)
    cancel_task / cancel_task_by_id / shutdown ──► lifecycle.cancel / lifecycle.shutdown
    pause_task / resume_task ──► lifecycle.pause / lifecycle.resume (``_pausing``)
    schedule_on_main_thread / …_delayed_… / run_on_main_thread ──► delivery (main thread)

Everything about a task's life (status changes, endings, ``when_done``, what the
UI is shown) is in ``_lifecycle``; what runs tasks is in ``tasker.runners``.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Hashable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, TypeVarTuple, overload

from ..schedulers import Scheduler, resolve_scheduler
from ._clock import Clock, TimerThread
from ._context import ExecutionContext
from ._errors import ManagerClosedError
from ._lifecycle import TaskLifecycle
from ._mainthread import MainThreadCalls
from ._options import Options
from ._runner import METHODS
from ._task import Task, TaskKind
from ._validate import check_func

if TYPE_CHECKING:
    import asyncio
    from typing import Unpack

P = ParamSpec("P")
R = TypeVar("R")
Ts = TypeVarTuple("Ts")

logger = logging.getLogger("tasker")

#: Keyword arguments that configure the task instead of reaching the function.
_INF = float("inf")
RESERVED_KWARGS = ("key", "when_done", "when_event", "timeout", "visible", "priority")

WhenDone = Callable[[Task[R]], object]
WhenEvent = Callable[[Task[R], str, Any], object]


class TaskManager(MainThreadCalls):
    """Runs background work and reports it on the main thread.

    Options (all keyword; see ``tasker.Options`` for each one's meaning):
    ``main_thread_scheduler`` (``None``: GLib in a GTK app, Qt with a
    ``QApplication``, Tk with a root window, else a headless dispatcher thread;
    a name — ``"headless"``, ``"manual"``, ``"glib"``, ``"asyncio"``, ``"qt"``,
    ``"tk"`` —, a ``Scheduler``, or a callable ``f(fn)``), ``max_threads``,
    ``max_processes``, ``spare_processes``, ``start_method``,
    ``worker_initializer``, ``worker_initargs``, ``worker_nice``,
    ``max_tasks_per_worker``, ``worker_max_memory``, ``worker_memory_limit``,
    ``update_rate``, ``cancel_grace_period``, ``max_pending_events``, ``clock``,
    ``cluster`` (``run_on_cluster``: ``"local"``, a scheduler address or a Dask ``Client``).

    ``with TaskManager(...) as mgr:`` shuts it down at the end of the block.
    """

    def __init__(self, main_thread_scheduler: Any = None, **options: Any) -> None:
        self._options = Options.build(**options)
        self._scheduler_spec = main_thread_scheduler
        self._scheduler: Scheduler | None = None
        self._lock = threading.Lock()
        self._started = False
        self._warm_up_thread: threading.Thread | None = None
        self._clock: Clock = self._options.clock or TimerThread()
        self._own_clock = self._options.clock is None  # a clock given to us is the caller's
        self._lifecycle = TaskLifecycle(self, self._options, self._clock, self._get_scheduler)
        #: ``handler(sender, tasks=[live visible tasks], progress=float)`` on the
        #: main thread, at most ``update_rate`` times a second (strong receivers).
        self.tasks_updated = self._lifecycle.tasks_updated
        #: ``handler(sender, task=task)`` on the main thread as each task ends,
        #: right before its ``when_done``.
        self.task_ended = self._lifecycle.task_ended

    # -- configuration ---------------------------------------------------------
    @property
    def options(self) -> Options:
        """The options in force (frozen; change them with ``configure`` before use)."""
        return self._options

    def configure(self, main_thread_scheduler: Any = None, **options: Any) -> None:
        """Change options until the first task starts (``task_mgr.initialize`` calls this).

        Options not named keep their value. After the first task started it
        raises ``RuntimeError``: build another ``TaskManager`` instead.
        """
        with self._lock:
            if self._started:
                raise RuntimeError(
                    "tasker is already in use: call task_mgr.initialize(...) before "
                    "the first task starts (or build your own TaskManager(...))"
                )
            merged = Options.build(self._options, **options)
            self._options = merged
            if main_thread_scheduler is not None:
                self._scheduler_spec = main_thread_scheduler
                self._scheduler = None
            if "clock" in options:
                if self._own_clock:
                    self._clock.stop()
                self._clock = merged.clock or TimerThread()
                self._own_clock = merged.clock is None
            self._lifecycle.configure(merged, self._clock)

    @property
    def scheduler(self) -> Scheduler:
        """The main-thread scheduler in use (chosen on first need)."""
        return self._get_scheduler()

    def _get_scheduler(self) -> Scheduler:
        scheduler = self._scheduler
        if scheduler is None:
            with self._lock:
                if self._scheduler is None:
                    self._scheduler = resolve_scheduler(self._scheduler_spec)
                scheduler = self._scheduler
        return scheduler

    # -- starting work -----------------------------------------------------------
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
        priority: int = 0,
        **kwargs: Any,
    ) -> Task[R]: ...
    def run_on_cluster(self, func: Callable[..., Any], /, *args: object, **kwargs: object) -> Task[Any]:
        """Run ``func(context, *args, **kwargs)`` on a Dask cluster (the ``cluster`` option).

        ``priority=`` goes to Dask: it orders the tasks waiting on the cluster.
        """
        return self._submit("cluster", func, args, kwargs)

    # (The implementations take *args/**kwargs as ``object``: with ``Any``, mypy
    # reports that they do not accept the TypeVarTuple overload.)
    def _submit(
        self, kind: TaskKind, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Task[Any]:
        """Start a task of any registered kind (the public methods call this)."""
        key = kwargs.pop("key", None)
        when_done = kwargs.pop("when_done", None)
        when_event = kwargs.pop("when_event", None)
        timeout = kwargs.pop("timeout", None)
        visible = kwargs.pop("visible", True)
        priority = kwargs.pop("priority", 0)
        check_func(
            METHODS.get(kind, kind), kind == "coroutine", func, key, when_done, when_event, timeout, visible, priority
        )
        if timeout is not None and timeout == _INF:
            timeout = None  # float("inf"): no timeout
        lifecycle = self._lifecycle
        if lifecycle.closed:
            self._check_open()
        if self._scheduler is None:
            self._get_scheduler()  # chosen here, in the caller's (main) thread, not in a worker
        runner = lifecycle.runners.get(kind) or lifecycle.runner(kind)
        task: Task[Any] = Task(
            lifecycle, kind, (func, args, kwargs), key, when_done, when_event, timeout, visible, priority
        )
        task.payload = runner.prepare(func, args, kwargs)
        first = False
        if not self._started:  # (read without the lock first: it is set once, for good)
            with self._lock:
                first, self._started = not self._started, True
        old = lifecycle.add(task)
        if old is not None:
            lifecycle.cancel(old)
        runner.submit(task)
        if first:
            self._warm_up()
        return task

    def _check_open(self) -> None:
        if self._lifecycle.closed:
            raise ManagerClosedError(
                "this TaskManager was shut down; it takes no new tasks "
                "(create a new TaskManager to run more work)"
            )

    # -- cancellation -------------------------------------------------------------
    def cancel_task(self, key: Hashable) -> bool:
        """Ask the live task with this key to stop; True if there was one."""
        task = self._lifecycle.get(key)
        return task is not None and self._lifecycle.cancel(task)

    def cancel_task_by_id(self, task_id: int) -> bool:
        """Ask the live task with this ``task.id`` to stop; True if there was one."""
        task = self._lifecycle.get_by_id(task_id)
        return task is not None and self._lifecycle.cancel(task)

    # -- pausing ------------------------------------------------------------------------
    def pause_task(self, key: Hashable) -> bool:
        """Pause the live task with this key (see ``Task.pause``); True if it is paused now.

        Its status stays ``pending`` or ``running``; ``tasks_updated`` shows the
        change. Cancel and shutdown work on a paused task.
        """
        task = self._lifecycle.get(key)
        return task is not None and self._lifecycle.pause(task)

    def resume_task(self, key: Hashable) -> bool:
        """Let the paused task with this key go on; True if it was paused."""
        task = self._lifecycle.get(key)
        return task is not None and self._lifecycle.resume(task)

    # -- reading state ----------------------------------------------------------------
    def get_task(self, key: Hashable) -> Task[Any] | None:
        """The live task with this key, or None."""
        return self._lifecycle.get(key)

    def has_tasks(self) -> bool:
        """True while a task is live (pending or running), visible or not."""
        return self._lifecycle.count() > 0

    def __len__(self) -> int:
        return self._lifecycle.count()

    def __iter__(self) -> Iterator[Task[Any]]:
        return iter(self._lifecycle.live())

    def get_overall_progress(self) -> float:
        """Progress of the current batch of visible tasks; 1.0 when idle."""
        return self._lifecycle.progress()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The asyncio loop coroutine tasks run on (started on first use).

        ``asyncio.run_coroutine_threadsafe(coro, task_mgr.loop)`` runs any
        coroutine there; ``shutdown()`` cancels what is still running on it.
        """
        self._check_open()
        loop: asyncio.AbstractEventLoop = getattr(self._lifecycle.runner("coroutine"), "loop")  # noqa: B009
        return loop

    def wait_until_settled(self, timeout: float | None = None) -> bool:
        """Wait until no task is live and every callback ran; True if so."""
        return self._lifecycle.wait_settled(self._get_scheduler(), timeout)

    def _warm_up(self) -> None:
        """Import off the caller's thread what the first ending would otherwise import.

        ``result()`` of a canceled task raises ``tasker.CancelledError``, an
        asyncio exception: importing asyncio takes tens of milliseconds in a
        fresh process, which the first cancel would otherwise pay on the main
        thread. Done once, on a short-lived thread, after the first task started.
        """
        if "tasker._core._cancelled" in sys.modules:
            return
        thread = threading.Thread(target=_import_cancelled, name="tasker-warm-up", daemon=True)
        self._warm_up_thread = thread
        thread.start()

    # -- processes ----------------------------------------------------------------------
    def restart_worker_pool(self) -> None:
        """Replace every worker process (running tasks finish first)."""
        runner = self._lifecycle.runners.get("process")
        if runner is not None:
            runner.restart()

    # -- shutdown -------------------------------------------------------------------------
    def shutdown(self, timeout: float | None = None) -> None:
        """Cancel all tasks, stop every thread and process tasker started.

        Waits up to ``timeout`` s (default: the cancel grace period) for tasks to
        stop; the rest are ended anyway. Idempotent. ``when_done`` still runs for
        every task ended here.
        """
        if self._lifecycle.closed:
            return
        wait = float(self._options.cancel_grace_period) if timeout is None else timeout
        self._lifecycle.shutdown(wait)
        if self._own_clock:
            self._clock.stop()
        warm_up = self._warm_up_thread
        if warm_up is not None and warm_up is not threading.current_thread():
            warm_up.join(10.0)
        scheduler = self._scheduler
        if scheduler is not None:
            scheduler.close()
        self._lifecycle.notify_settle()

    def __enter__(self) -> TaskManager:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"<TaskManager {self._lifecycle.count()} live tasks pid={os.getpid()}>"


def _import_cancelled() -> None:
    time.sleep(0)  # let the thread that started us go on first
    from . import _cancelled  # noqa: F401


from ._public import public  # noqa: E402

public(TaskManager)
