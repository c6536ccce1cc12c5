"""``TaskManager``: one lifecycle for coroutine, thread and process tasks.

Every task goes through the same three steps, whatever runs it:

    _submit ──► runner.submit(task)          (pending)
                  └─► _begin(task)           (running; False → skip, it ended)
                        └─► _conclude(task, result | error)   (final, once)
                              └─► delivery.call(when_done)    (main thread)

Runners (``tasker.workers``) only execute; deciding the final status, waking
waiters and queueing ``when_done`` happen here, once, for every kind and every
ending (completed, failed, canceled, replaced, timed out, worker died, shutdown).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, TypeVarTuple, overload

from ..schedulers import Scheduler, resolve_scheduler
from ._ask import Question, Reply
from ._clock import Clock, Timer, TimerThread
from ._context import ExecutionContext
from ._delivery import Delivery
from ._errors import TaskTimeoutError
from ._hub import Hub
from ._options import Options
from ._signal import TasksSignal
from ._status import TaskStatus
from ._task import Task, TaskKind
from ._validate import check_func

if TYPE_CHECKING:
    import asyncio
    from typing import Unpack

    from ..workers import Runner

P = ParamSpec("P")
R = TypeVar("R")
Ts = TypeVarTuple("Ts")

logger = logging.getLogger("tasker")

#: Keyword arguments that configure the task instead of reaching the function.
RESERVED_KWARGS = ("key", "when_done", "when_event", "timeout", "visible")

WhenDone = Callable[[Task[R]], object]
WhenEvent = Callable[[Task[R], str, Any], object]


class TaskManager:
    """Runs background work and reports it on the main thread.

    Options (all keyword):
      main_thread_scheduler: ``None`` (auto: GLib in a GTK app, else a headless
        dispatcher thread), a scheduler name (``"headless"``, ``"manual"``,
        ``"glib"``, ``"asyncio"``), a ``Scheduler``, or a callable ``f(fn)``.
      max_threads: size of the thread pool (default ``min(32, cpus + 4)``).
      max_processes: worker processes running tasks (default: number of CPUs).
      spare_processes: idle workers kept warm beyond that (default 1).
      start_method: how workers start: ``"spawn"`` (a fresh interpreter).
      worker_initializer, worker_initargs: run once in every worker process.
      worker_nice: CPU priority of worker processes below the app's (0–19, default 0).
      update_rate: ``tasks_updated`` emissions per second at most (default 20;
        0 = no throttle).
      cancel_grace_period: seconds a cancelled task may take to stop before it
        is ended anyway (process killed, thread abandoned); default 2.0.
      max_pending_events: events queued for the main thread before senders wait.
    """

    def __init__(self, main_thread_scheduler: Any = None, **options: Any) -> None:
        self._options = Options.build(**options)
        self._scheduler_spec = main_thread_scheduler
        self._scheduler: Scheduler | None = None
        self._lock = threading.RLock()
        self._settle = threading.Condition()
        self._settle_waiters = 0
        self._active: dict[int, Task[Any]] = {}  # non-final tasks by id, in start order
        self._by_key: dict[Hashable, Task[Any]] = {}
        self._visible_live = 0  # tasks in _active with visible=True
        self._batch_done = 0  # visible tasks ended since the last time none was live
        self._runners: dict[str, Runner] = {}
        self._started = False
        self._closed = False
        self._warm_up_thread: threading.Thread | None = None
        self.tasks_updated = TasksSignal("tasks_updated")
        #: ``handler(sender, task=task)`` on the main thread as each task ends,
        #: right before its ``when_done`` — also for tasks that ended before any
        #: ``tasks_updated`` listed them (e.g. a widget showing failures).
        self.task_ended = TasksSignal("task_ended")
        self._hub = Hub(on_start=self._hub_started)
        self._clock: Clock = self._options.clock or TimerThread()
        self._delivery = Delivery(
            get_scheduler=self._get_scheduler,
            clock=self._clock,
            emit=self._emit_update,
            update_rate=float(self._options.update_rate),
            max_pending_events=self._options.max_pending_events,
            on_idle=self._notify_settle,
        )

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
                self._clock.stop()
                self._clock = merged.clock or TimerThread()
            self._delivery.configure(float(merged.update_rate), merged.max_pending_events, self._clock)

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
        **kwargs: Any,
    ) -> Task[R]: ...
    def add_coroutine(self, coro_fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Task[Any]:  # type: ignore[misc]
        """Run ``await coro_fn(context, *args, **kwargs)`` on tasker's asyncio loop."""
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
        **kwargs: Any,
    ) -> Task[R]: ...
    def run_thread(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Task[Any]:  # type: ignore[misc]
        """Run ``func(context, *args, **kwargs)`` in the bounded thread pool."""
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
        **kwargs: Any,
    ) -> Task[R]: ...
    def run_process(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Task[Any]:  # type: ignore[misc]
        """Run ``func(context, *args, **kwargs)`` in a warm worker process."""
        return self._submit("process", func, args, kwargs)

    # (The "type: ignore[misc]" above: mypy wrongly reports that an implementation
    # taking *args/**kwargs does not accept the TypeVarTuple overload.)
    def _submit(
        self, kind: TaskKind, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Task[Any]:
        key = kwargs.pop("key", None)
        when_done = kwargs.pop("when_done", None)
        when_event = kwargs.pop("when_event", None)
        timeout = kwargs.pop("timeout", None)
        visible = kwargs.pop("visible", True)
        check_func(kind, func, key, when_done, when_event, timeout, visible)
        self._check_open()
        self._get_scheduler()  # chosen here, in the caller's (main) thread, not in a worker
        runner = self._runner(kind)
        prepared = runner.prepare(func, args, kwargs)
        task: Task[Any] = Task(self, kind, func, args, kwargs, key, when_done, when_event, timeout, visible)
        task._payload = prepared
        with self._lock:
            self._check_open()
            first = not self._started
            self._started = True
            old = self._by_key.get(task.key)
            self._by_key[task.key] = task
            self._active[task.id] = task
            self._visible_live += visible
        if visible:
            self._delivery.mark_dirty()
        if old is not None:
            self._cancel(old)
        if timeout is not None:
            task._timer = self._clock.call_later(timeout, lambda: self._time_out(task))
        runner.submit(task)
        if first:
            self._warm_up()
        return task

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(
                "this TaskManager was shut down; it takes no new tasks "
                "(create a new TaskManager to run more work)"
            )

    def _runner(self, kind: str) -> Runner:
        runner = self._runners.get(kind)
        if runner is None:
            with self._lock:
                runner = self._runners.get(kind)
                if runner is None:
                    from ..workers import make_runner

                    runner = make_runner(kind, self, self._options)
                    self._runners[kind] = runner
        return runner

    # -- the lifecycle (called by runners) ------------------------------------------
    def _begin(self, task: Task[Any]) -> bool:
        """pending → running; False if the task already ended (do not run it)."""
        with self._lock:
            if task._status is not TaskStatus.PENDING:
                return False
            task._status = TaskStatus.RUNNING
        if task.visible:
            self._delivery.mark_dirty()
        return True

    def _conclude(
        self, task: Task[Any], result: Any = None, error: BaseException | None = None
    ) -> bool:
        """End the task once: decide its final status and queue ``when_done``."""
        with self._lock:
            if task._status.is_final:
                return False
            status, error = _final_status(task, error)
            task._status = status
            task._result = result if status is TaskStatus.COMPLETED else None
            task._error = error
            del self._active[task.id]
            if self._by_key.get(task.key) is task:
                del self._by_key[task.key]
            if task.visible:
                self._visible_live -= 1
                self._batch_done = self._batch_done + 1 if self._visible_live else 0
            callbacks, task._callbacks = task._callbacks, []
            questions, task._questions = task._questions, None
            # Queued before the lock is released: "settled" never sees a task
            # that is gone from _active but whose when_done is not queued yet.
            self._delivery.ending(self._run_when_done, task, show=task.visible)
        task.name  # noqa: B018 - fix the name (from the function) before letting the function go
        task._func = task._args = task._kwargs = task._payload = None  # type: ignore[assignment]
        if task._timer is not None:
            task._timer.cancel()
        if questions:  # a function still waiting in ask() (abandoned, shut down): wake it
            _cancel_questions(task, questions)
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("tasker: internal done-callback failed")
        self._notify_settle()
        return True

    def _run_when_done(self, task: Task[Any]) -> None:
        task._done_delivered = True
        if self.task_ended.receivers:
            self.task_ended.send(self, task=task)
        if task._when_done is not None:
            task._when_done(task)

    def _post_event(self, task: Task[Any], name: str, data: Any) -> None:
        if not task._status.is_final:
            self._delivery.event(self._deliver_event, task, name, data)

    def _deliver_event(self, task: Task[Any], name: str, data: Any) -> None:
        if task._when_event is not None and not task._done_delivered:
            task._when_event(task, name, data)

    # -- context.ask (see _ask) -------------------------------------------------------
    def _post_question(self, task: Task[Any], question: Question) -> None:
        """Queue a task's question for its ``when_event`` handler (or refuse it)."""
        with self._lock:
            stopping = task._status.is_final or task._cancel_requested
            if not stopping:
                if task._questions is None:
                    task._questions = set()
                task._questions.add(question)
        if stopping:
            _cancel_questions(task, [question])
        else:
            self._delivery.event(self._deliver_question, task, question)

    def _deliver_question(self, task: Task[Any], question: Question) -> None:
        """On the main thread: the handler's return value is the answer.

        The question stays the task's while the handler runs, so a handler that
        cancels the task (a "Cancel" button in its dialog) makes the ask raise
        ``CancelledError``: the cancel answers first and the return value is dropped.
        """
        with self._lock:
            stopping = task._status.is_final or task._cancel_requested
        if question.answered:  # the asker gave up (timeout) or was cancelled
            return
        if stopping:
            _cancel_questions(task, [question])
            return
        handler = task._when_event
        try:
            value = handler(task, question.name, question.data) if handler is not None else None
        except BaseException as error:  # raised at the ask, in the task
            question.answer(error=error)
            if not isinstance(error, Exception):
                raise
        else:
            question.answer(value)
        finally:
            with self._lock:
                if task._questions is not None:
                    task._questions.discard(question)

    def _ask_blocking(self, task: Task[Any], name: str, data: Any, timeout: float | None) -> Any:
        """``context.ask`` in a thread task (a process task asks from its worker)."""
        if task.kind == "coroutine":
            raise RuntimeError(
                "context.ask() would block tasker's asyncio loop, which runs every coroutine "
                "task; in a coroutine use 'await context.ask_async(...)'"
            )
        reply = Reply()
        question = Question(name, data, reply.deliver)
        self._post_question(task, question)
        if not reply.wait(timeout):
            question.answer(error=ask_timeout_error(name, timeout))  # unless the answer just came
        return reply.get()

    async def _ask_async(self, task: Task[Any], name: str, data: Any, timeout: float | None) -> Any:
        """``await context.ask_async`` in a coroutine task, on tasker's loop."""
        if task.kind != "coroutine":
            raise TypeError("context.ask_async() is for coroutine tasks; a thread or process task calls context.ask()")
        import asyncio

        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def deliver(value: Any, error: BaseException | None) -> None:
            loop.call_soon_threadsafe(_settle_future, future, value, error)

        question = Question(name, data, deliver)
        self._post_question(task, question)
        try:
            if timeout is None:
                return await future
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            question.answer()  # the handler is not asked any more
            raise ask_timeout_error(name, timeout) from None
        except BaseException:  # cancelled: the question is withdrawn too
            question.answer()
            raise

    # -- cancellation -------------------------------------------------------------
    def cancel_task(self, key: Hashable) -> bool:
        """Ask the live task with this key to stop; True if there was one."""
        task = self._by_key.get(key)
        return task is not None and self._cancel(task)

    def cancel_task_by_id(self, task_id: int) -> bool:
        """Ask the live task with this ``task.id`` to stop; True if there was one."""
        task = self._active.get(task_id)
        return task is not None and self._cancel(task)

    def _cancel(self, task: Task[Any]) -> bool:
        with self._lock:
            if task._status.is_final:
                return False
            if task._cancel_requested:
                return True
            task._cancel_requested = True
            task._cancel_flag[0] = 1
            runner = self._runners[task.kind]
            # Pending too: a process task may already wait in a worker, which must skip it.
            runner.interrupt(task)
            if task._status is TaskStatus.PENDING:
                self._conclude(task)  # never runs; under the lock so it cannot begin
                return True
            questions, task._questions = task._questions, None
            closing = self._closed
        if questions:
            _cancel_questions(task, questions)
        if not closing:
            runner.release(task)  # its slot is free now, while it still stops
        grace = float(self._options.cancel_grace_period)
        self._clock.call_later(grace, lambda: self._grace_over(task))
        return True

    def _grace_over(self, task: Task[Any]) -> None:
        if not task._status.is_final:
            self._runners[task.kind].abandon(task)
            self._conclude(task)

    def _time_out(self, task: Task[Any]) -> None:
        with self._lock:
            if task._status.is_final or task._cancel_requested:
                return  # already stopping (cancel, replace, shutdown): it ends canceled
            task._timed_out = True
        self._cancel(task)

    # -- reading state ----------------------------------------------------------------
    def get_task(self, key: Hashable) -> Task[Any] | None:
        """The live task with this key, or None."""
        return self._by_key.get(key)

    def has_tasks(self) -> bool:
        """True while a task is live (pending or running), visible or not."""
        return bool(self._active)

    def __len__(self) -> int:
        return len(self._active)

    def __iter__(self) -> Iterator[Task[Any]]:
        with self._lock:
            return iter(list(self._active.values()))

    def get_overall_progress(self) -> float:
        """Progress of the current batch; 1.0 when idle."""
        with self._lock:
            return self._progress_locked()

    def _progress_locked(self) -> float:
        live = self._visible_live
        if not live:
            return 1.0
        done = self._batch_done
        total = done + sum(t._progress for t in self._active.values() if t.visible)
        return min(1.0, max(0.0, total / (done + live)))

    def _visible_tasks(self) -> list[Task[Any]]:
        """The live tasks a UI shows (``visible=True``), in start order."""
        with self._lock:
            if self._visible_live == len(self._active):
                return list(self._active.values())
            return [t for t in self._active.values() if t.visible]

    def _emit_update(self) -> None:
        with self._lock:
            tasks = self._visible_tasks()
            progress = self._progress_locked()
        self.tasks_updated.send(self, tasks=tasks, progress=progress)

    # -- main thread ----------------------------------------------------------------
    def schedule_on_main_thread(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> None:
        """Run ``fn(*args, **kwargs)`` on the main thread, after what is queued."""
        if not callable(fn):
            raise TypeError(f"schedule_on_main_thread needs a callable, got {fn!r}")
        self._get_scheduler()
        self._delivery.call(fn, *args, **kwargs)

    def schedule_delayed_on_main_thread(
        self, delay: float, fn: Callable[..., object], /, *args: Any, **kwargs: Any
    ) -> DelayedCall:
        """Run ``fn(*args, **kwargs)`` on the main thread after ``delay`` seconds.

        Returns a handle whose ``cancel()`` stops it if it has not run yet.
        """
        if not callable(fn):
            raise TypeError(f"schedule_delayed_on_main_thread needs a callable, got {fn!r}")
        if not isinstance(delay, int | float) or not delay >= 0:
            raise ValueError(f"delay must be a number of seconds >= 0, got {delay!r}")
        self._check_open()
        self._get_scheduler()
        call = DelayedCall(fn, args, kwargs)
        call._timer = self._clock.call_later(float(delay), lambda: self._delivery.call(call._run))
        return call

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The asyncio loop coroutine tasks run on (started on first use).

        ``asyncio.run_coroutine_threadsafe(coro, task_mgr.loop)`` runs any
        coroutine there; ``shutdown()`` cancels what is still running on it.
        """
        return self._hub.get_loop()

    async def run_on_main_thread(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
        """From asyncio code: run ``fn`` on the main thread and return its result."""
        import asyncio

        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()

        def call() -> None:
            try:
                value = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the awaiting coroutine
                loop.call_soon_threadsafe(_settle_future, future, None, exc)
            else:
                loop.call_soon_threadsafe(_settle_future, future, value, None)

        self._delivery.call(call)
        return await future

    def wait_until_settled(self, timeout: float | None = None) -> bool:
        """Wait until no task is live and every callback ran; True if so."""
        deadline = None if timeout is None else time.monotonic() + timeout
        scheduler = self._get_scheduler()
        while not self._is_settled():
            remaining = 1.0 if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                return self._is_settled()
            if not scheduler.pump(min(remaining, 0.05)):
                with self._settle:
                    self._settle_waiters += 1
                    try:
                        if not self._is_settled():
                            self._settle.wait(min(remaining, 0.25))
                    finally:
                        self._settle_waiters -= 1
        return True

    def _is_settled(self) -> bool:
        return not self._active and self._delivery.is_idle()

    def _notify_settle(self) -> None:
        if self._settle_waiters:  # most endings have nobody waiting: skip the lock
            with self._settle:
                self._settle.notify_all()

    def _hub_started(self, thread_id: int) -> None:
        self._delivery.never_block(thread_id)

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
        runner = self._runners.get("process")
        if runner is not None:
            runner.restart()

    # -- shutdown -------------------------------------------------------------------------
    def shutdown(self, timeout: float | None = None) -> None:
        """Cancel all tasks, stop every thread and process tasker started.

        Waits up to ``timeout`` s (default: the cancel grace period) for tasks to
        stop; the rest are ended anyway. Idempotent. ``when_done`` still runs for
        every task ended here.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            tasks = list(self._active.values())
        for task in tasks:
            self._cancel(task)
        wait = float(self._options.cancel_grace_period) if timeout is None else timeout
        _wait_all(tasks, wait)
        for task in tasks:
            if not task._status.is_final:
                self._runners[task.kind].abandon(task)
                self._conclude(task)
        self._delivery.stop_blocking()
        for runner in list(self._runners.values()):
            runner.shutdown()
        self._hub.stop()
        self._clock.stop()
        if self._warm_up_thread is not None and self._warm_up_thread is not threading.current_thread():
            self._warm_up_thread.join(10.0)
        scheduler = self._scheduler
        if scheduler is not None:
            scheduler.close()
        self._notify_settle()

    def __repr__(self) -> str:
        return f"<TaskManager {len(self._active)} live tasks pid={os.getpid()}>"


class DelayedCall:
    """A call waiting to run on the main thread (``schedule_delayed_on_main_thread``)."""

    __slots__ = ("_args", "_fn", "_kwargs", "_state", "_timer")

    _lock = threading.Lock()  # state changes are rare: one lock for every handle

    def __init__(self, fn: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._fn: Callable[..., object] | None = fn
        self._args = args
        self._kwargs = kwargs
        self._state = "waiting"  # -> "ran" | "cancelled", once
        self._timer: Timer | None = None

    def cancel(self) -> bool:
        """Stop the call if it has not run yet; True if it is now stopped for good."""
        with self._lock:
            if self._state != "waiting":
                return self._state == "cancelled"
            self._state = "cancelled"
            self._fn, self._args, self._kwargs = None, (), {}
        if self._timer is not None:
            self._timer.cancel()
        return True

    def cancelled(self) -> bool:
        return self._state == "cancelled"

    def _run(self) -> None:
        with self._lock:
            if self._state != "waiting":
                return
            self._state = "ran"
            fn, args, kwargs = self._fn, self._args, self._kwargs
            self._fn, self._args, self._kwargs = None, (), {}
        assert fn is not None
        fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<DelayedCall {self._state}>"


def ask_timeout_error(name: str, timeout: float | None) -> TaskTimeoutError:
    return TaskTimeoutError(f"no answer to ask({name!r}) within {timeout} s")


def _cancel_questions(task: Task[Any], questions: Iterable[Question]) -> None:
    """Wake every ask of a task that stops: it raises ``CancelledError`` there."""
    from ._cancelled import CancelledError

    for question in questions:
        why = f"task {task.name!r} was canceled while it waited in ask({question.name!r})"
        question.answer(error=CancelledError(why))


def _import_cancelled() -> None:
    time.sleep(0)  # let the thread that started us go on first
    from . import _cancelled  # noqa: F401


def _final_status(task: Task[Any], error: BaseException | None) -> tuple[TaskStatus, BaseException | None]:
    if task._timed_out:
        timeout_error = TaskTimeoutError(f"task {task.name!r} timed out after {task.timeout} s")
        timeout_error.__cause__ = error
        return TaskStatus.FAILED, timeout_error
    if task._cancel_requested:
        return TaskStatus.CANCELED, None
    if error is None:
        return TaskStatus.COMPLETED, None
    if _is_asyncio_cancel(error):
        return TaskStatus.CANCELED, None
    return TaskStatus.FAILED, error


def _is_asyncio_cancel(error: BaseException) -> bool:
    asyncio = sys.modules.get("asyncio")  # a CancelledError implies asyncio is loaded
    return asyncio is not None and isinstance(error, asyncio.CancelledError)


def _settle_future(future: Any, value: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)


def _wait_all(tasks: list[Task[Any]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    current = threading.current_thread()
    for task in tasks:
        if task._handle is current:  # shutdown from inside this very task
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not task.wait(remaining):
            return
