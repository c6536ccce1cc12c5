"""What runs on a Dask worker: the task, its context, what it reports.

The app submits ``run(token, topic, call, settings)``: it runs the task's
function with a real ``ExecutionContext`` whose cell is a ``Cell`` here, and
returns ``(tag, value, progress, message, last_seq, address, pid)`` — ``"R"``
and the function's value, or ``"F"`` and a described error. Everything else travels
as Dask events (``Worker.log_event`` on the app's topic), each a list
``[tag, token, …]``:

    B  token, worker address, pid        the function runs (pending → running); sent
                                         ``BEGIN_AFTER_S`` after it started, or before its
                                         first report: a short task sends none, its
                                         outcome says where it ran
    P  token, progress, message          at most every ``interval`` s, when changed
    E  token, seq, pickled (name, data)  send_event (ordered: ``_events``)
    Q  token, seq, number, pickled (…)   context.ask
    W  token, number                     the ask timed out here
    L  token, log record fields          a record logged in the task's thread
    V  token, category module, qualname,  a warning raised in the task's thread (shown
       text, filename, lineno            once per location, then re-issued in the app)

The app reaches a running task through ``client.run`` on this worker, which
runs in the worker's event loop, not in a task slot: ``cancel`` (the flag
``is_cancelled()`` reads: a local byte, no round trip), ``set_paused`` (the
same byte: the task waits at its next context call), ``ack`` (room in the event
window), ``answer`` (to an ask); and ``kill_worker_process`` on the worker's
nanny (the forced stop after the grace period).

``set_progress`` only writes the cell (``ExecutionContext``); one reporter
thread per worker process sends what changed, coalesced: a ``log_event``
costs tens of microseconds, too dear per call.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import warnings
from itertools import count
from typing import Any

from ..._core._context import ExecutionContext
from ..._core._errors import TaskTimeoutError
from ..._core._status import CANCELLED, PAUSED
from ..process import _payload
from ..process._child import _describe_error, log_fields, warning_fields
from ._events import Outbox

#: A task that ends sooner sends no begin event (one message less through the scheduler).
BEGIN_AFTER_S = 0.01

#: token -> the cell of a task running in this worker process.
_running: dict[str, Cell] = {}
_by_thread: dict[int, Cell] = {}
_lock = threading.Lock()
_wake = threading.Event()
_started: set[str] = set()  # not empty once this process has set up its reporter and log handler
#: Loggers of the worker's own machinery: lowering the root level for tasks leaves them as they were.
_KEEP_LEVEL = ("distributed", "dask", "tornado", "asyncio", "bokeh", "urllib3")


def to_bytes(obj: Any) -> bytes:
    """Pickled for another machine: in band (no shared memory), by value where needed."""
    return _payload.dumps_portable(obj, in_band=True)[0]


class Cell:
    """The worker-side progress cell of one task (see ``ExecutionContext``)."""

    def __init__(self, worker: Any, topic: str, token: str, window: int) -> None:
        self._progress = 0.0
        self._message: str | None = None
        self._dirty = False
        self.flag = bytearray(1)  # non-zero once cancelled (``cancel`` below)
        self.worker = worker
        self.topic = topic
        self.token = token
        self.outbox = Outbox(window)
        self.send_lock = threading.Lock()  # a number and its send go together
        self.answers: dict[int, bytes] = {}  # under outbox.cond
        self.withdrawn: set[int] = set()
        self.numbers = count(1)
        self.thread = threading.get_ident()
        self.live = True
        self.started_at = time.monotonic()
        self.reported_at = 0.0
        self.begun = False  # the begin event was sent
        self.begin_lock = threading.Lock()

    def send(self, message: list[Any]) -> None:
        self.worker.log_event(self.topic, message)

    def ensure_begun(self) -> None:
        """The begin event goes first: before any report, event, question or record of the task."""
        if not self.begun:
            with self.begin_lock:
                if not self.begun:
                    self.send(["B", self.token, self.worker.address, os.getpid()])
                    self.begun = True

    def report(self) -> None:
        if self.live:
            self.ensure_begun()
            self._dirty = False
            self.reported_at = time.monotonic()
            self.send(["P", self.token, self._progress, self._message])

    # -- ProgressCell -------------------------------------------------------------
    def _changed(self) -> None:
        self._dirty = True
        _wake.set()
        if self.flag[0] == PAUSED:
            self._pause_point()

    def _pause_point(self) -> bool:
        """The flag byte is set: wait while paused (``set_paused``); True if cancelled."""
        flag, cond = self.flag, self.outbox.cond
        if flag[0] == PAUSED:
            with cond:
                while flag[0] == PAUSED:
                    cond.wait(1.0)
        return flag[0] == CANCELLED

    async def _checkpoint(self) -> None:
        raise TypeError("context.checkpoint() is for coroutine tasks; a cluster task pauses in its context calls")

    def _send_event(self, name: str, data: Any) -> None:
        payload = to_bytes((name, data))
        self.ensure_begun()
        with self.send_lock:
            self.send(["E", self.token, self.outbox.reserve(), payload])

    def _flush(self) -> None:
        self.report()

    def _ask(self, name: str, data: Any, timeout: float | None) -> Any:
        number = next(self.numbers)
        payload = to_bytes((name, data))
        self.ensure_begun()
        with self.send_lock:
            self.send(["Q", self.token, self.outbox.reserve(), number, payload])
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
            self.send(["W", self.token, number])
            raise TaskTimeoutError(f"no answer to ask({name!r}) within {timeout} s")
        value, error = _payload.loads(answer, [])
        if error is not None:
            raise error
        return value

    async def _ask_async(self, name: str, data: Any, timeout: float | None) -> Any:
        raise TypeError("context.ask_async() is for coroutine tasks; a cluster task calls context.ask()")


def run(token: str, topic: str, call: bytes, settings: dict[str, Any]) -> tuple[Any, ...]:
    """The Dask task: run the function between a begin event and the returned outcome."""
    from distributed import get_worker

    worker = get_worker()
    cell = Cell(worker, topic, token, settings["window"])
    _setup(settings)
    with _lock:
        _running[token] = cell
        _by_thread[cell.thread] = cell
    _wake.set()  # the reporter sends its begin event unless it ends first
    outcome: tuple[Any, ...]
    try:
        func, args, kwargs = _payload.loads(call, [])
        result = func(ExecutionContext(cell, cell.flag), *args, **kwargs)
    except BaseException as error:  # SystemExit, KeyboardInterrupt too: the worker thread goes on
        outcome = ("F", _describe_error(error))
    else:
        outcome = ("R", result)
    finally:
        with _lock:
            cell.live = False
            _running.pop(token, None)
            _by_thread.pop(cell.thread, None)
    return (*outcome, cell._progress, cell._message, cell.outbox.seq, worker.address, os.getpid())


def _setup(settings: dict[str, Any]) -> None:
    """Once per worker process: the reporter thread, the log handler."""
    with _lock:
        first = not _started
        _started.add("setup")
    if first:
        threading.Thread(target=_reporter, args=(settings["interval"],), name="tasker-reporter", daemon=True).start()
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


def _reporter(interval: float) -> None:
    """Begin events once due, then each task's changes at most once per ``interval``."""
    while True:
        _wake.clear()  # before looking: a change made while we look wakes the next wait
        now = time.monotonic()
        due: float | None = None
        for cell in list(_running.values()):
            try:
                if not cell.begun:
                    at = cell.started_at + BEGIN_AFTER_S
                    if now < at:
                        due = at if due is None else min(due, at)
                        continue
                    cell.ensure_begun()
                if cell._dirty:
                    at = cell.reported_at + interval
                    if now < at:
                        due = at if due is None else min(due, at)
                        continue
                    cell.report()
            except Exception:  # the worker is closing
                pass
        _wake.wait(None if due is None else max(0.0, due - now))


_next_showwarning = warnings.showwarning


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    """``warnings.showwarning`` on the worker: a task's warning goes to the app (tag ``V``)."""
    cell = _by_thread.get(threading.get_ident())
    if cell is None or not cell.live:
        _next_showwarning(message, category, filename, lineno, file, line)
        return
    try:
        cell.ensure_begun()
        cell.send(["V", cell.token, *warning_fields(message, category, filename, lineno)])
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
            cell.send(["L", cell.token, fields])
        except Exception:
            self.handleError(record)


# -- what the app runs here through client.run --------------------------------------------
def cancel(token: str) -> bool:
    """Set the task's cancel flag (and wake it if it waits for room or an answer)."""
    cell = _running.get(token)
    if cell is None:
        return False
    cell.flag[0] = CANCELLED
    cell.outbox.close()
    return True


def set_paused(token: str, paused: bool) -> None:
    """Pause (the task waits at its next context call) or resume it; a cancel wins."""
    cell = _running.get(token)
    if cell is None:
        return
    with cell.outbox.cond:
        if cell.flag[0] == CANCELLED:
            return
        cell.flag[0] = PAUSED if paused else 0
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
    os.kill(pid, signal.SIGKILL)
    return int(pid)


def worker_pid() -> int:
    return os.getpid()


# -- the embedded cluster closing --------------------------------------------------------------
#: What a worker of the embedded cluster logs when its heartbeat meets the scheduler that
#: tasker is closing (a race inside Dask's own close: dask/distributed#7105, #7192).
CLOSING_NOISE = ("Failed to communicate with scheduler during heartbeat",)


class ClosingNoise(logging.Filter):
    """Drops ``CLOSING_NOISE`` records: the worker is closed on purpose, this is no error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(CLOSING_NOISE)


def quiet_closing() -> None:
    """Run on each worker of the embedded cluster right before tasker closes it."""
    worker_logger = logging.getLogger("distributed.worker")
    if not any(isinstance(known, ClosingNoise) for known in worker_logger.filters):
        worker_logger.addFilter(ClosingNoise())
