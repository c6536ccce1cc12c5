"""The worker process: receives tasks, runs them, reports back.

Started as a fresh interpreter (``python -S -c ...``) that imports only this
module, never the application's ``__main__`` (in a frozen application: the
application's executable, booted through ``multiprocessing.freeze_support()``,
see ``_frozen``). Three threads:

* main: ``recv task -> run func(context, ...) -> send result``;
* reporter: sends the running task's progress/message, at most every
  ``interval`` s, only when they changed (``set_progress`` itself only writes
  an attribute);
* lifeline: blocks on a pipe whose write end only the parent holds; when the
  parent dies the read returns and the worker (with its process group) exits at
  once — the kernel itself already SIGKILLs that group then (``_arm_lifeline``).

Cancellation is a byte of shared memory the parent sets: no round trip.

The parent's messages (a task ``T``, stop ``S``, the answer ``A`` to a
``context.ask``) are read by one thread at a time (``_Link.wait_for``): the
main thread between tasks, or a task's thread while it waits for an answer —
then a task sent ahead meanwhile waits in ``_Link.inbox`` for the main loop.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import socket
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from itertools import count
from typing import Any

from . import _payload, _wire

EXIT_PARENT_GONE = 70


class _Cell:
    """Worker-side stand-in for the parent's ``Task`` (see ExecutionContext)."""

    def __init__(self, link: _Link, task_id: int) -> None:
        self._link = link
        self._id = task_id
        self._progress = 0.0
        self._message: str | None = None
        self._dirty = False
        self.live = True

    def _changed(self) -> None:
        self._dirty = True
        self._link.wake.set()

    def _send_event(self, name: str, data: Any) -> None:
        self._link.send(("E", self._id, name, data))

    def _flush(self) -> None:
        self._link.report(self)

    def _ask(self, name: str, data: Any, timeout: float | None) -> Any:
        return self._link.ask(self._id, name, data, timeout)

    async def _ask_async(self, name: str, data: Any, timeout: float | None) -> Any:
        raise TypeError("context.ask_async() is for coroutine tasks; a process task calls context.ask()")


class _Link:
    """The socket to the parent, shared by the three threads."""

    def __init__(self, sock: socket.socket, interval: float) -> None:
        self.sock = sock
        self.interval = interval
        self.lock = threading.Lock()  # one sender at a time
        self.wake = threading.Event()
        self.cell: _Cell | None = None
        # Reading (see the module doc). Invariant: at most one thread has
        # `reading` set, and only it calls recv on the socket.
        self.read_cv = threading.Condition()
        self.reading = False
        self.closed = False  # the parent closed the connection
        self.inbox: deque[tuple[bytearray, list[int]]] = deque()  # T/S for the main loop
        self.answers: dict[int, tuple[Any, BaseException | None]] = {}
        self.withdrawn: set[int] = set()  # asks that gave up: their late answers are dropped
        self.questions = count(1)

    def send(self, message: Any) -> None:
        data, fds = _payload.dumps_portable(message)
        try:
            with self.lock:
                _wire.send(self.sock, data, fds)
        finally:
            _payload.close_fds(fds)

    def report(self, cell: _Cell) -> None:
        with self.lock:
            if not cell.live:
                return
            cell._dirty = False
            data, _ = _payload.dumps(("P", cell._id, cell._progress, cell._message))
            _wire.send(self.sock, data)

    def reporter(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            cell = self.cell
            if cell is not None and cell._dirty:
                try:
                    self.report(cell)
                except OSError:
                    return
            time.sleep(self.interval)  # throttle: at most one report per interval

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
                remaining = None if deadline is None else deadline - time.monotonic()
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
        if timeout is not None and not select.select([self.sock], [], [], timeout)[0]:
            return None
        return _wire.recv(self.sock)

    def _sort(self, data: bytearray, fds: list[int]) -> None:
        """With ``read_cv`` held: an answer goes to its asker, the rest to the inbox."""
        if data[:1] != b"A":
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
        self.send(("A", task_id, number, name, data))
        if not self.wait_for(lambda: number in self.answers, timeout):
            with self.read_cv:
                answered = number in self.answers
                if not answered:
                    self.withdrawn.add(number)
            if not answered:
                if self.closed:
                    raise EOFError("the parent closed the connection while the task waited in ask()")
                self.send(("W", task_id, number))
                from .._core._errors import TaskTimeoutError

                raise TaskTimeoutError(f"no answer to ask({name!r}) within {timeout} s")
        with self.read_cv:
            value, error = self.answers.pop(number)
        if error is not None:
            raise error
        return value


def main(channel: tuple[int, ...] | None = None) -> None:
    """Serve tasks until told to stop; ``channel``: the fds (socket, flags, lifeline), else argv's."""
    if channel is None:
        channel = tuple(int(arg) for arg in sys.argv[1:4])
    sock_fd, flags_fd, lifeline_fd = channel
    # pass_fds made them inheritable: a process a task starts (os.system, Popen with
    # close_fds=False) must not get them, or it keeps the parent's channel open.
    os.set_inheritable(sock_fd, False)
    os.set_inheritable(lifeline_fd, False)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the application's business
    _arm_lifeline(lifeline_fd)
    threading.Thread(target=_lifeline, args=(lifeline_fd,), daemon=True).start()
    import mmap

    flags = mmap.mmap(flags_fd, mmap.PAGESIZE)
    os.close(flags_fd)
    sock = socket.socket(fileno=sock_fd)
    data, fds = _wire.recv(sock)
    init = _payload.loads(data, fds)
    link = _Link(sock, init["interval"])
    _setup(init, link)
    threading.Thread(target=link.reporter, daemon=True).start()
    if not _initialize(init, link):
        return
    link.send(("ready", os.getpid()))
    _serve(link, flags)


def _lifeline(fd: int) -> None:
    os.read(fd, 1)  # returns only when every write end is closed: the parent died
    if os.getpgrp() == os.getpid():  # this worker's group: the processes its tasks started
        os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(EXIT_PARENT_GONE)


def _arm_lifeline(fd: int) -> None:
    """Have the kernel SIGKILL this worker's process group when the parent's end of the lifeline closes.

    The lifeline thread needs the GIL to exit; a task busy in native code that
    holds the GIL (e.g. ``sum(range(10**10))``) would keep an orphan running.
    With O_ASYNC the kernel itself signals the owner of the pipe when its last
    writer closes. The owner belongs to the open file, which every worker shares
    through ``fd``: each worker opens the pipe anew to own one of its own (kept
    open for the worker's life). The owner is the worker's process group (a
    negative ``F_SETOWN``): the signal reaches every process in the group at that
    moment, so the processes its tasks started (children, grandchildren) die with
    it (see ``_group``). If the parent died before this, the thread sees EOF at
    once.
    """
    try:
        import fcntl

        own = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        leader = os.getpgrp() == os.getpid()  # started with process_group=0
        fcntl.fcntl(own, fcntl.F_SETOWN, -os.getpid() if leader else os.getpid())
        fcntl.fcntl(own, fcntl.F_SETSIG, signal.SIGKILL)
        fcntl.fcntl(own, fcntl.F_SETFL, fcntl.fcntl(own, fcntl.F_GETFL) | os.O_ASYNC)
    except (ImportError, AttributeError, OSError):  # not Linux: the thread alone
        pass


def _setup(init: dict[str, Any], link: _Link) -> None:
    sys.path[:] = init["sys_path"]
    threading.current_thread().name = init["name"]
    import multiprocessing.process as mp_process

    mp_process.current_process().name = init["name"]  # logging's processName
    root = logging.getLogger()
    root.setLevel(init["log_level"])
    root.addHandler(_ForwardHandler(link))
    if init["nice"] and hasattr(os, "nice"):
        os.nice(init["nice"])  # below the UI thread: a desktop stays smooth while workers compute


def _initialize(init: dict[str, Any], link: _Link) -> bool:
    initializer = init["initializer"]
    if initializer is None:
        return True
    try:
        func, args = _payload.loads(*initializer)
        func(*args)
    except BaseException as error:
        link.send(("I", _describe_error(error)))
        return False
    return True


def _serve(link: _Link, flags: Any) -> None:
    from .._core._context import ExecutionContext

    slots = (memoryview(flags)[0:1], memoryview(flags)[1:2])  # one cancel flag per task in flight
    while True:
        try:
            data, fds = link.next_message()
        except (EOFError, OSError):
            return
        if data[:1] == b"S":  # stop
            return
        flag = slots[data[1]]  # b"T" + flag slot + id + pickled call
        task_id = int.from_bytes(data[2:10], "little")
        if flag[0]:  # sent ahead, then cancelled before it could start: skip it
            _payload.close_fds(fds)
            link.send(("R", task_id, None, 0.0, None))
            continue
        cell = _Cell(link, task_id)
        link.cell = cell
        try:
            func, args, kwargs = _payload.loads(memoryview(data)[10:], fds)
            result = func(ExecutionContext(cell, flag), *args, **kwargs)
        except BaseException as error:
            outcome: tuple[Any, ...] = ("F", task_id, _describe_error(error))
        else:
            outcome = ("R", task_id, result)
        _finish(link, cell, outcome)


def _finish(link: _Link, cell: _Cell, outcome: tuple[Any, ...]) -> None:
    with link.lock:
        cell.live = False
        link.cell = None
    message = (*outcome, cell._progress, cell._message)
    try:
        link.send(message)
    except OSError:
        raise
    except Exception as error:  # the result cannot be pickled
        kind = type(outcome[2]).__name__
        from .._core._errors import TaskError

        problem = TaskError(
            f"the task's result of type {kind} cannot be sent back from the worker "
            f"process ({type(error).__name__}: {error}); return picklable data "
            "(plain values, NumPy arrays, bytes) or use run_thread()"
        )
        link.send(("F", outcome[1], _describe_error(problem), cell._progress, cell._message))


def _describe_error(error: BaseException) -> tuple[Any, ...]:
    """(pickled error or None, type name, message, formatted traceback)."""
    text = "".join(traceback.format_exception(error))
    pickled: bytes | None = None
    try:
        data, fds = _payload.dumps_portable(error)
        _payload.close_fds(fds)
        if not fds:
            pickle.loads(data)  # it must rebuild, too (custom __init__ often breaks)
            pickled = data
    except Exception:
        pickled = None
    return (pickled, f"{type(error).__module__}.{type(error).__qualname__}", str(error), text)


class _ForwardHandler(logging.Handler):
    """Sends every record to the parent, which hands it to its own loggers."""

    def __init__(self, link: _Link) -> None:
        super().__init__()
        self._link = link

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = dict(record.__dict__)
            fields["msg"] = record.getMessage()
            fields["args"] = None
            if record.exc_info:
                fields["exc_text"] = self.format(record) if not record.exc_text else record.exc_text
            fields["exc_info"] = None
            fields = {k: v for k, v in fields.items() if isinstance(v, str | int | float | type(None))}
            self._link.send(("L", fields))
        except Exception:
            self.handleError(record)


if __name__ == "__main__":  # pragma: no cover
    main()
