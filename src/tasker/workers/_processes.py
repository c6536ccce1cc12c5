"""Process tasks: a warm, bounded pool of worker processes.

    caller thread                 reader thread (one per worker)      worker process
    ─────────────                 ──────────────────────────────      ──────────────
    run_process: pickle call ─┐
    submit: queue + dispatch ─┼─► send b"T"+slot+id+call ────────────► run func(ctx)
                              │   recv "P"/"E"/"L" ◄── progress, events, log records
    cancel: flags[slot] = 1 ──┼──────────────────── shared memory ────► ctx.is_cancelled()
                              │   recv "R"/"F" ◄────────────────────── result / error
                              │     └─ conclude(task); dispatch next pending task
                              │   EOF ◄───────────────────────────────── died (exit/signal)
                              │     └─ fail its task (WorkerDiedError); start a spare

Workers (``_worker.Worker``) are fresh interpreters running
``tasker.workers._child`` (never the application's ``__main__``), started
lazily, each by its own reader thread so the caller never waits for a process
to start. ``spare_processes`` idle workers
are kept warm beyond ``max_processes`` so a dead or killed worker is replaced
without a cold start.

A worker whose task was cancelled but is still stopping is *draining*: it
leaves the budget at once (the warm spare takes the next queued task), keeps
reporting for its task, and when that task is over it rejoins the pool if there
is room, or stops. At most ``max_processes`` workers drain at a time; past that
a cancelled task keeps its slot until it stops or its grace period ends.

While tasks are short (a moving average under 2 ms) a busy worker may be sent
its next task ahead of time: it goes straight on instead of waiting a round
trip. Such a task stays ``pending`` until the worker reports the previous one
done; it has its own cancel flag, which the worker checks before starting it
(cancelled: skipped), and it goes back to the queue if its worker dies or
retires first.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._core._ask import Question
from .._core._errors import TaskError, WorkerDiedError
from . import _payload
from ._worker import Worker

if TYPE_CHECKING:
    from .._core._manager import TaskManager
    from .._core._options import Options
    from .._core._task import Task

logger = logging.getLogger("tasker")


class ProcessRunner:
    """Dispatches process tasks to idle workers; keeps the pool at its size."""

    kind = "process"

    def __init__(self, manager: TaskManager, options: Options) -> None:
        self._manager = manager
        self._max = options.max_processes
        self._spare = options.spare_processes
        self._initializer = options.worker_initializer
        self._initargs = options.worker_initargs
        self._nice = options.worker_nice
        rate = float(options.update_rate)
        self._interval = min(0.05, 1.0 / rate) if rate > 0 else 0.0
        self._lock = threading.Lock()
        self._pending: deque[Task[Any]] = deque()
        self._idle: list[Worker] = []
        self._workers: set[Worker] = set()  # the pool: idle, busy, retiring
        self._draining: set[Worker] = set()  # left the pool with a cancelled task still stopping
        self._alive: set[Worker] = set()  # all of them, until their reader ends
        self._busy = 0
        self._typical = float("inf")  # moving average of task durations (s): prefetch when short
        self._retiring = False  # some workers in the pool are retiring (restart)
        self._number = 0
        self._closed = False
        self._lifeline_r, self._lifeline_w = os.pipe()

    # -- Runner interface ----------------------------------------------------------
    def prepare(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Pickle the call now, so a bad argument fails at the call, by name."""
        try:
            return _payload.Call(*_payload.dumps_portable((func, args, kwargs)))
        except Exception as error:
            raise _payload.explain_unpicklable(func, args, kwargs, error) from error

    def submit(self, task: Task[Any]) -> None:
        with self._lock:
            self._pending.append(task)
            starting = self._grow_locked()
        self._dispatch()
        self._start(starting)

    def interrupt(self, task: Task[Any]) -> None:
        worker = task._handle
        if not isinstance(worker, Worker):
            return
        with self._lock:  # atomic with _next_locked: never flag another task
            if worker.flags is None:
                return
            if worker.task is task:
                worker.flags[worker.task_slot] = 1
            elif worker.next is task:  # cancelled while sent ahead: the worker skips it
                worker.flags[worker.next_slot] = 1

    def release(self, task: Task[Any]) -> None:
        """The running task was cancelled: its worker drains, the spare takes over."""
        worker = task._handle
        if not isinstance(worker, Worker):
            return
        with self._lock:
            if (
                worker.task is not task
                or worker.gone
                or worker.draining
                or self._closed
                or len(self._draining) >= self._max
            ):
                return
            worker.draining = True
            self._workers.discard(worker)
            self._draining.add(worker)
            self._busy -= 1
            self._requeue_next_locked(worker)
            if self._retiring and not any(w.retiring for w in self._workers):
                self._retiring = False
            starting = self._grow_locked()
        self._start(starting)
        self._dispatch()

    def abandon(self, task: Task[Any]) -> None:
        """Kill the worker still running a cancelled task; a spare takes its slot."""
        worker = task._handle
        if not isinstance(worker, Worker):
            return
        with self._lock:
            if worker.task is not task:
                return
            self._forget_locked(worker)
            starting = self._grow_locked()
        worker.kill()
        self._start(starting)
        self._dispatch()

    def restart(self) -> None:
        """Retire every worker (busy ones after their task) and start fresh ones."""
        with self._lock:
            idle = list(self._idle)
            self._idle.clear()
            for worker in self._workers | self._draining:
                worker.retiring = True
            self._retiring = bool(self._workers)
            for worker in idle:
                self._forget_locked(worker)
            starting = self._grow_locked()
        for worker in idle:
            self._stop(worker)
        self._start(starting)

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._alive)  # retired or dying ones too: wait for them as well
            self._workers.clear()
            self._idle.clear()
        for worker in workers:
            if worker.task is None and worker.ready:
                self._stop(worker)
            else:
                worker.kill()
        for worker in workers:
            if worker.thread is not threading.current_thread():
                worker.thread.join(5.0)
            if worker.proc is not None and worker.proc.poll() is None:
                worker.kill()
                worker.proc.wait(5.0)
        for fd in (self._lifeline_w, self._lifeline_r):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- pool size ---------------------------------------------------------------------
    def _grow_locked(self) -> list[Worker]:
        """New workers needed now: the busy and queued ones (capped) plus spares.

        Spares are only added once a worker is up: on a cold start the first
        worker should not share the CPUs with interpreters nobody waits for.
        """
        if self._closed or (len(self._workers) >= self._max + self._spare and not self._retiring):
            return []  # fully grown (the common case): nothing to count
        live = sum(1 for w in self._workers if not w.retiring)
        wanted = min(self._max, self._busy + len(self._pending))
        if any(w.ready for w in self._workers):
            # A draining worker comes back when its task stops: it is the spare meanwhile.
            wanted += max(0, self._spare - len(self._draining))
        new = []
        for _ in range(wanted - live):
            self._number += 1
            worker = Worker(f"tasker-worker-{self._number}", self._worker_main)
            self._workers.add(worker)
            self._alive.add(worker)
            new.append(worker)
        return new

    def _start(self, workers: list[Worker]) -> None:
        for worker in workers:
            worker.thread.start()

    def _forget_locked(self, worker: Worker) -> None:
        """Take the worker out of the pool (it is dying or retiring)."""
        if worker.gone:
            return
        worker.gone = True
        self._workers.discard(worker)
        self._draining.discard(worker)
        if self._retiring and not any(w.retiring for w in self._workers):
            self._retiring = False
        if worker in self._idle:
            self._idle.remove(worker)
        if worker.task is not None:
            worker.task = None
            if not worker.draining:
                self._busy -= 1
        self._requeue_next_locked(worker)

    def _requeue_next_locked(self, worker: Worker) -> None:
        """The task sent ahead to ``worker`` never started there: it goes first elsewhere."""
        if worker.next is not None:
            if worker.flags is not None:
                worker.flags[worker.next_slot] = 1
            worker.next._handle = None
            self._pending.appendleft(worker.next)
            worker.next = None

    # -- dispatch ------------------------------------------------------------------------
    def _dispatch(self) -> None:
        """Hand queued tasks to idle workers, or send them ahead to busy ones."""
        while True:
            with self._lock:
                picked = self._next_locked()
            if picked is None:
                return
            worker, task, ticket, ahead = picked
            with worker.order:  # tasks reach a worker in the order they were assigned to it
                while worker.turn != ticket:
                    worker.order.wait()
                try:
                    self._send_task(worker, task, ticket & 1, ahead)
                finally:
                    worker.turn += 1
                    worker.order.notify_all()

    def _send_task(self, worker: Worker, task: Task[Any], slot: int, ahead: bool) -> None:
        if not ahead and not self._manager._begin(task):
            self._release(worker, task, finished=False)
            return
        call: _payload.Call | None = task._payload
        if call is None:  # sent ahead and already ended (cancelled): the worker skips it
            return
        header = b"T" + bytes((slot,)) + task.id.to_bytes(8, "little")
        try:
            worker.send(call.data, call.fds, prefix=header)
        except OSError:
            pass  # the worker died: its reader fails the task (or queues it again)
        if not ahead:
            call.close()  # kept while sent ahead: it may have to go to another worker

    def _next_locked(self) -> tuple[Worker, Task[Any], int, bool] | None:
        """(worker, task, ticket, sent ahead?) for the next queued task.

        The ticket orders the sends to one worker; its parity is the cancel-flag
        slot, so the running task and the one sent ahead never share a flag.
        """
        while self._pending:
            task = self._pending[0]
            if task._status.is_final:  # cancelled while queued
                self._pending.popleft()
                continue
            if self._idle and self._busy < self._max:
                worker = self._idle.pop()
                worker.task, ahead = task, False
                self._busy += 1
            else:
                target = self._prefetch_target_locked()
                if target is None:
                    return None
                worker = target
                worker.next, ahead = task, True
            self._pending.popleft()
            ticket = worker.sent
            slot = ticket & 1
            worker.sent += 1
            if ahead:
                worker.next_slot = slot
            else:
                worker.task_slot, worker.started_at = slot, time.monotonic()
            task._handle = worker
            assert worker.flags is not None
            worker.flags[slot] = 0
            return worker, task, ticket, ahead
        return None

    def _prefetch_target_locked(self) -> Worker | None:
        """A busy worker that may receive its next task before it asks.

        Only while tasks are short (a moving average under 2 ms): the worker then
        goes straight on from one task to the next instead of waiting a round
        trip, and a task sent ahead never waits long behind a slow one.
        """
        if self._typical >= 0.002:
            return None
        for worker in self._workers:
            if worker.task is not None and worker.next is None and not worker.retiring:
                return worker
        return None

    def _release(self, worker: Worker, task: Task[Any], finished: bool = True) -> Task[Any] | None:
        """The worker's task is over: start the one sent ahead, or make it idle (or retire it).

        Returns the task now running on the worker, if one was sent ahead.
        """
        with self._lock:
            if worker.task is not task or worker.gone:
                return None
            now = time.monotonic()
            if finished:
                self._typical = min(self._typical, 1.0) * 0.8 + (now - worker.started_at) * 0.2
            retire = worker.retiring or self._closed
            promoted = worker.next if not retire else None
            if promoted is not None:
                worker.task, worker.next = promoted, None
                worker.task_slot, worker.started_at = worker.next_slot, now
                return promoted
            worker.task = None
            if worker.draining:  # back from a cancelled task: rejoin if there is room
                worker.draining = False
                self._draining.discard(worker)
                retire = retire or len(self._workers) >= self._max + self._spare
                if not retire:
                    self._workers.add(worker)
            else:
                self._busy -= 1
            if retire:
                self._forget_locked(worker)  # a task sent ahead goes back to the queue
            else:
                self._idle.append(worker)
        if retire:
            self._stop(worker)
        return None

    def _stop(self, worker: Worker) -> None:
        try:
            worker.send(b"S")
        except OSError:
            worker.kill()

    # -- one worker's life (runs on its reader thread) -------------------------------------
    def _worker_main(self, worker: Worker) -> None:
        # Give the GIL back first: the thread that started us (often the UI
        # thread, inside run_process) must not wait out a switch interval
        # while this thread imports and spawns.
        time.sleep(0)
        try:
            self._launch(worker)
            self._read(worker)
        except (EOFError, OSError):
            pass
        except Exception:
            logger.exception("tasker: reader of %s failed", worker.name)
        finally:
            self._on_exit(worker)

    def _launch(self, worker: Worker) -> None:
        worker.start_process(self._lifeline_r)
        with self._lock:
            closed = self._closed
        if closed:  # shut down while this worker was starting: it must not live on
            worker.kill()
        init = {
            "sys_path": list(sys.path),
            "name": worker.name,
            "log_level": logging.getLogger().getEffectiveLevel(),
            "interval": self._interval,
            "nice": self._nice,
            "initializer": _payload.dumps_portable((self._initializer, self._initargs))
            if self._initializer is not None
            else None,
        }
        data, fds_out = _payload.dumps(init)
        worker.send(data, fds_out)

    def _read(self, worker: Worker) -> None:
        while True:  # no locals survive a message: a big result is not held here
            self._handle(worker, worker.recv())

    def _handle(self, worker: Worker, message: tuple[Any, ...]) -> None:
        tag = message[0]
        task = worker.task
        if tag == "P":
            if task is not None and task.id == message[1]:
                task._progress, task._message = message[2], message[3]
                if not task._dirty:
                    task._changed()
        elif tag == "E":
            if task is not None and task.id == message[1]:
                self._manager._post_event(task, message[2], message[3])
        elif tag == "A":
            self._question(worker, task, message)
        elif tag == "W":  # the task gave up waiting (its ask timed out)
            question = worker.questions.pop(message[2], None)
            if question is not None:
                question.withdraw()
        elif tag in ("R", "F"):
            self._finished(worker, task, message)
        elif tag == "L":
            _log_record(message[1])
        elif tag == "ready":
            self._ready(worker)
        elif tag == "I":
            self._init_failed(worker, *message[1:])
        elif tag == "X":
            self._unloadable(worker, task, message[1])

    def _question(self, worker: Worker, task: Task[Any] | None, message: tuple[Any, ...]) -> None:
        """``context.ask`` in the worker: shown to the main thread, answered over the socket."""
        _, task_id, number, name, data = message

        def deliver(value: Any, error: BaseException | None) -> None:
            worker.questions.pop(number, None)
            _send_answer(worker, number, value, error)

        question = Question(name, data, deliver)
        if task is None or task.id != task_id:  # not the running task (any more)
            from .._core._cancelled import CancelledError

            question.answer(error=CancelledError("the task that asked is no longer running"))
            return
        worker.questions[number] = question
        self._manager._post_question(task, question)

    def _unloadable(self, worker: Worker, task: Task[Any] | None, error: Exception) -> None:
        """A result or event this process cannot unpickle: the task fails, saying why.

        The worker may still be running the task (it was an event) or be idle (it
        was the result): either way it is replaced, as when a worker dies.
        """
        if task is not None:
            problem = TaskError(
                f"a message from {worker.name} (the task's result or one of its events) could not "
                f"be unpickled in this process: {type(error).__name__}: {error}. Return and send "
                "types that this process can import and rebuild (plain values, NumPy arrays)."
            )
            problem.__cause__ = error
            self._manager._conclude(task, error=problem)
        with self._lock:
            self._forget_locked(worker)  # no new task for it, even if its result comes in now
        worker.kill()  # its reader then sees EOF: _on_exit replaces it

    def _ready(self, worker: Worker) -> None:
        with self._lock:
            if worker.gone:
                return
            worker.ready = True
            self._idle.append(worker)
            starting = self._grow_locked()
        self._dispatch()
        self._start(starting)

    def _finished(self, worker: Worker, task: Task[Any] | None, message: tuple[Any, ...]) -> None:
        tag, task_id, payload, progress, text = message
        if task is None or task.id != task_id:
            return
        task._progress, task._message = progress, text
        promoted = self._release(worker, task)
        if promoted is not None:  # the worker has already started it
            self._manager._begin(promoted)  # False if cancelled meanwhile: the worker skips it
            call = promoted._payload
            if call is not None:
                call.close()
        self._dispatch()  # first: the worker starts its next task while we conclude this one
        if tag == "R":
            self._manager._conclude(task, payload)
        else:
            self._manager._conclude(task, error=_payload.rebuild_error(payload))

    def _init_failed(self, worker: Worker, described: tuple[Any, ...], text: str | None = None) -> None:
        error = TaskError(text or f"worker_initializer failed in {worker.name}: {described[1]}: {described[2]}")
        error.__cause__ = _payload.rebuild_error(described)
        logger.error("tasker: %s", error)
        with self._lock:
            failed = list(self._pending)
            self._pending.clear()
        for task in failed:
            self._manager._conclude(task, error=error)

    def _on_exit(self, worker: Worker) -> None:
        """The worker's connection closed: reap it, fail its task, refill the pool."""
        with self._lock:
            task = worker.task
            self._forget_locked(worker)
            starting = self._grow_locked() if not self._closed else []
        code = worker.reap()
        if task is not None and not task._status.is_final:
            self._manager._conclude(task, error=WorkerDiedError(worker.death_message(code), exitcode=code))
        worker.close()
        self._start(starting)
        self._dispatch()
        with self._lock:
            self._alive.discard(worker)


# -- helpers ----------------------------------------------------------------------------------
def _send_answer(worker: Worker, number: int, value: Any, error: BaseException | None) -> None:
    """The answer to a worker's ask: ``b"A"`` + pickled (number, value, error)."""
    try:
        data, fds = _payload.dumps_portable((number, value, error))
    except Exception as problem:
        what = f"the answer ({type(value).__name__})"
        if error is not None:
            what = f"the error {type(error).__name__}: {error}"
        unsent = TaskError(f"{what} cannot be sent to the worker process: {problem}; answer with picklable data")
        data, fds = _payload.dumps_portable((number, None, unsent))
    try:
        worker.send(data, fds, prefix=b"A")
    except OSError:
        pass  # the worker is gone; its reader ends the task
    finally:
        _payload.close_fds(fds)


def _log_record(fields: dict[str, Any]) -> None:
    record = logging.makeLogRecord(fields)
    target = logging.getLogger(record.name)
    if target.isEnabledFor(record.levelno):
        target.handle(record)
