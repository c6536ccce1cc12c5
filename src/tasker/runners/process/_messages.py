"""The process runner's framing of the kit's messages (``_remote._messages.Kind``).

    parent ──► worker (raw bytes; framing in ``tasker._platform._wire``)
      TASK      TASK_HEADER("T", flag slot, task id) + pickled (func, args, kwargs)
      STOP      "S"
      ANSWER    "A" + pickled (question number, value, error)      (context.ask)

    worker ──► parent: pickled tuples ``(letter, task id, *fields)`` — the task id
    0 where no task is concerned (READY, INIT_FAILED, a record logged between tasks):
      PROGRESS, EVENT, YIELD, YIELDS, QUESTION, WITHDRAW, LOG, WARNING   the kit's fields
      RESULT    value, progress, message, RSS        (RSS in bytes, 0 unless
      FAILURE   described error, progress, message, RSS       worker_max_memory)
      READY     pid                                  (initialized, waiting)
      INIT_FAILED  described error, text or None     (the worker then exits)
    and, made by the parent itself:
      UNLOADABLE   the error unpickling a message raised

Why tuples, not message classes: see ``_remote._messages``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import partial

from .._remote._messages import Kind

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)
if TYPE_CHECKING:
    from typing import Any, Final

#: The letters, as plain ``str`` (what travels; an enum member would pickle as a class reference).
TASK: Final = Kind.TASK.value
STOP: Final = Kind.STOP.value.encode()
ANSWER: Final = Kind.ANSWER.value.encode()
PROGRESS: Final = Kind.PROGRESS.value
EVENT: Final = Kind.EVENT.value
YIELD: Final = Kind.YIELD.value
YIELDS: Final = Kind.YIELDS.value
QUESTION: Final = Kind.QUESTION.value
WITHDRAW: Final = Kind.WITHDRAW.value
RESULT: Final = Kind.RESULT.value
FAILURE: Final = Kind.FAILURE.value
LOG: Final = Kind.LOG.value
WARNING: Final = Kind.WARNING.value
READY: Final = Kind.READY.value
INIT_FAILED: Final = Kind.INIT_FAILED.value
UNLOADABLE: Final = Kind.UNLOADABLE.value

#: Fields of a worker's message before the kind's own: the task id.
TASK_FIELDS: Final = 1

#: "T", the cancel-flag slot the task reads (0/1), the task id.
TASK_HEADER: Final = struct.Struct("<cBQ")

FromWorker = tuple["Any", ...]

#: ``task_header(slot, task_id)``: the bytes of a TASK message's header (a C
#: partial, not a Python function: it is called for every task).
task_header: Final[Callable[[int, int], bytes]] = partial(TASK_HEADER.pack, TASK.encode())


def read_task_header(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    """(flag slot, task id) of a TASK message; the pickled call follows ``TASK_HEADER.size``."""
    _, slot, task_id = TASK_HEADER.unpack_from(data)
    return slot, task_id
