"""The worker's side of its channel to the parent: sending, reading, asking.

``Link`` is shared by the worker's threads (see ``_child``): the main thread
sends results, the reporter thread throttled progress, a task's threads events
and questions; sends are serialised by ``lock``. The parent's messages (a task,
stop, the answer to an ask) are read by one thread at a time
(``Link.wait_for``): the main thread between tasks, or a task's thread while it
waits for an answer — then a task sent ahead meanwhile waits in ``inbox`` for
the main loop, and an answer waits in ``answers`` for its asker.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import count

from ..._core._errors import TaskTimeoutError
from ..._core._seconds import MAX_WAIT_S
from .._remote import _payload
from .._remote._cell import Reporter, WorkerCell
from .._remote._yields import YieldOutbox
from ._messages import ANSWER, EVENT, PROGRESS, QUESTION, WITHDRAW, YIELD, YIELDS

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    from typing import Any

    from ..._platform._base import Channel


class Cell(WorkerCell):
    """Worker-side stand-in for the parent's ``Task`` (see ExecutionContext): the kit's cell over the channel."""

    runner = "process"
    pauses = "pauses by itself"  # (its worker is stopped: SIGSTOP)

    def __init__(self, link: Link, task_id: int) -> None:
        super().__init__(link.reporter)
        self._link = link
        self._id = task_id

    def _send_event(self, name: str, data: Any) -> None:
        link = self._link
        if link.outbox is not None:
            link.outbox.flush()  # after the values yielded before it
        link.send((EVENT, self._id, name, data))

    def _send_yield(self, value: Any) -> None:
        link = self._link
        outbox = link.outbox or link.open_outbox()
        link.yield_id = self._id
        outbox.put(value)

    def _flush_yields(self) -> None:
        if self._link.outbox is not None:
            self._link.outbox.flush()

    def _ask(self, name: str, data: Any, timeout: float | None) -> Any:
        if self._link.outbox is not None:
            self._link.outbox.flush()
        return self._link.ask(self._id, name, data, timeout)

    def report(self) -> None:
        self._link.report(self)


class Link:
    """The channel to the parent, shared by the worker's threads."""

    def __init__(self, channel: Channel, interval: float) -> None:
        self.channel = channel
        self.interval = interval
        self.lock = threading.Lock()  # one sender at a time
        self.cell: Cell | None = None  # the running task's
        self.reporter = Reporter(interval, lambda: () if self.cell is None else (self.cell,))
        self.own_rss: Callable[[], int] | None = None  # when results carry the RSS (``_child``)
        # Reading (see the module doc). Invariant: at most one thread has
        # `reading` set, and only it calls recv on the channel.
        self.read_cv = threading.Condition()
        self.reading = False
        self.closed = False  # the parent closed the connection
        self.inbox: deque[tuple[bytearray, list[int]]] = deque()  # T/S for the main loop
        self.answers: dict[int, tuple[Any, BaseException | None]] = {}
        self.withdrawn: set[int] = set()  # asks that gave up: their late answers are dropped
        self.questions = count(1)
        # A generator task's values (``open_outbox``, at the first one); yield_id: that task's id.
        self.outbox: YieldOutbox | None = None
        self.yield_id = 0

    def open_outbox(self) -> YieldOutbox:
        """The outbox of generator values (made once): batches while the parent is behind."""
        writable: Callable[[], bool] | None = None
        fileno = getattr(self.channel, "fileno", None)
        if fileno is not None:
            import select

            if hasattr(select, "poll"):
                poller = select.poll()
                poller.register(fileno(), select.POLLOUT)
                poll = poller.poll

                def writable() -> bool:
                    return bool(poll(0))

        self.outbox = YieldOutbox(self._send_value, self._send_values, writable)
        return self.outbox

    def _send_value(self, value: Any) -> None:
        self.send((YIELD, self.yield_id, value))

    def _send_values(self, values: list[Any]) -> None:
        self.send((YIELDS, self.yield_id, values))

    def send(self, message: Any) -> None:
        data, fds = _payload.dumps_portable(message)
        try:
            with self.lock:
                self.channel.send(data, fds)
        finally:
            _payload.close_fds(fds)

    def report(self, cell: Cell) -> None:
        with self.lock:
            if not cell.live:
                return
            cell._dirty = False
            data, _ = _payload.dumps((PROGRESS, cell._id, cell._progress, cell._message))
            self.channel.send(data)

    # -- reading the parent's messages -------------------------------------------------
    def next_message(self) -> tuple[bytearray, list[int]]:
        """The next task or stop message (main loop); raises EOFError once closed."""
        self.wait_for(lambda: bool(self.inbox), None)
        with self.read_cv:
            if not self.inbox:
                raise EOFError("the parent closed the connection")
            return self.inbox.popleft()

    def wait_for(self, done: Callable[[], bool], timeout: float | None) -> bool:
        """Read messages (as the one reader) until ``done()``, EOF or ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.read_cv:
            while not (done() or self.closed):
                remaining = None if deadline is None else min(MAX_WAIT_S, deadline - time.monotonic())
                if remaining is not None and remaining <= 0:
                    return False
                if self.reading:  # another thread reads: it wakes us when it has one
                    self.read_cv.wait(remaining)
                    continue
                self.reading = True
                self.read_cv.release()
                try:
                    message = self._read_one(remaining)
                except (EOFError, OSError):
                    message = None
                    self.closed = True
                finally:
                    self.read_cv.acquire()
                    self.reading = False
                    self.read_cv.notify_all()
                if message is not None:
                    self._sort(*message)
            return done()

    def _read_one(self, timeout: float | None) -> tuple[bytearray, list[int]] | None:
        if timeout is not None and not self.channel.wait_readable(timeout):
            return None
        return self.channel.recv()

    def _sort(self, data: bytearray, fds: list[int]) -> None:
        """With ``read_cv`` held: an answer goes to its asker, the rest to the inbox."""
        if data[:1] != ANSWER:
            self.inbox.append((data, fds))
            return
        number, value, error = _payload.loads(memoryview(data)[1:], fds)
        if number in self.withdrawn:
            self.withdrawn.discard(number)
        else:
            self.answers[number] = (value, error)

    def ask(self, task_id: int, name: str, data: Any, timeout: float | None) -> Any:
        """``context.ask`` in a worker: the parent shows it to the main thread."""
        number = next(self.questions)
        self.send((QUESTION, task_id, number, name, data))
        if not self.wait_for(lambda: number in self.answers, timeout):
            with self.read_cv:
                answered = number in self.answers
                if not answered:
                    self.withdrawn.add(number)
            if not answered:
                if self.closed:
                    raise EOFError("the parent closed the connection while the task waited in ask()")
                self.send((WITHDRAW, task_id, number))
                raise TaskTimeoutError(f"no answer to ask({name!r}) within {timeout} s")
        with self.read_cv:
            value, error = self.answers.pop(number)
        if error is not None:
            raise error
        return value
