"""Rayforge's ``TaskManager`` (``rayforge.shared.tasker.manager``) on tasker's core.

One ``tasker.TaskManager`` does the work: its asyncio loop runs the
coroutines, its worker pool the processes, its delivery brings every callback
to the main thread. This class keeps Rayforge's names, signatures and rules on
top of it:

* ``run_thread(func, *args)`` calls ``func(*args, **kwargs)`` without a
  context: like Rayforge, it is a coroutine task that awaits
  ``TaskManager.run_in_executor`` (asyncio's default executor), so a
  cancel ends it at once (the thread runs on; its result is dropped);
* ``run_process(..., visible=False)``: the task gets every callback but is not
  listed (``tasks_updated``, ``len``, ``iter``, ``get_task``, ``has_tasks``),
  not counted in the overall progress, not replaced by a task of the same key
  and not cancelled by ``cancel_task(key)`` — only by ``cancel_task_by_id``;
* cancelling a process task through the manager makes it ``"canceled"`` at
  once, drops it from the lists and calls its ``when_done`` right away, in the
  caller's thread (the worker stops on its own, or is replaced);
* times are milliseconds: ``wait_until_settled(timeout_ms)``,
  ``schedule_delayed_on_main_thread(delay_ms, ...)`` (``_mainthread``);
* ``add_coroutine`` returns None; ``add_task`` takes a ``Task``;
* ``worker_initializer`` is called as ``initializer(shared_state, *initargs)``
  in every worker, ``shared_state`` being a ``multiprocessing`` manager dict
  shared by the application and all workers;
* ``RAYFORGE_MAX_WORKERS`` in the environment caps the worker processes.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any

from blinker import Signal

import tasker
from tasker.schedulers import Scheduler

from ._checks import check_plain, func_name, pool_size, run_inline
from ._lazy import LazyManager
from ._mainthread import CancelHandle, MainThread
from ._registry import Registry
from .context import ExecutionContext
from .proxy import _ProcessCall, _WorkerInit
from .task import Task

if TYPE_CHECKING:
    from tasker import ExecutionContext as CoreContext

__all__ = ["CancelHandle", "TaskManager", "TaskManagerProxy", "task_mgr"]

logger = logging.getLogger("tasker.compat.rayforge")

WhenDone = Callable[[Task], object]

_OPTIONS = ("main_thread_scheduler", "worker_initializer", "worker_initargs", "shared_state")


class _ReadAtEnd:
    """``when_done`` of a process task: read from the task when it ends (Rayforge's rule)."""


_AT_END = _ReadAtEnd()


class TaskManager(MainThread):
    """Rayforge's task manager, running on one ``tasker.TaskManager``.

    ``main_thread_scheduler`` is a callable ``f(fn, *args, **kwargs)`` that runs
    ``fn`` on the main thread later (``GLib.idle_add`` style) — or anything
    ``tasker.TaskManager(main_thread_scheduler=...)`` takes (a scheduler name,
    a ``tasker.schedulers.Scheduler``, None for automatic).
    """

    def __init__(
        self,
        main_thread_scheduler: Any,
        worker_initializer: Callable[..., object] | None = None,
        worker_initargs: tuple[Any, ...] = (),
        shared_state: Any = None,
    ) -> None:
        if worker_initializer is not None and not callable(worker_initializer):
            raise TypeError(f"worker_initializer must be callable or None, got {worker_initializer!r}")
        if isinstance(worker_initargs, str | bytes) or not hasattr(worker_initargs, "__iter__"):
            raise TypeError(f"worker_initargs must be a tuple of arguments, got {worker_initargs!r}")
        self._init = None if worker_initializer is None else _WorkerInit(worker_initializer, tuple(worker_initargs))
        self._shared_state = shared_state
        self._mp_manager: Any = None  # the multiprocessing manager holding shared_state, if we made it
        self._state_lock = threading.Lock()
        if self._init is not None:
            self._init.shared_state = shared_state
        self._core = tasker.TaskManager(
            main_thread_scheduler=main_thread_scheduler, worker_initializer=self._init, **pool_size()
        )
        plain = callable(main_thread_scheduler) and not isinstance(main_thread_scheduler, type | Scheduler)
        self._post = main_thread_scheduler if plain else None
        self._registry = Registry()
        self._closed = False
        #: ``receiver(sender, tasks=[...], progress=float)`` on the main thread.
        #: A plain ``blinker.Signal``, as in Rayforge: receivers are held weakly.
        self.tasks_updated: Signal = Signal()
        self._core.tasks_updated.connect(self._on_core_update, weak=False)

    # -- starting work -------------------------------------------------------------
    def add_task(self, task: Task, when_done: WhenDone | None = None) -> None:
        """Run the coroutine of a ``Task`` built by the caller.

        ``await task.coro(context, *task.args, **task.kwargs)`` runs on
        ``loop``; a live task with the same key is cancelled first.
        """
        if not isinstance(task, Task):
            raise TypeError(
                f"add_task() needs a Task (from tasker.compat.rayforge), got {task!r}; "
                "use add_coroutine(coro_fn, ...) for a coroutine function"
            )
        if when_done is not None:
            if not callable(when_done):
                raise TypeError(f"when_done must be callable or None, got {when_done!r}")
            task.when_done_callback = when_done
        self._add(task)
        runner = self._coroutine_runner(task)
        try:
            core = self._core.add_coroutine(
                runner, key=task.key, when_done=functools.partial(self._on_core_done, task, task.when_done_callback)
            )
        except BaseException:
            self._registry.forget(task)
            raise
        self._bind(task, core)

    def add_coroutine(
        self,
        coro: Callable[..., Coroutine[Any, Any, Any]],
        *args: Any,
        key: Any = None,
        when_done: WhenDone | None = None,
        **kwargs: Any,
    ) -> None:
        """Run ``await coro(context, *args, **kwargs)`` on ``loop``; returns None.

        ``coro`` may be any callable returning an awaitable (``lambda ctx: obj.method()``).
        """
        self.add_task(Task(coro, *args, key=key, when_done=when_done, **kwargs))

    def run_thread(
        self,
        func: Callable[..., Any],
        *args: Any,
        key: Any = None,
        when_done: WhenDone | None = None,
        **kwargs: Any,
    ) -> Task:
        """Run ``func(*args, **kwargs)`` — no context — in asyncio's default executor."""
        check_plain("run_thread", func)

        async def thread_wrapper(context: ExecutionContext, *args: Any, **kwargs: Any) -> Any:
            return await self.run_in_executor(func, *args, **kwargs)

        thread_wrapper.__qualname__ = func_name(func)
        task = Task(thread_wrapper, *args, key=key, when_done=when_done, **kwargs)
        self.add_task(task)
        return task

    def run_process(
        self,
        func: Callable[..., Any],
        *args: Any,
        key: Any = None,
        when_done: WhenDone | None = None,
        when_event: Callable[..., object] | None = None,
        visible: bool = True,
        **kwargs: Any,
    ) -> Task:
        """Run ``func(proxy, *args, **kwargs)`` in a worker process.

        ``proxy`` is an ``ExecutionContextProxy``. ``when_event``
        is connected to ``task.event_received``: it is called on the main thread
        as ``when_event(task, event_name=..., data=...)``.
        """
        check_plain("run_process", func)
        if when_event is not None and not callable(when_event):
            raise TypeError(f"when_event must be callable or None, got {when_event!r}")

        async def _placeholder(*args: Any, **kwargs: Any) -> None:  # a process task runs no coroutine
            pass

        task = Task(_placeholder, func, *args, key=key, when_done=when_done, task_type="process", **kwargs)
        task._visible = bool(visible)
        if when_event is not None:
            task.event_received.connect(when_event, weak=False)
        self._add(task)
        try:
            if self._init is not None:
                self._ensure_shared_state()
            # Rayforge passes every other keyword to the function; those that tasker's
            # core reserves (timeout, ...) travel inside the call instead.
            reserved = {name: value for name, value in kwargs.items() if name in tasker.RESERVED_KWARGS}
            plain = {name: value for name, value in kwargs.items() if name not in reserved}
            core = self._core.run_process(
                _ProcessCall(func, task.id, reserved),
                *args,
                key=task.key if task._visible else None,
                when_done=functools.partial(self._on_core_done, task, _AT_END),
                when_event=functools.partial(self._on_core_event, task),
                visible=task._visible,
                **plain,
            )
        except BaseException:
            self._registry.forget(task)
            raise
        self._bind(task, core)
        return task

    def _add(self, task: Task) -> None:
        """Register ``task`` (cancelling a live visible task of the same key first)."""
        if task._added:
            raise RuntimeError(f"{task!r} was already added to a TaskManager; build a new Task to run it again")
        self._check_open()
        if task._visible:
            try:
                hash(task.key)
            except TypeError:
                raise TypeError(f"key must be hashable, got {type(task.key).__name__}: {task.key!r}") from None
            old = self.get_task(task.key)
            if old is not None:
                logger.debug("TaskManager: replacing the task with key %r", task.key)
                self.cancel_task(old.key)
        self._registry.add(task)

    def _bind(self, task: Task, core: tasker.Task[Any]) -> None:
        if task._core is None:
            task._core = core
        if task._cancel_requested:  # cancelled before it was added: it never runs
            core.cancel()

    def _coroutine_runner(self, task: Task) -> Callable[[CoreContext], Coroutine[Any, Any, Any]]:
        async def run(context: CoreContext) -> Any:
            task._task = asyncio.current_task()
            try:
                awaitable = task.coro(ExecutionContext(context, task), *task.args, **task.kwargs)
                if not inspect.isawaitable(awaitable):
                    raise TypeError(
                        f"{func_name(task.coro)} returned {type(awaitable).__name__}, not an awaitable: "
                        "add_coroutine()/add_task() need an 'async def' function (or one returning a "
                        "coroutine); use run_thread() for a plain function"
                    )
                value = await awaitable
            except Exception:
                logger.exception("Unhandled exception in managed task %r", task.key)
                raise
            core = task._core
            if core is None or not core.is_final():  # not abandoned past the grace period
                task._task_result = value
                task._returned = True
            return value

        run.__qualname__ = func_name(task.coro)
        return run

    # -- endings and events (main thread) ------------------------------------------------
    def _on_core_done(self, task: Task, when_done: Any, core: tasker.Task[Any]) -> None:
        if task._core is None:
            task._core = core
        self._registry.ended(task)
        if task._visible:
            task._emit_status_changed()
        if task._done_called:  # a process task cancelled here: its when_done already ran
            return
        task._done_called = True
        if when_done is _AT_END:
            when_done = task.when_done_callback
        if task.task_type == "process" and task.get_status() == "failed":
            error = task._task_exception
            logger.error("Task %r failed in worker pool: %s", task.key, error, exc_info=error)
        if when_done is not None:
            when_done(task)

    def _on_core_event(self, task: Task, core: tasker.Task[Any], name: str, data: Any) -> bool:
        """An event (or ``send_event_and_wait``) of a process task; True: dispatched."""
        if task._zombie or task.is_cancelled():
            logger.debug("Dropping event %r for cancelled task %r (id: %s).", name, task.key, task.id)
            return False
        try:
            task.event_received.send(task, event_name=name, data=data)
        except Exception:
            logger.exception("An event_received receiver of task %r raised on event %r", task.key, name)
            return False
        return True

    # -- cancellation ---------------------------------------------------------------------
    def cancel_task(self, key: Any) -> None:
        """Cancel the live visible task with this key (no-op if there is none)."""
        task = self.get_task(key)
        if task is not None:
            self._cancel(task)

    def cancel_task_by_id(self, task_id: int) -> None:
        """Cancel the live task whose ``task.id`` this is, visible or not."""
        task = self._registry.get_by_id(task_id)
        if task is not None:
            self._cancel(task)

    def _cancel(self, task: Task) -> None:
        if task.is_final():
            return
        if task.task_type != "process":
            task.cancel()  # a coroutine gets asyncio's cancellation; it ends when it stops
            return
        with self._registry.lock:
            if not self._registry.make_zombie(task):
                return
            callback, task.when_done_callback = task.when_done_callback, None
            task._done_called = True
        task.cancel()
        if task._visible:
            task._emit_status_changed()
            self._core.schedule_on_main_thread(self._emit)
        if callback is not None:
            try:
                callback(task)
            except Exception as error:
                logger.debug("when_done of cancelled task %r raised %s: %s", task.key, type(error).__name__, error)

    # -- reading state ----------------------------------------------------------------------
    @property
    def _tasks(self) -> dict[Any, Task]:
        """The live visible tasks by key (a copy; Rayforge's own tests read it)."""
        return self._registry.by_key_copy()

    def get_task(self, key: Any) -> Task | None:
        """The live visible task with this key, or None."""
        return self._registry.get(key)

    def has_tasks(self) -> bool:
        """True while a visible task is live."""
        return bool(self._registry.live_visible())

    def __len__(self) -> int:
        return len(self._registry.live_visible())

    def __iter__(self) -> Iterator[Task]:
        return iter(self._registry.live_visible())

    def get_overall_progress(self) -> float:
        """Mean progress of the visible tasks of the current batch; 1.0 when idle.

        A batch lasts while visible tasks are live; a task that ended in it
        keeps its last progress (1.0 if completed); a replaced key counts once.
        """
        return self._registry.overall_progress()

    def _on_core_update(self, sender: Any, **kwargs: Any) -> None:
        self._emit()

    def _emit(self) -> None:
        """Send ``tasks_updated`` (and ``status_changed`` of the tasks that changed)."""
        tasks = self._registry.live_visible()
        progress = self.get_overall_progress()
        shown = self._registry.shown
        for task in tasks:
            if task.status_changed.receivers:
                seen = (task.get_status(), task.get_progress(), task.get_message())
                if shown.get(task.id) != seen:
                    shown[task.id] = seen
                    task.status_changed.send(task)
        self.tasks_updated.send(self, tasks=tasks, progress=progress)

    # -- processes -------------------------------------------------------------------------
    @property
    def shared_state(self) -> Any:
        """The dict given to every worker initializer (made on first need)."""
        return self._ensure_shared_state()

    def _ensure_shared_state(self) -> Any:
        with self._state_lock:
            if self._shared_state is None:
                self._check_open()
                from multiprocessing import get_context

                self._mp_manager = get_context("spawn").Manager()
                self._shared_state = self._mp_manager.dict()
            if self._init is not None:
                self._init.shared_state = self._shared_state
            return self._shared_state

    def restart_worker_pool(self) -> None:
        """Replace every worker process (running tasks finish first); shared_state is kept."""
        self._core.restart_worker_pool()

    # -- shutdown -------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel every task, stop tasker's threads and processes and the shared-state manager."""
        with self._registry.lock:
            if self._closed:
                return
            self._closed = True
            tasks = self._registry.live_visible_locked()
        for task in tasks:
            self._cancel(task)
        self._core.shutdown()
        with self._state_lock:
            mp_manager, self._mp_manager = self._mp_manager, None
        if mp_manager is not None:
            try:
                mp_manager.shutdown()
            except (OSError, EOFError, ValueError) as error:
                logger.debug("shared-state manager shutdown failed: %s", error)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this TaskManager was shut down; it takes no new tasks")

    def __repr__(self) -> str:
        return f"<rayforge TaskManager on {self._core!r}>"


if TYPE_CHECKING:
    _Base = TaskManager
else:
    _Base = object


class TaskManagerProxy(LazyManager, _Base):
    """Creates the real ``TaskManager`` on first use (Rayforge's ``task_mgr``).

    Call ``initialize`` first to give the manager its options; without a
    ``main_thread_scheduler`` it runs callbacks inline, in whatever thread
    produces them, as Rayforge's proxy does.
    """

    _option_names = _OPTIONS

    def _make(self, **options: Any) -> TaskManager:
        options.setdefault("main_thread_scheduler", run_inline)
        return TaskManager(**options)


#: The application's shared manager, created on first use.
task_mgr: TaskManager = TaskManagerProxy()
