"""Every message between the parent and a worker, in one place.

    parent ──► worker (raw bytes; framing in ``_wire``)
      TASK      TASK_HEADER(b"T", flag slot, task id) + pickled (func, args, kwargs)
      STOP      b"S"
      ANSWER    b"A" + pickled (question number, value, error)      (context.ask)

    worker ──► parent (pickled tuples: a tag, then the fields below)
      PROGRESS      task id, progress, message                 (at most every interval)
      EVENT         task id, name, data                        (send_event)
      QUESTION      task id, question number, name, data       (context.ask)
      WITHDRAW      task id, question number                   (the ask timed out)
      RESULT        task id, value, progress, message, RSS     (the function returned; RSS in
      FAILURE       task id, described error, progress, message, RSS   bytes, 0 unless worker_max_memory)
      LOG           a log record's fields
      WARNING       task id (0: none), category module, qualname, text, filename, lineno
      READY         pid                                        (initialized, waiting)
      INIT_FAILED   described error, text or None              (the worker then exits)
    and, made by the parent itself:
      UNLOADABLE    the error unpickling a message raised

Why tuples, not message classes: a worker sends one or more messages per task,
and pickling a NamedTuple or slotted class (a class reference, a constructor
call on load) measured 8× the cost of a plain tuple here (about 9 µs against
1.1 µs per message, each way). The shapes are declared below as typed aliases;
the parent dispatches on them with ``match``.

A *described error* is ``(pickled exception or None, "module.Type", str, traceback)``:
the exception rebuilt with its type where it can be (``_remote._codec.rebuild_error``).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import partial
from typing import Any, Final, Literal

from .._remote._codec import Described

#: b"T", the cancel-flag slot the task reads (0/1), the task id.
TASK_HEADER: Final = struct.Struct("<cBQ")
STOP: Final = b"S"
ANSWER: Final = b"A"


class Tag:
    """The first field of every worker → parent message."""

    PROGRESS: Final = "P"
    EVENT: Final = "E"
    QUESTION: Final = "A"
    WITHDRAW: Final = "W"
    RESULT: Final = "R"
    FAILURE: Final = "F"
    LOG: Final = "L"
    WARNING: Final = "N"
    READY: Final = "Y"
    INIT_FAILED: Final = "I"
    UNLOADABLE: Final = "X"



Progress = tuple[Literal["P"], int, float, str | None]
Event = tuple[Literal["E"], int, str, Any]
Question = tuple[Literal["A"], int, int, str, Any]
Withdraw = tuple[Literal["W"], int, int]
Result = tuple[Literal["R"], int, Any, float, str | None, int]
Failure = tuple[Literal["F"], int, Described, float, str | None, int]
Log = tuple[Literal["L"], dict[str, Any]]
Warning_ = tuple[Literal["N"], int, str, str, str, str, int]
Ready = tuple[Literal["Y"], int]
InitFailed = tuple[Literal["I"], Described, str | None]
Unloadable = tuple[Literal["X"], BaseException]

FromWorker = (
    Progress | Event | Question | Withdraw | Result | Failure | Log | Warning_ | Ready | InitFailed | Unloadable
)


#: ``task_header(slot, task_id)``: the bytes of a TASK message's header (a C
#: partial, not a Python function: it is called for every task).
task_header: Final[Callable[[int, int], bytes]] = partial(TASK_HEADER.pack, b"T")


def read_task_header(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    """(flag slot, task id) of a TASK message; the pickled call follows ``TASK_HEADER.size``."""
    _, slot, task_id = TASK_HEADER.unpack_from(data)
    return slot, task_id
