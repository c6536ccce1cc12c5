"""What runs on a Dask worker: the task, its context, what it reports.

The app submits ``run(token, topic, call, settings)``: it runs the task's
function with a real ``ExecutionContext`` whose cell is a ``Cell`` here, and
returns ``(kind, value, progress, message, last_seq, address, pid, run)`` — RESULT
and the function's value, FAILURE and a described error, or SECOND_RUN: this is a
second run of the task (Dask ran it again after the worker of the first died)
and the function was not called. Everything else travels as Dask events
(``Worker.log_event`` on the app's topic), each signed with the task's key
(``_events.pack``: the fields below are its msgpack body; the letters are the
kit's ``_remote._messages.Kind``):

    B  worker address, pid               the function runs (pending → running); sent
                                         ``BEGIN_AFTER_S`` after it started, or before its
                                         first report: a short task sends none, its
                                         outcome says where it ran
    P  progress, message                 at most every ``interval`` s, when changed
    E  seq, pickled (name, data)         send_event (ordered: ``_events``)
    Q  seq, number, pickled (name, data) context.ask
    W  number                            the ask timed out here
    L  log record fields                 a record logged in the task's thread
    N  category module, qualname,        a warning raised in the task's thread (shown
       text, filename, lineno            once per location, then re-issued in the app)

A second run: where the scheduler may run a task again after its worker died
(``allowed-failures`` above 0, which the app asks the scheduler once), ``run``
first asks the scheduler whether a worker already died running this key
(``TaskState.suspicious``): if so it returns SECOND_RUN at once, before the function
can do anything twice.

The app reaches a running task through ``client.run`` on this worker, which
runs in the worker's event loop, not in a task slot: ``cancel`` (the flag
``is_cancelled()`` reads: a local byte, no round trip), ``set_paused`` (the
same byte: the task waits at its next context call), ``ack`` (room in the event
window), ``answer`` (to an ask); and ``kill_worker_process`` on the worker's
nanny (the forced stop after the grace period).

``set_progress`` only writes the cell (``ExecutionContext``); one reporter
thread per worker process (the kit's ``Reporter``) sends what changed,
coalesced: a ``log_event`` costs tens of microseconds, too dear per call.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import threading
import time
import warnings
from itertools import count
from typing import Any

from ..._core._context import ExecutionContext
from ..._core._errors import TaskTimeoutError
from ..._core._status import CANCEL, PAUSE, RUN
from .._remote import _payload
from .._remote._cell import Reporter, WorkerCell
from .._remote._codec import describe_error, log_fields, warning_fields
from .._remote._messages import Kind
from ._events import Outbox, pack

#: A task that ends sooner sends no begin event (one message less through the scheduler).
BEGIN_AFTER_S = 0.01

#: token -> the cell of a task running in this worker process.
_running: dict[str, Cell] = {}
_by_thread: dict[int, Cell] = {}
_lock = threading.Lock()
_reporter: Reporter | None = None  # Invariant: set once, by the first task's ``_setup`` (under _lock)
#: Loggers of the worker's own machinery: lowering the root level for tasks leaves them as they were.
_KEEP_LEVEL = ("distributed", "dask", "tornado", "asyncio", "bokeh", "urllib3")


def to_bytes(obj: Any) -> bytes:
    """Pickled for another machine: in band (no shared memory), by value where needed."""
    return _payload.dumps_portable(obj, in_band=True)[0]


class Cell(WorkerCell):
    """The worker-side progress cell of one task (the kit's, sent as signed Dask events)."""

    runner = "cluster"

    def __init__(
        self, reporter: Reporter, worker: Any, topic: str, token: str, window: int, key: bytes, run: str
    ) -> None:
        super().__init__(reporter)
        self.flag = bytearray(1)  # non-zero once canceled (``cancel`` below)
        self.worker = worker
        self.topic = topic
        self.token = token
        self.key = key  # the task's signing key (never sent back)
        self.run = run  # this run's name: random, in every message
        self.wire_lock = threading.Lock()  # a message number and its send go together
        self.sent = 0  # Invariant: the number of the last message sent (under wire_lock)
        self.outbox = Outbox(window)
        self.send_lock = threading.Lock()  # a number and its send go together
        self.answers: dict[int, bytes] = {}  # under outbox.cond
        self.withdrawn: set[int] = set()
        self.numbers = count(1)
        self.thread = threading.get_ident()
        self.started_at = time.monotonic()
        self.begun = False  # the begin event was sent
        self.begin_lock = threading.Lock()

    def send(self, kind: Kind, *fields: Any) -> None:
        """One signed message to the app (``fields``: plain values and bytes)."""
        with self.wire_lock:
            self.sent += 1
            self.worker.log_event(
                self.topic, pack(self.key, kind.value, self.token, self.run, self.sent, list(fields))
            )

    def ensure_begun(self) -> None:
        """The begin event goes first: before any report, event, question or record of the task."""
        if not self.begun:
            with self.begin_lock:
                if not self.begun:
                    self.send(Kind.BEGIN, self.worker.address, os.getpid())
                    self.begun = True

    def report(self) -> None:
        if self.live:
            self.ensure_begun()
            self._dirty = False
            self.reported_at = time.monotonic()
            self.send(Kind.PROGRESS, self._progress, self._message)

    def tick(self, now: float, interval: float) -> float | None:
        """The begin event once ``BEGIN_AFTER_S`` is over, then the kit's throttled reports."""
        if not self.begun:
            at = self.started_at + BEGIN_AFTER_S
            if now < at:
                return at
            self.ensure_begun()
        return super().tick(now, interval)

    # -- ProgressCell -------------------------------------------------------------
    def _changed(self) -> None:
        super()._changed()
        if self.flag[0] == PAUSE:
            self._pause_point()

    def _pause_point(self) -> bool:
        """The control byte is set: wait while paused (``set_paused``); True if canceled."""
        flag, cond = self.flag, self.outbox.cond
        if flag[0] == PAUSE:
            with cond:
                while flag[0] == PAUSE:
                    cond.wait(1.0)
        return flag[0] == CANCEL

    def _send_event(self, name: str, data: Any) -> None:
        payload = to_bytes((name, data))
        self.ensure_begun()
        with self.send_lock:
            self.send(Kind.EVENT, self.outbox.reserve(), payload)

    def _send_yield(self, value: Any) -> None:
        payload = to_bytes(value)
        self.ensure_begun()
        with self.send_lock:
            self.send(Kind.YIELD, self.outbox.reserve(), payload)

    def _ask(self, name: str, data: Any, timeout: float | None) -> Any:
        number = next(self.numbers)
        payload = to_bytes((name, data))
        self.ensure_begun()
        with self.send_lock:
            self.send(Kind.QUESTION, self.outbox.reserve(), number, payload)
        deadline = None if timeout is None else time.monotonic() + timeout
        cond = self.outbox.cond
        with cond:
            while number not in self.answers and not self.flag[0]:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                cond.wait(1.0 if remaining is None else min(remaining, 1.0))
            answer = self.answers.pop(number, None)
            if answer is None:
                self.withdrawn.add(number)  # a late answer is dropped
        if answer is None:
            if self.flag[0]:
                from ..._core._cancelled import CancelledError

                raise CancelledError(f"the task was canceled while it waited in ask({name!r})")
            self.send(Kind.WITHDRAW, number)
            raise TaskTimeoutError(f"no answer to ask({name!r}) within {timeout} s")
        value, error = _payload.loads(answer, [])
        if error is not None:
            raise error
        return value


def run(token: str, topic: str, call: bytes, settings: dict[str, Any]) -> tuple[Any, ...]:
    """The Dask task: run the function between a begin event and the returned outcome."""
    from distributed import get_worker

    worker = get_worker()
    run_name = secrets.token_hex(8)
    if settings["claim"] and _ran_before(worker, settings["dask_key"]):
        return (Kind.SECOND_RUN.value, None, 0.0, None, 0, worker.address, os.getpid(), run_name)
    reporter = _setup(settings)
    cell = Cell(reporter, worker, topic, token, settings["window"], settings["secret"], run_name)
    with _lock:
        _running[token] = cell
        _by_thread[cell.thread] = cell
    reporter.wake.set()  # the reporter sends its begin event unless it ends first
    outcome: tuple[Any, ...]
    try:
        func, args, kwargs = _payload.loads(call, [])
        result = cell.outcome(func(ExecutionContext(cell, cell.flag), *args, **kwargs), cell.flag)
        # Pickled here, unpickled by tasker's loader in the app (``_payload.loads``): never by
        # Dask's client thread, whose plain unpickling could import the value's package beside
        # another thread of the app importing it (see ``_payload._Loader``).
        outcome = (Kind.RESULT.value, to_bytes(result))
    except BaseException as error:  # SystemExit, KeyboardInterrupt too: the worker thread goes on
        outcome = (Kind.FAILURE.value, describe_error(error))
    finally:
        with _lock:
            cell.live = False
            _running.pop(token, None)
            _by_thread.pop(cell.thread, None)
    return (*outcome, cell._progress, cell._message, cell.outbox.seq, worker.address, os.getpid(), run_name)


_claim_warned = threading.Event()  # a run could not ask the scheduler (warned once)


def _ran_before(worker: Any, key: str) -> bool:
    """Whether a worker died while running ``key`` (the scheduler's count; one round trip)."""
    from importlib import import_module

    dask_pickle: Any = import_module("distributed.protocol.pickle")
    sync: Any = import_module("distributed.utils").sync

    try:
        response = sync(
            worker.loop, worker.scheduler.run_function,
            function=dask_pickle.dumps(ON_SCHEDULER["suspicious"]), args=dask_pickle.dumps((key,)), wait=True,
        )
    except Exception as error:  # the app still refuses a second run's messages and result
        level = logging.DEBUG if _claim_warned.is_set() else logging.WARNING  # (said once per worker process)
        _claim_warned.set()
        logging.getLogger("tasker").log(
            level, "tasker: cannot ask the Dask scheduler whether a worker died running %s: %s", key, error
        )
        return False
    return bool(response.get("status") == "OK" and response.get("result", 0) > 0)


#: Functions run on the scheduler (``run_function``), pickled by value: tasker need
#: not be installed there. Their module is one no process can import.
_SCHEDULER_SOURCE = """
def suspicious(key, dask_scheduler=None):
    ts = dask_scheduler.tasks.get(key)
    return 0 if ts is None else ts.suspicious

def allowed_failures(dask_scheduler=None):
    return dask_scheduler.allowed_failures
"""
ON_SCHEDULER: dict[str, Any] = {"__name__": "tasker_on_the_dask_scheduler"}
exec(compile(_SCHEDULER_SOURCE, "<tasker on the Dask scheduler>", "exec"), ON_SCHEDULER)


def _setup(settings: dict[str, Any]) -> Reporter:
    """Once per worker process: the reporter thread, the log handler; the reporter."""
    global _reporter
    with _lock:
        reporter, first = _reporter, _reporter is None
        if reporter is None:
            reporter = _reporter = Reporter(settings["interval"], lambda: list(_running.values()))
    if first:
        reporter.start()
        logging.getLogger().addHandler(_TaskLogHandler())
    if warnings.showwarning is not _show_warning:  # (again if Dask or a task replaced it)
        global _next_showwarning
        _next_showwarning = warnings.showwarning
        warnings.showwarning = _show_warning
    root = logging.getLogger()
    if root.getEffectiveLevel() > settings["log_level"]:
        # The app's level, so that its tasks' records reach it; Dask's own loggers keep theirs.
        for name in _KEEP_LEVEL:
            logger = logging.getLogger(name)
            logger.setLevel(logger.getEffectiveLevel())
        root.setLevel(settings["log_level"])
    return reporter


_next_showwarning = warnings.showwarning


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    """``warnings.showwarning`` on the worker: a task's warning goes to the app (WARNING)."""
    cell = _by_thread.get(threading.get_ident())
    if cell is None or not cell.live:
        _next_showwarning(message, category, filename, lineno, file, line)
        return
    try:
        cell.ensure_begun()
        cell.send(Kind.WARNING, *warning_fields(message, category, filename, lineno))
    except Exception:  # the worker is closing
        _next_showwarning(message, category, filename, lineno, file, line)


class _TaskLogHandler(logging.Handler):
    """Sends the records logged in a task's thread to the app, naming the worker."""

    def emit(self, record: logging.LogRecord) -> None:
        cell = _by_thread.get(threading.get_ident())
        if cell is None or not cell.live:
            return
        try:
            fields = log_fields(self, record)
            fields["processName"] = fields["dask_worker"] = str(cell.worker.address)
            cell.ensure_begun()
            cell.send(Kind.LOG, fields)
        except Exception:
            self.handleError(record)


# -- what the app runs here through client.run --------------------------------------------
def cancel(token: str) -> bool:
    """Set the task's cancel flag (and wake it if it waits for room or an answer)."""
    cell = _running.get(token)
    if cell is None:
        return False
    cell.flag[0] = CANCEL
    cell.outbox.close()
    return True


def set_paused(token: str, paused: bool) -> None:
    """Pause (the task waits at its next context call) or resume it; a cancel wins."""
    cell = _running.get(token)
    if cell is None:
        return
    with cell.outbox.cond:
        if cell.flag[0] == CANCEL:
            return
        cell.flag[0] = PAUSE if paused else RUN
        if paused:
            cell._dirty = False  # the next set_progress/set_message reaches the pause point
        cell.outbox.cond.notify_all()


def ack(acks: dict[str, int]) -> None:
    for token, seq in acks.items():
        cell = _running.get(token)
        if cell is not None:
            cell.outbox.ack(seq)


def answer(token: str, number: int, payload: bytes) -> None:
    cell = _running.get(token)
    if cell is None:
        return
    with cell.outbox.cond:
        if number in cell.withdrawn:
            cell.withdrawn.discard(number)
        else:
            cell.answers[number] = payload
            cell.outbox.cond.notify_all()


def kill_worker_process(dask_worker: Any) -> int:
    """On a nanny: SIGKILL its worker process (the nanny then starts a fresh one)."""
    process = getattr(getattr(dask_worker, "process", None), "process", None)
    pid = getattr(process, "pid", None)
    if pid is None:
        raise RuntimeError(f"the nanny {dask_worker.address} has no worker process to kill")
    os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))  # (Windows has no SIGKILL: SIGTERM terminates)
    return int(pid)


def worker_pid() -> int:
    return os.getpid()


# -- the embedded cluster closing --------------------------------------------------------------
#: What a worker of the embedded cluster logs, by logger, when tasker's close of that cluster
#: meets a race inside Dask's own close:
#:
#: - ``distributed.worker``: its heartbeat meets the scheduler that is closing
#:   (dask/distributed#7105, #7192);
#: - ``distributed.nanny`` (its stop-queue watcher, a thread of the worker process): the worker's
#:   run ended before its nanny's stop message came, so Dask closes the stop queue under the
#:   waiting watcher (``close_stop_q`` after a 2 s join), which then reads a closed connection
#:   (``TypeError`` or ``OSError``) and logs the worker as dead "unexpectedly", with a traceback.
CLOSING_NOISE: dict[str, tuple[str, ...]] = {
    "distributed.worker": ("Failed to communicate with scheduler during heartbeat",),
    "distributed.nanny": ("Worker process died unexpectedly",),
}


class ClosingNoise(logging.Filter):
    """Drops a logger's ``CLOSING_NOISE`` records (a debug record of tasker's says what went):
    the worker is closed on purpose, this is no error. Every other record passes."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith(self.prefixes):
            return True
        error = record.exc_info[1] if record.exc_info else None
        cause = f" ({type(error).__name__}: {error})" if error is not None else ""
        logging.getLogger("tasker").debug("tasker: closing the embedded cluster: %s: %s%s", record.name, message, cause)
        return False


def quiet_closing() -> None:
    """Run on each worker of the embedded cluster right before tasker closes it."""
    for name, prefixes in CLOSING_NOISE.items():
        named = logging.getLogger(name)
        if not any(isinstance(known, ClosingNoise) for known in named.filters):
            named.addFilter(ClosingNoise(prefixes))
