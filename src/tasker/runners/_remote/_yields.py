"""A worker's outbox for a generator's values: one message per value while the app keeps up,
several per message when it is behind.

    generator's thread                                     "tasker-yields" thread (started on first need)
    ──────────────────                                     ───────────────────────────────────────────
    put(value) ── idle, channel writable ──► send_one(value)         (the common case: no hand-off)
       │       ── idle, channel full (the app is behind) ─┐
       │       ── busy ───────────────────────────────────┤
       │                                                   ▼
       │                            buffer.append(value) ──► wake ──► batch = whole buffer
       │                            (waits while MAX_BATCH                send_many(batch)   (blocking write:
       │                             values are buffered)                 the generator runs meanwhile)
       │                                                              buffer empty: idle again
    flush() ── waits until idle (before an event, a question, the task's outcome: order is kept)

Back-pressure: at most ``MAX_BATCH`` values wait here; past that the
generator waits, as it waited in a blocking write before. The app's side
splits a batch so that ``max_pending_events`` still bounds the values
waiting for its main thread (``_core._stream.post_yields``).

A channel error while the sender thread writes (the app is gone) is raised
to the generator's thread at its next ``put`` or ``flush``; so is a value
that cannot be sent (a batch that cannot be pickled goes again value by
value: the first value that fails is named, ``Unsendable``, and the values
after it are dropped — the generator is closed for it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)
if TYPE_CHECKING:
    from typing import Any

#: Values buffered at most (the generator waits past that).
MAX_BATCH = 256


class Unsendable(Exception):
    """A buffered value could not be sent; ``value_type`` names its type, ``__cause__`` why."""

    def __init__(self, value: Any, error: BaseException) -> None:
        super().__init__(str(error))
        self.value_type = type(value).__name__
        self.__cause__ = error


class YieldOutbox:
    """Sends one task's (or one worker's, task after task) yielded values, in order."""

    def __init__(
        self,
        send_one: Callable[[Any], None],
        send_many: Callable[[list[Any]], None],
        writable: Callable[[], bool] | None,
    ) -> None:
        self._send_one = send_one
        self._send_many = send_many
        self._writable = writable  # None: the channel cannot tell, every value goes at once
        self._cv = threading.Condition(threading.Lock())
        # Invariants (under _cv): _busy is True from the moment a value is buffered until the
        # sender thread has written every buffered value (only the sender thread sets it False);
        # while _busy, every value goes through _buffer (never past it: order is kept).
        self._buffer: list[Any] = []
        self._busy = False
        # _buffered counts the values ever put in _buffer, _written those of them written (or
        # dropped after an error): a flush waits for the values buffered before it, no more.
        self._buffered = 0
        self._written = 0
        self._error: BaseException | None = None  # what the sender thread's write raised
        self._thread: threading.Thread | None = None
        self._closed = False  # Invariant: once True, the sender thread ends when nothing is buffered

    def set_sender(self, send_one: Callable[[Any], None], send_many: Callable[[list[Any]], None]) -> None:
        """The task whose values go next (call only while idle: after ``flush``)."""
        self._send_one, self._send_many = send_one, send_many

    def put(self, value: Any) -> None:
        """Send ``value`` after every value put before (the generator's thread)."""
        cv = self._cv
        with cv:
            if self._error is not None:
                self._raise_locked()
            if not self._busy:
                writable = self._writable
                if writable is None or writable():
                    direct = True
                else:
                    direct = False
                    self._busy = True
                    self._buffer.append(value)
                    self._buffered += 1
                    self._wake_locked()
            else:
                direct = False
                while len(self._buffer) >= MAX_BATCH and self._busy and self._error is None:
                    cv.wait()
                if self._error is not None:
                    self._raise_locked()
                # (the sender may have written everything meanwhile and gone idle: busy again)
                self._busy = True
                self._buffer.append(value)
                self._buffered += 1
                if len(self._buffer) == 1:
                    cv.notify_all()
        if direct:
            self._send_one(value)

    def flush(self) -> None:
        """Return once every value put before the call was written (or raise what the write raised).

        (Any thread: an event sent by another thread of the task waits for the values buffered
        so far, not for a generator that keeps the outbox busy.)
        """
        cv = self._cv
        with cv:
            target = self._buffered
            while self._written < target and self._error is None:
                cv.wait()
            if self._error is not None:
                self._raise_locked()

    def _raise_locked(self) -> None:
        """Raise the sender thread's error, once: the values after it are dropped, and the
        outbox serves the next task as new."""
        error, self._error = self._error, None
        assert error is not None
        self._written += len(self._buffer)
        self._buffer.clear()
        raise error

    def close(self, timeout: float = 5.0) -> None:
        """End the sender thread once what is buffered is written (a worker process need not:
        its thread ends with it)."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _wake_locked(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tasker-yields", daemon=True)
            self._thread.start()
        else:
            self._cv.notify_all()

    def _run(self) -> None:
        cv = self._cv
        while True:
            with cv:
                while not self._buffer:
                    if self._busy:  # everything buffered was written: direct sends again
                        self._busy = False
                        cv.notify_all()
                    if self._closed:
                        return
                    cv.wait()
                batch, self._buffer = self._buffer, []
                cv.notify_all()  # room for a generator waiting at MAX_BATCH
            try:
                self._write(batch)
            except BaseException as error:  # the channel is gone: the generator's thread raises it
                with cv:
                    self._error = error
                    self._written += len(batch) + len(self._buffer)
                    self._buffer.clear()
                    self._busy = False
                    cv.notify_all()
            else:
                with cv:
                    self._written += len(batch)
                    cv.notify_all()  # a flush waiting for these

    def _write(self, batch: list[Any]) -> None:
        if len(batch) > 1:
            try:
                self._send_many(batch)
                return
            except OSError:
                raise
            except Exception:  # some value cannot be pickled: find which, sending the others in order
                pass
        for value in batch:
            try:
                self._send_one(value)
            except OSError:
                raise
            except Exception as error:
                raise Unsendable(value, error) from error
