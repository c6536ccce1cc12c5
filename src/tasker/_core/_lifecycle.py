"""The lifecycle: every task's status changes and endings, for every kind.

    TaskManager._submit ──► add(task)                      pending
                              runner.submit(task)
                                └─► begin(task)            running (False: it ended, skip it)
                                      └─► conclude(task, result | error)
                                            final, once: final_status decides which
                                            └─► delivery: when_done queued    main thread
                                                (posted last, after the ending thread's own work)
    cancel(task) ─► flag + runner.interrupt ─► pending: conclude now
                                            └► running: runner.release, grace timer
                                                 └─► grace over: runner.abandon, conclude
    pause(task) / resume(task) ─► control byte, timeout timer, runner.pause / .resume
                                  (not a status: ``_pausing``)

``conclude`` is the one way a task ends; ``_status.final_status`` is a pure decision
(timed out → failed with TaskTimeoutError; cancel asked → canceled; else the
function's outcome). Runners talk to this class through the ``Lifecycle``
protocol (``_runner``).

Lock order: ``lock`` (here) → a runner's own lock → delivery's lock. Runners
never call back into here while holding their lock, except ``interrupt``, which
is called with ``lock`` held and only sets flags.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from ._ask import Question, cancel_questions
from ._delivery import Delivery
from ._errors import TaskError, error_text
from ._pausing import Pausing, resume_runner, wake
from ._runner import Runner, make_runner
from ._signal import TasksSignal
from ._status import CANCEL, TaskStatus, control_for, final_status
from ._stream import post_yield, post_yields
from ._task import func_name

if TYPE_CHECKING:
    from ..schedulers import Scheduler
    from ._clock import Clock
    from ._options import Options
    from ._task import Task

logger = logging.getLogger("tasker")
DEBUG = logging.DEBUG
#: logging's own answer, per level, to "is this logger enabled?" (it clears this
#: dict, never replaces it, whenever levels change). The per-task debug lines
#: read it instead of calling ``isEnabledFor`` (one Python call per step, on every
#: task): a missing answer counts as "maybe", and ``logger.debug`` then decides
#: (and fills it in). Not CPython's logging: an empty dict, so always "maybe".
_cached = getattr(logger, "_cache", None)
_enabled: dict[int, bool] = _cached if isinstance(_cached, dict) else {}


class TaskLifecycle:
    """Live tasks, their status changes, endings and what the UI is shown."""

    def __init__(self, owner: object, options: Options, clock: Clock, get_scheduler: Any) -> None:
        self.owner = owner  # the sender of the signals: the TaskManager
        self.options = options
        self.clock = clock
        self.lock = threading.RLock()
        # Invariants (under lock): _active holds exactly the non-final tasks, by id,
        # in start order; _by_key maps a key to its live task; _visible_live counts
        # the visible ones; _batch_done counts visible endings since none was live.
        self._active: dict[int, Task[Any]] = {}
        self._by_key: dict[Hashable, Task[Any]] = {}
        self._visible_live = 0
        self._batch_done = 0
        self.runners: dict[str, Runner] = {}
        self.closed = False
        self._settle = threading.Condition()
        self._settle_waiters = 0
        self.tasks_updated = TasksSignal("tasks_updated")
        #: ``handler(sender, task=task)`` on the main thread as each task ends,
        #: right before its ``when_done`` — also for tasks that ended before any
        #: ``tasks_updated`` listed them (e.g. a widget showing failures).
        self.task_ended = TasksSignal("task_ended")
        self.delivery = Delivery(
            get_scheduler=get_scheduler,
            clock=clock,
            emit=self._emit_update,
            update_rate=float(options.update_rate),
            max_pending_events=options.max_pending_events,
            on_idle=self.notify_settle,
        )
        self.pausing = Pausing(self)  # pause, resume, wakers, the timeout timer

    def configure(self, options: Options, clock: Clock) -> None:
        self.options, self.clock = options, clock
        self.delivery.configure(float(options.update_rate), options.max_pending_events, clock)

    # -- tasks coming and going ---------------------------------------------------
    def runner(self, kind: str) -> Runner:
        runner = self.runners.get(kind)
        if runner is None:
            with self.lock:
                runner = self.runners.get(kind)
                if runner is None:
                    runner = self.runners[kind] = make_runner(kind, self, self.options)
        return runner

    def add(self, task: Task[Any]) -> Task[Any] | None:
        """Register a new task; returns the live task it replaces (same key), if any."""
        with self.lock:
            if self.closed:
                raise RuntimeError(
                    "this TaskManager was shut down; it takes no new tasks "
                    "(create a new TaskManager to run more work)"
                )
            old = self._by_key.get(task.key)
            self._by_key[task.key] = task
            self._active[task.id] = task
            self._visible_live += task.visible
        if _enabled.get(DEBUG, True):  # (guarded: task.name is not free, and this is per task)
            logger.debug("tasker: %s task %r submitted (#%d)", task.kind, task.name, task.id)
        if task.visible:
            self.delivery.mark_dirty()
        if task.timeout is not None:
            self.pausing.arm_timeout(task, task.timeout)
        return old

    def begin(self, task: Task[Any]) -> bool:
        with self.lock:
            if task._status is not TaskStatus.PENDING:
                return False
            task._status = TaskStatus.RUNNING
        if _enabled.get(DEBUG, True):
            logger.debug("tasker: task %r (#%d) started", task.name, task.id)
        if task.visible:
            self.delivery.mark_dirty()
        return True

    def conclude(self, task: Task[Any], result: Any = None, error: BaseException | None = None) -> bool:
        """End the task, once; True if this call ended it.

        Nothing that raises on the way stops an ending: the steps that meet the
        application's objects (the key's ``__hash__``, the error's ``__str__``,
        the function's name) are guarded one by one, and a last-resort guard
        (``_end_anyway``) ends the task ``failed`` with any other internal error
        as its cause and logs it. The calling thread (a pool thread, a reader)
        goes on; ``when_done`` runs once, as for any ending.
        """
        owed = False  # a flush of the delivery this call must post (ending_unposted)
        try:
            with self.lock:
                if task._status.is_final:
                    return False
                internal = None
                try:
                    status, error = final_status(task, error)
                except Exception as fault:  # (a pure decision of tasker's own: only a bug gets here)
                    status, error, internal = TaskStatus.FAILED, _internal_error(task, fault, error), fault
                assert status.is_final, status  # (may_move: a live task's one final move)
                task._status = status
                task._result = result if status is TaskStatus.COMPLETED else None
                task._error = error
                # Invariant: _active and the counts change together (no call in between),
                # so _end_anyway can tell from _active whether they changed.
                del self._active[task.id]
                if task.visible:
                    self._visible_live -= 1
                    self._batch_done = self._batch_done + 1 if self._visible_live else 0
                self._forget_key_locked(task)
                callbacks, task._callbacks = task._callbacks, []
                questions, task._questions = task._questions, None
                unpaused = self.pausing.unpause_locked(task) if task._paused else None
                # Queued before the lock is released: "settled" never sees a task
                # that is gone from _active but whose when_done is not queued yet.
                # Posted last (``finally``): this thread's own work is done by the time the
                # main thread wakes for it.
                owed = self.delivery.ending_unposted(self._run_when_done, task, show=task.visible)
                task._ending_queued = True
            if internal is not None:
                _log_internal(task, internal)
            if _enabled.get(DEBUG, True):
                why = f" ({error_text(error)})" if error is not None else ""
                logger.debug("tasker: task %r (#%d) ended %s%s", task.name, task.id, status, why)
            self._after_ending(task, callbacks, questions, unpaused)
            return True
        except BaseException as fault:  # (only after this call found the task live: it ends it)
            self._end_anyway(task, fault)
            if not isinstance(fault, Exception) and threading.current_thread() is threading.main_thread():
                raise  # Ctrl-C / SystemExit on the main thread are the application's
            return True
        finally:
            if owed:
                self.delivery.post_flush()

    def _forget_key_locked(self, task: Task[Any]) -> None:
        """Drop the task's key from ``_by_key`` (the key's ``__hash__``/``__eq__`` are the app's)."""
        try:
            if self._by_key.get(task.key) is task:
                del self._by_key[task.key]
        except Exception as fault:
            logger.error(
                "tasker: the key of task #%d could not be looked up as it ended (%s); "
                "get_task() may still return the ended task for it", task.id, error_text(fault),
            )

    def _after_ending(
        self,
        task: Task[Any],
        callbacks: list[Callable[[], object]],
        questions: set[Question] | None,
        unpaused: list[Callable[[], object]] | None,
    ) -> None:
        """What follows an ending, without the lock: let the function go, wake waiters."""
        call = task._call
        if task._name is None and call is not None:  # fix the name before letting the function go
            try:
                task._name = func_name(call[0])
            except Exception:  # (its __qualname__ is the app's)
                task._name = f"task #{task.id}"
        task._call = task.payload = None
        if task._timer is not None:
            task._timer.cancel()
        if questions:  # a function still waiting in ask() (abandoned, shut down): wake it
            cancel_questions(task, questions)
        if unpaused is not None:  # ended while paused: nothing may stay held or stopped
            wake(unpaused)
            resume_runner(self.runners[task.kind], task)
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("tasker: internal done-callback failed")
        if self._settle_waiters:  # (notify_settle, inlined: most endings have nobody waiting)
            self.notify_settle()

    def _end_anyway(self, task: Task[Any], fault: BaseException) -> None:
        """The last resort of ``conclude``: finish what an ending that raised left undone.

        A task whose status was not decided yet ends ``failed`` with the internal
        error as cause; a decided one keeps its status. Either way it leaves the
        live tasks, its ``when_done`` is queued (once) and its waiters are woken.
        """
        _log_internal(task, fault)
        with self.lock:
            if not task._status.is_final:
                task._status = TaskStatus.FAILED
                task._result = None
                task._error = _internal_error(task, fault, task._error)
            if self._active.pop(task.id, None) is not None and task.visible:
                self._visible_live -= 1
                self._batch_done = self._batch_done + 1 if self._visible_live else 0
            callbacks, task._callbacks = task._callbacks, []
            questions, task._questions = task._questions, None
            unpaused = self.pausing.unpause_locked(task) if task._paused else None
            queue = not task._ending_queued
            task._ending_queued = True
        if queue:
            try:
                self.delivery.ending(self._run_when_done, task, show=task.visible)
            except BaseException:
                logger.exception("tasker: the ending of task #%d could not be queued", task.id)
        try:
            self._after_ending(task, callbacks, questions, unpaused)
        except BaseException:
            logger.exception("tasker: cleaning up after task #%d failed", task.id)

    def _run_when_done(self, task: Task[Any]) -> None:
        if task._done_delivered:  # queued twice (an ending that raised after queueing it): once
            return
        task._done_delivered = True  # (no lock: see Task.add_done_callback)
        try:
            if self.task_ended.receivers:
                self.task_ended.send(self.owner, task=task)
            if task._when_done is not None:
                task._when_done(task)
        finally:
            if task._listeners is not None:
                self._run_listeners(task)

    def _run_listeners(self, task: Task[Any]) -> None:
        with self.lock:
            listeners, task._listeners = task._listeners, None
        for listener in listeners or ():
            try:
                listener(task)
            except Exception:
                logger.exception("tasker: a done callback of task %r raised (ignored)", task.name)

    # -- what running tasks report ---------------------------------------------------
    def changed(self, task: Task[Any]) -> None:
        """A task's progress or message changed (its ``_dirty`` is set)."""
        self.delivery.mark_dirty(task)

    def report(self, task: Task[Any], progress: float, message: str | None) -> None:
        task._progress, task._message = progress, message
        if not task._dirty:  # not task._changed(): a reader thread never waits at a pause point
            task._dirty = True
            if task.visible:
                self.changed(task)
            elif task._parent is not None:
                task._parent._part_changed(task)

    def flush(self) -> None:
        self.delivery.flush_soon()

    def post_event(self, task: Task[Any], name: str, data: Any) -> None:
        if not task._status.is_final:
            self.delivery.event(self._deliver_event, task, name, data)

    def post_yield(self, task: Task[Any], value: Any) -> None:
        """A generator task's value: ``when_yield`` on the main thread, in order (``_stream``)."""
        post_yield(self, task, value)

    def post_yields(self, task: Task[Any], values: list[Any]) -> None:
        """Several values of a generator task, in order (``_stream``)."""
        post_yields(self, task, values)

    def _deliver_event(self, task: Task[Any], name: str, data: Any) -> None:
        if task._when_event is not None and not task._done_delivered:
            task._when_event(task, name, data)

    def post_question(self, task: Task[Any], question: Question) -> None:
        with self.lock:
            stopping = task._status.is_final or task._cancel_requested
            if not stopping:
                if task._questions is None:
                    task._questions = set()
                task._questions.add(question)
        if stopping:
            cancel_questions(task, [question])
        else:
            self.delivery.event(self._deliver_question, task, question)

    def _deliver_question(self, task: Task[Any], question: Question) -> None:
        """On the main thread: the handler's return value is the answer.

        The question stays the task's while the handler runs, so a handler that
        cancels the task (a "Cancel" button in its dialog) makes the ask raise
        ``CancelledError``: the cancel answers first and the return value is dropped.
        """
        with self.lock:
            stopping = task._status.is_final or task._cancel_requested
        if question.answered:  # the asker gave up (timeout) or was canceled
            return
        if stopping:
            cancel_questions(task, [question])
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
            with self.lock:
                if task._questions is not None:
                    task._questions.discard(question)

    def post_warning(
        self, task: Task[Any] | None, module: str, qualname: str, text: str, filename: str, lineno: int
    ) -> None:
        from ._warn import reissue  # (not imported with tasker: only once a worker warns)

        name = task.name if task is not None else None
        self.delivery.call(reissue, name, module, qualname, text, filename, lineno)

    def never_block(self, thread_id: int) -> None:
        self.delivery.never_block(thread_id)

    def then(self, task: Task[Any], fn: Callable[..., Any], args: tuple[Any, ...], kind: str | None,
             kwargs: dict[str, Any]) -> Task[Any]:
        """``Task.then`` (``_chain``; reached from here so that ``_task`` imports no composite)."""
        from ._chain import then

        return then(task, fn, args, kind, kwargs)

    # -- pausing (``_pausing``) ----------------------------------------------------------
    def pause(self, task: Task[Any]) -> bool:
        """Pause a live task (pending or running); True if it is paused now."""
        return self.pausing.pause(task)

    def resume(self, task: Task[Any]) -> bool:
        """Resume a paused live task; True if it was paused."""
        return self.pausing.resume(task)

    def add_waker(self, task: Task[Any], fn: Callable[[], object]) -> bool:
        """Run ``fn()`` once the task is no longer paused; False (not kept) if it is not paused now."""
        return self.pausing.add_waker(task, fn)

    def may_wait(self) -> bool:
        """May the calling thread block at a pause point? Not tasker's own loop."""
        return self.pausing.may_wait()

    # -- cancellation ---------------------------------------------------------------
    def cancel(self, task: Task[Any]) -> bool:
        """Ask the task to stop; True if it was live."""
        with self.lock:
            if task._status.is_final:
                return False
            if task._cancel_requested:
                return True
            task._cancel_requested = True
            task.control[0] = CANCEL  # cancel wins over pause; never taken back
            unpaused = self.pausing.unpause_locked(task)
            assert task.control[0] == control_for(True, task._paused), task.control[0]
            runner = self.runners[task.kind]
            # Pending too: a process task may already wait in a worker, which must skip it.
            runner.interrupt(task)
            pending = task._status is TaskStatus.PENDING
            if pending:
                if _enabled.get(DEBUG, True):
                    logger.debug("tasker: task %r (#%d) canceled before it started", task.name, task.id)
                self.conclude(task)  # never runs; under the lock so it cannot begin
            questions, task._questions = task._questions, None
            closing = self.closed
        if unpaused is not None:  # a paused task: woken, its worker continued, to see CANCEL
            wake(unpaused)
            resume_runner(runner, task)
        if pending:
            return True
        if _enabled.get(DEBUG, True):
            logger.debug("tasker: task %r (#%d) asked to stop", task.name, task.id)
        if questions:
            cancel_questions(task, questions)
        if not closing:
            runner.release(task)  # its slot is free now, while it still stops
        grace = float(self.options.cancel_grace_period)
        self.clock.call_later(grace, lambda: self._grace_over(task))
        return True

    def _grace_over(self, task: Task[Any]) -> None:
        if not task._status.is_final:
            logger.debug("tasker: task %r (#%d) still running after its grace period: abandoned",
                         task.name, task.id)
            self.runners[task.kind].abandon(task)
            self.conclude(task)

    # -- reading state -----------------------------------------------------------------
    def get(self, key: Hashable) -> Task[Any] | None:
        return self._by_key.get(key)

    def get_by_id(self, task_id: int) -> Task[Any] | None:
        return self._active.get(task_id)

    def live(self) -> list[Task[Any]]:
        with self.lock:
            return list(self._active.values())

    def count(self) -> int:
        return len(self._active)

    def progress(self) -> float:
        with self.lock:
            return self._progress_locked()

    def _progress_locked(self) -> float:
        live = self._visible_live
        if not live:
            return 1.0
        done = self._batch_done
        total = done + sum(t._progress for t in self._active.values() if t.visible)
        return min(1.0, max(0.0, total / (done + live)))

    def visible_tasks(self) -> list[Task[Any]]:
        """The live tasks a UI shows (``visible=True``), in start order."""
        with self.lock:
            if self._visible_live == len(self._active):
                return list(self._active.values())
            return [t for t in self._active.values() if t.visible]

    def _emit_update(self) -> None:
        with self.lock:
            tasks = self.visible_tasks()
            progress = self._progress_locked()
        self.tasks_updated.send(self.owner, tasks=tasks, progress=progress)

    # -- settling and shutting down ---------------------------------------------------------
    def wait_settled(self, scheduler: Scheduler, timeout: float | None) -> bool:
        """Wait until no task is live and every callback ran (pumping if on the main thread).

        The last ``tasks_updated`` then shows the settled state: once no task is live,
        a change the throttle holds back is shown at once (``_show_held_back``).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._is_settled():
            self._show_held_back()
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

    def _show_held_back(self) -> None:
        """No task live: the last change, which the throttle may hold back, is shown now.

        Otherwise "settled" would depend on the order of two threads: an ending that
        arrives within 1/update_rate of the last emission waits for the interval's end
        (on a fake clock, for an advance() the caller has no reason to make), one that
        arrives later is shown at once.
        """
        with self.lock:
            live = bool(self._active)
        if not live:
            self.delivery.show_held_back()

    def _is_settled(self) -> bool:
        # Under the lock: a task leaves _active and its when_done is queued in one
        # critical section (conclude); read without it, the two could be seen between.
        with self.lock:
            return not self._active and self.delivery.is_idle()

    def notify_settle(self) -> None:
        if self._settle_waiters:  # most endings have nobody waiting: skip the lock
            with self._settle:
                self._settle.notify_all()

    def shutdown(self, wait: float) -> None:
        """Cancel every task, wait up to ``wait`` s, end the rest; stop the runners."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
            tasks = list(self._active.values())
        logger.debug("tasker: shutting down with %d live tasks", len(tasks))
        for task in tasks:
            self.cancel(task)
        _wait_all(tasks, wait)
        for task in tasks:
            if not task._status.is_final:
                self.runners[task.kind].abandon(task)
                self.conclude(task)
        self.delivery.stop_blocking()
        for runner in list(self.runners.values()):
            runner.shutdown()
        self.notify_settle()


def _wait_all(tasks: list[Task[Any]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    current = threading.current_thread()
    for task in tasks:
        if task.handle is current:  # shutdown from inside this very task
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not task.wait(remaining):
            return


def _internal_error(task: Task[Any], fault: BaseException, outcome: BaseException | None) -> TaskError:
    """The failure of a task whose ending met an internal error (``fault``, its cause)."""
    error = TaskError(
        f"tasker could not end task #{task.id} normally: {error_text(fault)} (an internal error; "
        f"the task's own outcome was {error_text(outcome) if outcome is not None else 'a result'})"
    )
    error.__cause__ = fault
    return error


def _log_internal(task: Task[Any], fault: BaseException) -> None:
    try:
        logger.error(
            "tasker: internal error while task #%d ended (%s); it is ended anyway",
            task.id, error_text(fault), exc_info=(type(fault), fault, fault.__traceback__),
        )
    except BaseException:
        pass  # (a logging handler of the app's that raises: the ending matters more)
