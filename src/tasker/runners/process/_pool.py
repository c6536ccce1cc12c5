"""Process tasks: a warm, bounded pool of worker processes (the pool's bookkeeping).

    caller thread                 reader thread (one per worker, _reader)   worker process
    ─────────────                 ───────────────────────────────────────   ──────────────
    run_process: pickle the call
    submit: queue + dispatch ────► TASK(slot, id) + call ──────────────────► run func(ctx)
                                   PROGRESS / EVENT / QUESTION / LOG ◄───── reports
    cancel: flags[slot] = 1 ─────────────────── shared memory ─────────────► ctx.is_cancelled()
                                   RESULT / FAILURE ◄───────────────────── returned / raised
                                     └─ finished(): the next task; conclude
                                   EOF ◄──────────────────────────────────── died
                                     └─ exited(): fail its task (WorkerDiedError); refill

Queued tasks wait in a ``PendingQueue`` (``priority=``, then FIFO).
Workers (``_worker.Worker``) are fresh interpreters running
``tasker.runners.process._child`` (never the application's ``__main__``), started
lazily, each by its own reader thread so the caller never waits for a process to
start. ``spare_processes`` idle workers are kept warm beyond ``max_processes``,
so a dead, killed or draining worker is replaced without a cold start.

A worker whose task was canceled but is still stopping is *draining*: it
leaves the budget at once (the warm spare takes the next queued task), keeps
reporting for its task, and when that task is over it rejoins the pool if there
is room, or stops. At most ``max_processes`` workers drain at a time; past that
a canceled task keeps its slot until it stops or its grace period ends.

While tasks are short (a moving average under ``PREFETCH_BELOW_S``) a busy
worker may be sent its next task ahead of time: it goes straight on instead of
waiting a round trip. Such a task stays ``pending`` until the worker reports the
previous one done; it has its own cancel flag, which the worker checks before
starting it (canceled: skipped), and it goes back to the queue if its worker
dies, drains or retires first.

Lock order: the lifecycle's lock → ``_lock`` (here) → a worker's ``order`` /
``send_lock``. Nothing here calls the lifecycle with ``_lock`` held.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ... import _platform
from ..._core._clock import TimerThread
from ..._core._status import PAUSE
from .._pending import PendingQueue
from .._remote import _payload
from . import _frozen, _worker
from ._dispatch import Dispatcher
from ._launch import LaunchGuard, cause_of, start_error
from ._messages import STOP
from ._recycle import Recycling
from ._suspend import Pausing
from ._worker import Worker, WorkerState

if TYPE_CHECKING:
    from ..._core._options import Options
    from ..._core._runner import Lifecycle
    from ..._core._task import Task

logger = logging.getLogger("tasker")

#: Workers report progress at most this often (s), and at most ``update_rate`` per second.
REPORT_INTERVAL_MAX_S = 0.05
#: At most this many modules are preloaded by new workers (see ``modules``).
PRELOAD_MAX = 64
#: What prestarted workers import before they report ready, besides ``preload``: a call
#: pickled by value (a lambda, a function of ``__main__``) needs cloudpickle to be
#: unpickled, tens of milliseconds of the first such task otherwise.
PRESTART_IMPORTS = ("cloudpickle",)
#: How long shutdown waits for one worker's reader thread and process (s).
JOIN_TIMEOUT_S = 5.0
#: shutdown() waits this long (a hang guard) for a reader still spawning its worker: the
#: spawn ends by itself, then the reader kills the worker (Wine, loaded: seconds).
SPAWN_JOIN_S = 60.0
#: A reader still unpickling one message after this long (s) is not waited for at
#: shutdown: the application's code (a ``__setstate__``) may never return.
LOADING_JOIN_S = 0.5


class ProcessRunner:
    """Dispatches process tasks to idle workers; keeps the pool at its size.

    Composed of parts that own their state, each in its module, all under
    ``lock``: ``dispatcher`` (dispatch and sending ahead: ``_dispatch``),
    ``pausing`` (SIGSTOP/SIGCONT of a worker, parked queued tasks: ``_suspend``),
    ``recycling`` (``_recycle``), ``launch`` (``_launch``). The pool itself owns
    the workers' bookkeeping below.
    """

    kind = "process"

    def __init__(self, lifecycle: Lifecycle, options: Options) -> None:
        _frozen.refuse_if_not_booted()  # a frozen app's worker that is running the app must not start more
        self.lifecycle = lifecycle
        self._spare = options.spare_processes
        rate = float(options.update_rate)
        self._init = {
            "interval": min(REPORT_INTERVAL_MAX_S, 1.0 / rate) if rate > 0 else 0.0,
            "nice": options.worker_nice,
            "rss": options.worker_max_memory is not None,  # results carry the worker's RSS
            "initializer": (options.worker_initializer, options.worker_initargs)
            if options.worker_initializer is not None
            else None,
        }
        self.lock = threading.Lock()
        self.max = options.max_processes  # Invariant: busy <= max (the budget)
        self.recycling = Recycling(options)
        self.launch = LaunchGuard()  # failed launches: backoff, then WorkerStartError (``_launch``)
        # Invariants (under lock): workers ∪ _draining ⊆ _alive; a worker in idle is
        # in workers with no task; busy counts the workers of workers with a task.
        self.pending = PendingQueue()  # priority, then FIFO
        self.idle: list[Worker] = []  # the next task takes the last one (the most recently busy)
        self.workers: set[Worker] = set()  # the pool: idle, busy, retiring
        self._draining: set[Worker] = set()  # left the budget with a canceled task still stopping
        self._alive: set[Worker] = set()  # all of them, until their reader ends
        self.busy = 0
        self.dispatcher = Dispatcher(self)
        self.pausing = Pausing(self)
        self._retiring = False  # some workers in the pool are retiring (restart)
        self._number = 0
        #: Modules of the functions run so far: a new worker imports them before it
        #: reports ready, so a spare's first task pays no import (``_child._preload``).
        self.modules: set[str] = set()
        self._floor = 0  # workers kept at least (prestart: every one)
        # Until the first task, new workers boot under SCHED_IDLE (prestart, where it can be undone).
        self._idle_boot = False
        self.closed = False
        self.platform = _platform.current()
        self.lifeline = self.platform.lifeline()  # every worker dies with this process

    # -- Runner interface ----------------------------------------------------------
    def prepare(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Pickle the call now, so a bad argument fails at the call, by name."""
        try:
            call = _payload.Call(*_payload.dumps_portable((func, args, kwargs)))
        except Exception as error:
            raise _payload.explain_unpicklable(func, args, kwargs, error) from error
        module = getattr(getattr(func, "func", func), "__module__", None)  # functools.partial too
        if module and module != "__main__" and module not in self.modules and len(self.modules) < PRELOAD_MAX:
            self.modules.add(module)
        return call

    def adopt(self, task: Task[Any]) -> None:
        """``prepare``'s second half, for a call pickled before the pool existed (``_firststart``)."""
        func = task.call[0]
        module = getattr(getattr(func, "func", func), "__module__", None)
        if module and module != "__main__" and module not in self.modules and len(self.modules) < PRELOAD_MAX:
            self.modules.add(module)

    def submit(self, task: Task[Any]) -> None:
        with self.lock:
            self.pending.push(task)
            starting = self._grow_locked()
            booting = self._end_idle_boot_locked() if self._idle_boot else ()
        for worker in booting:  # a task waits now: booting workers get their normal priority back
            worker.promote()
        self.dispatch()
        self._start(starting)

    def prestart(self, preload: list[str]) -> None:
        """Start every worker now (``TaskManager.prestart``); until the first task they boot idle.

        ``preload``: modules they import before they report ready (as those of tasks run so far),
        after ``PRESTART_IMPORTS`` (what unpickling a call sent by value needs).

        Also starts the manager's timer thread here (the prestart's thread), which the
        second change of the tasks within ``update_rate``'s interval would otherwise start
        on the caller's thread: ``Thread.start`` waits until the new thread runs, up to
        milliseconds on a loaded machine, in the app's main loop.
        """
        clock = self.lifecycle.clock
        if isinstance(clock, TimerThread):  # (a FakeClock has no thread: its timers stay the test's)
            clock.call_later(0.0, _nothing)
        idle = _worker.idle_boot_supported()
        with self.lock:
            for name in [*PRESTART_IMPORTS, *preload][: max(0, PRELOAD_MAX - len(self.modules))]:
                self.modules.add(name)
            self._floor = self.max
            self._idle_boot = idle and not self.busy and not self.pending
            starting = self._grow_locked()
        self._start(starting)

    def _end_idle_boot_locked(self) -> list[Worker]:
        self._idle_boot = False
        return [w for w in self.workers if w.boot_idle and w.state is WorkerState.STARTING]

    def interrupt(self, task: Task[Any]) -> None:
        worker = task.handle
        if not isinstance(worker, Worker):
            return
        with self.lock:  # atomic with _next_locked: never flag another task
            if worker.flags is None:
                return
            if worker.task is task:
                worker.flags[worker.task_slot] = 1
            elif worker.next is task:  # canceled while sent ahead: the worker skips it
                worker.flags[worker.next_slot] = 1

    def release(self, task: Task[Any]) -> None:
        """The running task was canceled: its worker drains, the spare takes over."""
        worker = task.handle
        if not isinstance(worker, Worker):
            return
        with self.lock:
            if worker.task is not task or worker.state is not WorkerState.READY or self.closed:
                return
            if len(self._draining) >= self.max:
                return  # bounded: this one keeps its slot
            worker.drain()
            self.workers.discard(worker)
            self._draining.add(worker)
            self.busy -= 1
            self.requeue_next_locked(worker)
            self._update_retiring_locked()
            starting = self._grow_locked()
        self._start(starting)
        self.dispatch()

    def abandon(self, task: Task[Any]) -> None:
        """Kill the worker still running a canceled task; a spare takes its slot."""
        worker = task.handle
        if not isinstance(worker, Worker):
            return
        with self.lock:
            if worker.task is not task:
                return
            self.flag_as_gone_locked(worker)
            starting = self._grow_locked()
        logger.debug("tasker: killing %s (task %r did not stop)", worker.name, task.name)
        worker.kill()
        self._start(starting)
        self.dispatch()

    def restart(self) -> None:
        """Retire every worker (busy ones after their task) and start fresh ones."""
        with self.lock:
            idle = list(self.idle)
            self.idle.clear()
            for worker in self.workers | self._draining:
                worker.retiring = True
            self._retiring = bool(self.workers)
            for worker in idle:
                self.flag_as_gone_locked(worker)
            starting = self._grow_locked()
        for worker in idle:
            self.stop(worker)
        self._start(starting)

    def shutdown(self) -> None:
        self.recycling.stop()
        with self.lock:
            self.closed = True
            workers = list(self._alive)  # retired or dying ones too: wait for them as well
            self.workers.clear()
            self.idle.clear()
        for worker in workers:
            if worker.task is None and worker.state is WorkerState.READY:
                self.stop(worker)
            else:
                worker.kill()
        for worker in workers:
            # (a reader thread not started yet never will be: _start sees closed)
            if worker.thread is not threading.current_thread() and worker.thread.ident is not None:
                _join_reader(worker)
                if worker.proc is None:  # still being spawned (slow on a loaded machine): the
                    worker.thread.join(SPAWN_JOIN_S)  # reader kills it once it exists (it sees closed)
            if worker.proc is not None and worker.proc.poll() is None:
                worker.promote()  # one booting under SCHED_IDLE needs the CPU to die, too
                worker.kill()
                _wait_killed(worker)
        with self.lock:
            self.launch.cancel_locked()
        self.lifeline.close()

    def pause(self, task: Task[Any]) -> None:
        self.pausing.pause(task)

    def resume(self, task: Task[Any]) -> None:
        self.pausing.resume(task)

    def dispatch(self) -> None:
        """Hand queued tasks to idle workers, or send them ahead to busy ones (``_dispatch``)."""
        self.dispatcher.dispatch()

    # -- pool size ---------------------------------------------------------------------
    def _grow_locked(self) -> list[Worker]:
        """New workers needed now: the busy and queued ones (capped) plus spares.

        Spares are only added once a worker is up: on a cold start the first
        worker should not share the CPUs with interpreters nobody waits for.
        """
        if self.closed or (len(self.workers) >= self.max + self._spare and not self._retiring):
            return []  # fully grown (the common case): nothing to count
        if self.launch.holding:
            return []  # launches are failing: backing off (``_launch``)
        live = sum(1 for w in self.workers if not w.retiring)
        wanted = max(self._floor, min(self.max, self.busy + len(self.pending)))
        if any(w.state is WorkerState.READY for w in self.workers):
            # A draining worker comes back when its task stops: it is the spare meanwhile.
            wanted += max(0, self._spare - len(self._draining))
        new = []
        for _ in range(wanted - live):
            self._number += 1
            worker = Worker(f"tasker-worker-{self._number}", self._serve)
            worker.attempt = self.launch.attempt
            worker.boot_idle = self._idle_boot
            self.workers.add(worker)
            self._alive.add(worker)
            new.append(worker)
        return new

    def _start(self, workers: list[Worker]) -> None:
        """Start the reader threads of workers ``_grow_locked`` made (after its lock).

        Once shut down, a worker made before but not started yet never starts
        (a reader thread may get here late: it reaps a dead worker first).
        """
        for worker in workers:
            with self.lock:  # (started under the lock: shutdown sees it started, and joins it)
                if self.closed:
                    self._alive.discard(worker)
                    continue
                worker.thread.start()

    def _serve(self, worker: Worker) -> None:
        from ._reader import Reader  # (on the reader thread: not the caller's import)

        Reader(self, worker, self._init).run()

    def flag_as_gone_locked(self, worker: Worker) -> None:
        """Take the worker out of the pool for good (it is dying or retiring)."""
        draining = worker.state is WorkerState.DRAINING
        if not worker.flag_as_gone():
            return
        self.workers.discard(worker)
        self._draining.discard(worker)
        self._update_retiring_locked()
        if worker in self.idle:
            self.idle.remove(worker)
        if worker.task is not None:
            worker.task = None
            if not draining:
                self.busy -= 1
        self.requeue_next_locked(worker)

    def requeue_next_locked(self, worker: Worker) -> None:
        """The task sent ahead to ``worker`` never started there: it goes first elsewhere."""
        if worker.next is not None:
            if worker.flags is not None:
                worker.flags[worker.next_slot] = 1
            worker.next.handle = None
            self.pending.push(worker.next)  # its id keeps its place
            worker.next = None

    def _update_retiring_locked(self) -> None:
        if self._retiring and not any(w.retiring for w in self.workers):
            self._retiring = False

    def forget(self, worker: Worker) -> None:
        """The worker's reader has ended: it is not alive any more."""
        with self.lock:
            self._alive.discard(worker)

    # -- what the readers report --------------------------------------------------------------
    def ready(self, worker: Worker) -> None:
        """The worker is initialized: idle in the pool."""
        with self.lock:
            if worker.state is not WorkerState.STARTING:
                return
            worker.mark_ready()
            self.launch.ready_locked()
            # Last in line: an idle worker that has run tasks already has the app's
            # modules imported and its caches warm; a fresh one is the spare.
            self.idle.insert(0, worker)
            starting = self._grow_locked()
        self.dispatch()
        self._start(starting)

    def finished(self, worker: Worker, task: Task[Any], ran: bool = True, rss: int = 0) -> Task[Any] | None:
        """The worker's task is over: start the one sent ahead, or make it idle (or retire it).

        ``ran``: it ran (its duration counts in the average); ``rss``: the worker's
        resident memory it reported with the result (0: not measured). Returns the
        task now running on the worker, if one was sent ahead.
        """
        why = self.recycling.retire_after(worker, rss) if ran and self.recycling.active else None
        starting: list[Worker] = []
        with self.lock:
            if worker.task is not task or worker.state is WorkerState.GONE:
                return None
            now = time.monotonic()
            if ran:
                self.dispatcher.took_locked(now - worker.started_at)
            if worker.stopped:  # paused as it finished: nothing of it is left to pause
                worker.suspend(False)
            retire = worker.retiring or self.closed or why is not None
            if worker.next is not None and worker.next.control[0] == PAUSE:  # (is_paused(), no call)
                self.pausing.take_back_locked(worker)  # the worker skips it; it is parked in the queue
            promoted = worker.next if not retire else None
            if promoted is not None:
                worker.task, worker.next = promoted, None
                worker.task_slot, worker.started_at = worker.next_slot, now
                return promoted
            worker.task = None
            if worker.state is WorkerState.DRAINING:  # back from a canceled task: rejoin if there is room
                self._draining.discard(worker)
                retire = retire or len(self.workers) >= self.max + self._spare
                if not retire:
                    worker.rejoin()
                    self.workers.add(worker)
            else:
                self.busy -= 1
            if retire:
                self.flag_as_gone_locked(worker)  # a task sent ahead goes back to the queue
                starting = self._grow_locked()  # its replacement starts now; the spare covers meanwhile
            else:
                self.idle.append(worker)
        if why is not None:
            logger.debug("tasker: replacing %s: %s", worker.name, why)
        if retire:
            self.stop(worker)
            self._start(starting)
        return None

    def busy_workers_locked(self) -> list[Worker]:
        """The workers running a task (the memory cap watches these)."""
        return [w for w in self.workers | self._draining if w.task is not None]

    def exited(self, worker: Worker, code: int | None = None) -> tuple[Task[Any] | None, list[Worker]]:
        """The worker's connection closed: out of the pool; its task, and the workers to start.

        A worker that ends before READY (reaped already: ``code``) is a failed
        launch, and ``launch_failed`` follows — unless the pool is shut down, its
        initializer failed (its queue has failed already) or it was SIGKILLed
        (killed from outside, like any worker: replaced at once).
        """
        with self.lock:
            task = worker.task
            try:
                if worker.state is WorkerState.STARTING and not (
                    self.closed or worker.init_failed or code == self.platform.killed_code
                ):
                    worker.launch_counted = self.launch.failed_locked(worker)  # held: no new worker yet
            except Exception:  # (a fault here must not keep a dead worker in the pool: its place is refilled)
                logger.exception("tasker: counting the failed launch of %s failed", worker.name)
            self.flag_as_gone_locked(worker)
            starting = self._grow_locked() if not self.closed else []
        return task, starting

    def launch_failed(self, worker: Worker, error: BaseException | None, code: int | None) -> None:
        """A counted failed launch (reaped): retry after the backoff, or fail the queued tasks."""
        if worker.proc is not None and isinstance(error, OSError):
            error = None  # its socket broke as it ended: how it ended is the cause
        cause = cause_of(worker, error, code)
        with self.lock:
            up = any(w.state is WorkerState.READY for w in self.workers)
            give_up = not self.closed and self.launch.give_up_locked(up)
            failures, delay = self.launch.failures, self.launch.backoff()
            tasks = self.pending.take_all() if give_up else []
            if not give_up and not self.closed:
                self.launch.timer = self.lifecycle.clock.call_later(delay, self._relaunch)
        if give_up:
            problem = start_error(worker, cause, error)
            logger.error("tasker: %s", problem, exc_info=error)
            for task in tasks:
                self.lifecycle.conclude(task, error=problem)
            return
        log = logger.warning if failures == 1 else logger.debug
        log("tasker: could not start worker process %s: %s; trying again in %.2g s", worker.name, cause, delay)

    def _relaunch(self) -> None:
        """The backoff is over: the pool grows again (a new attempt)."""
        with self.lock:
            self.launch.release_locked()
            starting = self._grow_locked()
        self._start(starting)

    def start_workers(self, workers: list[Worker]) -> None:
        self._start(workers)

    def fail_pending(self) -> list[Task[Any]]:
        """Every queued task, taken out of the queue (the workers cannot start)."""
        with self.lock:
            failed = self.pending.take_all()
        return failed

    def stop(self, worker: Worker) -> None:
        try:
            worker.send(STOP)
        except OSError:
            worker.kill()


def _nothing() -> None:
    """The timer ``prestart`` sets to start the clock's thread."""


def _join_reader(worker: Worker) -> None:
    """Wait for the worker's reader to end (shutdown), but not for a load that does not.

    A reader that has been unpickling the same message for ``LOADING_JOIN_S`` is
    stuck in the application's code: it is left to finish on its own (a daemon
    thread; the message finds its task ended), and the caller kills and reaps
    its worker.
    """
    thread = worker.thread
    deadline = time.monotonic() + JOIN_TIMEOUT_S
    seen, since = -1, 0.0
    while thread.is_alive():
        now = time.monotonic()
        if now >= deadline:
            return
        if not worker.loading:
            seen = -1
        elif worker.loads != seen:  # a new message is loading: its own time starts now
            seen, since = worker.loads, now
        elif now - since >= LOADING_JOIN_S:
            logger.warning(
                "tasker: the reader of %s is still unpickling a message from it after %.1f s "
                "(the application's __setstate__ or __reduce__ code); shutdown does not wait for it",
                worker.name, now - since,
            )
            return
        thread.join(min(0.05, deadline - now))


def _wait_killed(worker: Worker) -> None:
    """Reap a killed worker, bounded; ``shutdown`` never raises for one that is slow to go.

    A killed process still has to run its exit path: on a saturated machine that
    can take longer than ``JOIN_TIMEOUT_S``. It is then left to the OS (its group
    is already killed) and named in the log, rather than failing the app's quit.
    """
    import subprocess

    assert worker.proc is not None
    try:
        worker.proc.wait(JOIN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        logger.warning(
            "worker %d was killed but had not exited %.0f s later (a saturated machine?); "
            "shutdown goes on without reaping it",
            worker.proc.pid,
            JOIN_TIMEOUT_S,
        )
