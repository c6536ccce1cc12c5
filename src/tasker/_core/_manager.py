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

import os
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from types import TracebackType

from ._mainthread import MainThreadCalls
from ._options import Options
from ._start import StartMethods

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    import asyncio
    from typing import Any

    from ..schedulers import Scheduler
    from ._clock import Clock
    from ._firststart import PREPARE_FIRST, FirstStart
    from ._lifecycle import TaskLifecycle
    from ._signal import TasksSignal
    from ._task import Task, TaskKind
    from ._validate import METHODS, take_reserved
else:  # bound by _load_core() when the first manager is built in full (see TaskManager._build)
    Task = METHODS = PREPARE_FIRST = take_reserved = None


class TaskManager(StartMethods, MainThreadCalls):
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
        # Only the options are checked here: the lifecycle, the clock and the
        # signals (and the modules they need) are built on first need — the
        # stand-ins below build them on their first use, then the real ones
        # replace them — so that building a manager in a fresh process, often
        # while the application's window is being built, costs little. (Plain
        # instance attributes, no __getattr__ and no class defaults: CPython
        # specialises the attribute reads of every task only then.)
        self._options = Options.build(**options)
        self._scheduler_spec = main_thread_scheduler
        self._scheduler: Scheduler | None = None
        self._lock = threading.Lock()
        self._started = False
        self._warm_up_thread: threading.Thread | None = None
        self._prestarted: set[str] = set()  # kinds prestart() was asked for (under _lock)
        self._prestarts: list[threading.Event] = []  # one per prestart thread: set once it is over
        self._shut_down = False  # (under _lock) prestart() does nothing from then on
        self._first: FirstStart | None = None  # a first run_process being handed over (``_firststart``)
        # Invariant: _ready_lifecycle is None until the lifecycle is published; then it is
        # _lifecycle, and _clock, tasks_updated and task_ended are the real ones.
        self._ready_lifecycle: TaskLifecycle | None = None
        self._lifecycle: TaskLifecycle = _Unbuilt(self, "")  # type: ignore[assignment]
        self._clock: Clock = _Unbuilt(self, "clock")
        self._own_clock = False
        #: ``handler(sender, tasks=[live visible tasks], progress=float)`` on the
        #: main thread, at most ``update_rate`` times a second (strong receivers).
        self.tasks_updated: TasksSignal = _Unbuilt(self, "tasks_updated")  # type: ignore[assignment]
        #: ``handler(sender, task=task)`` on the main thread as each task ends,
        #: right before its ``when_done``.
        self.task_ended: TasksSignal = _Unbuilt(self, "task_ended")  # type: ignore[assignment]

    def _built(self) -> TaskLifecycle:
        """The lifecycle, built (or handed over) first if need be."""
        lifecycle = self._ready_lifecycle
        if lifecycle is None:
            self._build()
            lifecycle = self._ready_lifecycle
            assert lifecycle is not None
        return lifecycle

    def _build(self) -> None:
        """The lifecycle, the clock and the signals: built once, on first need, from any thread.

        While a first ``run_process`` is being handed over (``_firststart``), this
        waits for that instead.
        """
        with self._lock:
            if self._ready_lifecycle is not None:
                return
            first = self._first
            if first is None:
                self._publish_locked(self._new_lifecycle())
                return
        first.done.wait()
        with first.hand_lock:  # its thread failed to build: build here, then hand its tasks over
            if self._ready_lifecycle is None:
                first.hand_over(self._new_lifecycle())

    def _new_lifecycle(self) -> TaskLifecycle:
        _load_core()
        from ._clock import TimerThread
        from ._lifecycle import TaskLifecycle

        options = self._options
        clock: Clock = options.clock or TimerThread()
        return TaskLifecycle(self, options, clock, self._get_scheduler)

    def _publish_locked(self, lifecycle: TaskLifecycle) -> None:
        clock = lifecycle.clock
        self._clock, self._own_clock = clock, self._options.clock is None  # a clock given to us is the caller's
        self.tasks_updated = lifecycle.tasks_updated
        self.task_ended = lifecycle.task_ended
        self._lifecycle = lifecycle
        self._ready_lifecycle = lifecycle  # last: "built"

    def _publish_first(self, first: FirstStart, lifecycle: TaskLifecycle) -> list[Task[Any]]:
        """For the hand-over: the tasks queued meanwhile, or (none left) publish the lifecycle."""
        with self._lock:
            batch, first.queued = first.queued, []
            if not batch and self._ready_lifecycle is None:
                self._publish_locked(lifecycle)
            return batch

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
            lifecycle = self._ready_lifecycle
            if lifecycle is None:
                return  # built later, from these options
            if "clock" in options:
                from ._clock import TimerThread

                if self._own_clock:
                    self._clock.stop()
                self._clock = merged.clock or TimerThread()
                self._own_clock = merged.clock is None
            lifecycle.configure(merged, self._clock)

    @property
    def scheduler(self) -> Scheduler:
        """The main-thread scheduler in use (chosen on first need)."""
        return self._get_scheduler()

    def _get_scheduler(self) -> Scheduler:
        scheduler = self._scheduler
        if scheduler is None:
            with self._lock:
                if self._scheduler is None:
                    from ..schedulers import resolve_scheduler

                    self._scheduler = resolve_scheduler(self._scheduler_spec)
                scheduler = self._scheduler
        return scheduler

    # (The implementations take *args/**kwargs as ``object``: with ``Any``, mypy
    # reports that they do not accept the TypeVarTuple overload.)
    def _submit(
        self, kind: TaskKind, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Task[Any]:
        """Start a task of any registered kind (the public methods call this)."""
        lifecycle = self._ready_lifecycle
        if lifecycle is None:  # (once: the lifecycle is built first, with the names used below)
            return self._submit_first(kind, func, args, kwargs)
        key, when_done, when_event, timeout, visible, priority, when_yield = take_reserved(
            METHODS.get(kind, kind), kind, func, kwargs
        )
        if lifecycle.closed:
            self._check_open()
        if self._scheduler is None:
            self._get_scheduler()  # chosen here, in the caller's (main) thread, not in a worker
        runner = lifecycle.runners.get(kind) or lifecycle.runner(kind)
        task: Task[Any] = Task(
            lifecycle, kind, (func, args, kwargs), key, when_done, when_event, timeout, visible, priority
        )
        if when_yield is not None:
            task._when_yield = when_yield
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

    def _submit_first(
        self, kind: TaskKind, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Task[Any]:
        """A task while the lifecycle is not published: a first ``run_process`` is queued
        for the starter thread (``_firststart``); anything else builds (or waits for) it first."""
        _load_core()
        if kind in PREPARE_FIRST:
            task = self._queue_first(kind, func, args, kwargs)
            if task is not None:
                return task
        self._build()
        return self._submit(kind, func, args, kwargs)

    def _queue_first(
        self, kind: TaskKind, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Task[Any] | None:
        """Check and prepare the call here; the starter thread adds and submits it (None: built already)."""
        if self._ready_lifecycle is not None:
            return None
        from ._firststart import FirstStart, Soon, prepare_first
        from ._validate import give_back

        reserved = take_reserved(METHODS.get(kind, kind), kind, func, kwargs)
        key, when_done, when_event, timeout, visible, priority, when_yield = reserved
        spec = self._scheduler_spec
        if self._scheduler is None and (spec is None or isinstance(spec, str) or not callable(spec)):
            self._get_scheduler()  # chosen here, in the caller's (main) thread (a callable: anywhere)
        lifecycle: Any = Soon(self._built)
        task: Task[Any] = Task(
            lifecycle, kind, (func, args, kwargs), key, when_done, when_event, timeout, visible, priority
        )
        if when_yield is not None:
            task._when_yield = when_yield
        task.payload = prepare_first(kind, func, args, kwargs)
        with self._lock:
            if self._ready_lifecycle is not None:  # published meanwhile: the direct way
                give_back(kwargs, reserved)
                close = getattr(task.payload, "close", None)
                if close is not None:
                    close()
                return None
            if self._shut_down:
                self._check_closed_before_start()
            self._started = True
            first = self._first
            start = first is None
            if first is None:
                first = self._first = FirstStart(self._new_lifecycle, self._publish_first)
            first.queued.append(task)
        if start:
            first.start()
        return task

    def _check_closed_before_start(self) -> None:
        from ._errors import ManagerClosedError

        raise ManagerClosedError(
            "this TaskManager was shut down; it takes no new tasks (create a new TaskManager to run more work)"
        )

    def _check_open(self) -> None:
        if self._lifecycle.closed:
            from ._errors import ManagerClosedError

            raise ManagerClosedError(
                "this TaskManager was shut down; it takes no new tasks (create a new TaskManager to run more work)"
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
        """Wait until no task is live and every callback ran; True if so.

        The last ``tasks_updated`` then shows no live task: once none is live, a
        change that the ``update_rate`` throttle still holds back is emitted at once,
        without waiting for the interval's end (with a ``FakeClock``: without an
        ``advance()``).
        """
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
    def prestart(self, processes: bool = True, cluster: bool = False, *, preload: Iterable[str] = ()) -> None:
        """Start the worker pool (and, with ``cluster=True``, the embedded Dask cluster) now.

        Returns at once, from any thread: a short-lived thread imports what the
        pool needs and starts every worker. Call it once the application's window
        is shown (the toolkit helpers ``prestart_when_idle`` do it when the main
        loop first goes idle): the first process task then finds a warm worker.
        Where the OS lets a process undo it (Linux with ``CAP_SYS_NICE`` or a
        high enough ``RLIMIT_NICE``), the workers boot under ``SCHED_IDLE`` and
        go back to normal priority before their first task; a task submitted
        while they boot lifts them at once. Options are fixed from here on, as
        after the first task. Calling it again, or after ``shutdown``, does nothing.

        ``preload``: names of modules the workers import before they report
        ready (e.g. the module of the app's process jobs), so that the first
        task imports nothing either; they also import what unpickling a call
        sent by value needs (cloudpickle: a lambda, a function of ``__main__``).
        """
        modules = [preload] if isinstance(preload, str) else list(preload)
        if not all(isinstance(name, str) and name for name in modules):
            raise TypeError(f"preload must be module names (str), got {preload!r}")
        from ._firststart import start_thread

        kinds = [kind for kind, wanted in (("process", processes), ("cluster", cluster)) if wanted]
        with self._lock:
            kinds = [kind for kind in kinds if kind not in self._prestarted]
            if not kinds or self._shut_down:
                return
            self._prestarted.update(kinds)
            self._started = True  # the runners are built from the options in force now
            self._prestarts.append(start_thread("tasker-prestart", self._prestart, kinds, modules))

    def _prestart(self, kinds: list[str], modules: list[str]) -> None:
        """On the prestart thread: build each runner and let it start what it keeps warm."""
        import logging

        try:
            lifecycle = self._built()
            for kind in kinds:
                if lifecycle.closed or self._shut_down:
                    return
                runner = lifecycle.runners.get(kind) or lifecycle.runner(kind)
                start = getattr(runner, "prestart", None)
                if start is not None:
                    start(modules)
            # What a first task would import on the caller's thread otherwise: the
            # scheduler's module (chosen later, by the caller) and what _warm_up imports.
            from .. import schedulers  # noqa: F401
            from ._errors import import_cancelled_error

            import_cancelled_error()

            spec = self._scheduler_spec
            if not (spec is None or isinstance(spec, str)) and callable(spec):
                self._get_scheduler()  # a plain callable is wrapped the same way on any thread
        except Exception:  # a hint that failed (e.g. no dask): the first task reports it
            logging.getLogger("tasker").warning("tasker: prestart failed", exc_info=True)

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
        with self._lock:
            self._shut_down = True
            prestarting = list(self._prestarts)
        if threading.current_thread().name != "tasker-prestart":  # (never from it: it would wait for itself)
            for over in prestarting:  # what it builds must exist before the runners are shut down
                over.wait(10.0)
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

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        lifecycle = self._ready_lifecycle
        return f"<TaskManager {lifecycle.count() if lifecycle else 0} live tasks pid={os.getpid()}>"


class _Unbuilt:
    """Stands for the lifecycle (or its clock, or a signal) until built: any use builds it.

    ``TaskManager._build`` replaces the manager's attributes with the real
    objects; a stand-in kept elsewhere (``mgr.tasks_updated`` stored by a widget)
    goes on forwarding to them.
    """

    __slots__ = ("_manager", "_part")

    def __init__(self, manager: TaskManager, part: str) -> None:
        self._manager = manager
        self._part = part  # "": the lifecycle itself, else that attribute of it

    def _target(self) -> Any:
        lifecycle = self._manager._built()
        return getattr(lifecycle, self._part) if self._part else lifecycle

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._target()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<{self._part or 'lifecycle'} of {self._manager!r}, built on first use>"


def _load_core() -> None:
    """Bind the names ``_submit`` uses per task (imported once, with the first full manager)."""
    global Task, METHODS, PREPARE_FIRST, take_reserved
    from ._firststart import PREPARE_FIRST
    from ._task import Task
    from ._validate import METHODS, take_reserved


def _import_cancelled() -> None:
    time.sleep(0)  # let the thread that started us go on first
    from ._errors import import_cancelled_error

    import_cancelled_error()


from ._public import public  # noqa: E402

public(TaskManager)
