"""Every message between the app and a task's worker, for every remote runner: ``Kind``.

    app ──► worker
      TASK         the pickled call (process: after a header with its cancel-flag slot)
      STOP         the worker ends (process)
      ANSWER       question number, value, error                    (context.ask)

    worker ──► app                (fields after the kind; "task" is how the transport
                                   names the task: the process runner its id, the
                                   cluster runner the token every signed message carries)
      BEGIN        worker address, pid             the function runs (cluster)
      PROGRESS     progress, message               at most every interval
      EVENT        name, data                      send_event
      QUESTION     question number, name, data     context.ask
      WITHDRAW     question number                 the ask timed out in the worker
      YIELD        value (cluster: seq, pickled)   a generator task's ``yield``, in order with its events
      YIELDS       list of values                  several yields at once, in order (process: sent
                                                   while the app is behind, ``_yields``)
      RESULT       value, progress, message, …     the function returned
      FAILURE      described error (``_codec``), progress, message, …   it raised
      LOG          a log record's fields (``_codec.log_fields``)
      WARNING      category module, qualname, text, filename, lineno
      READY        pid                             initialized, waiting (process)
      INIT_FAILED  described error, text or None   worker_initializer raised (process)
      SECOND_RUN   the outcome of a run Dask started again after a worker died (cluster)
      UNLOADABLE   made by the app itself: the error that unpickling a message raised

On the wire a message is a tuple (process: pickled) or a list (cluster: msgpack
in a signed envelope, ``cluster._events``) whose first item is the kind's
*value*, a one-letter ``str``, never the enum member: pickling a member costs a
class reference and an enum lookup on load; pickling a NamedTuple or a slotted
message class measured 8× a plain tuple (about 9 µs against 1.1 µs per message,
each way). ``KINDS`` maps a letter back to its kind and ``decode`` checks a
message's shape before anything acts on it; the app-side ``Relay`` (``_relay``)
turns the common kinds into lifecycle calls.

How to add a message:

1. add a member to ``Kind`` with an unused letter, and a line to the table above
   (which way it goes, its fields);
2. give its field count in ``ARITY`` (``decode`` then refuses a malformed one);
3. send it from the worker side: ``_cell.WorkerCell`` for what a task's context
   does (each transport's ``send``), or the transport's own worker loop;
4. handle it in the app: a method of ``_relay.Relay`` if every runner treats it
   alike, else in the transport's reader (``process._reader``,
   ``cluster._forward``) — each looks a message's kind up in a table built from
   ``Kind``, so an unhandled kind is a decode error there, not a silent drop;
5. add a round trip to ``tests/test_remote_kit.py`` (parametrised over runners).
"""

from __future__ import annotations

import enum

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)
if TYPE_CHECKING:
    from typing import Any, Final


class Kind(enum.StrEnum):
    """What a message is; its value is the letter that travels."""

    # app ──► worker
    TASK = "T"
    STOP = "S"
    ANSWER = "A"
    # worker ──► app
    BEGIN = "B"
    PROGRESS = "P"
    EVENT = "E"
    QUESTION = "Q"
    WITHDRAW = "W"
    YIELD = "G"
    YIELDS = "H"
    RESULT = "R"
    FAILURE = "F"
    LOG = "L"
    WARNING = "N"
    READY = "Y"
    INIT_FAILED = "I"
    SECOND_RUN = "D"
    # made by the app
    UNLOADABLE = "X"


#: letter -> kind (``decode``; a plain dict: no enum lookup per message).
KINDS: Final[dict[str, Kind]] = {kind.value: kind for kind in Kind}

#: Fields after the kind, per kind and transport where they differ (None: any number).
ARITY: Final[dict[Kind, int | None]] = {
    Kind.TASK: None,
    Kind.STOP: 0,
    Kind.ANSWER: 3,
    Kind.BEGIN: 2,
    Kind.PROGRESS: 2,
    Kind.EVENT: 2,
    Kind.QUESTION: 3,
    Kind.WITHDRAW: 1,
    Kind.YIELD: None,  # process: the value; cluster: its sequence number and the pickled value
    Kind.YIELDS: 1,
    Kind.RESULT: None,
    Kind.FAILURE: None,
    Kind.LOG: 1,
    Kind.WARNING: 5,
    Kind.READY: 1,
    Kind.INIT_FAILED: 2,
    Kind.SECOND_RUN: None,
    Kind.UNLOADABLE: 1,
}


class MessageError(ValueError):
    """A message that is not one of ``Kind``'s shapes (another tasker version, or corrupt)."""


def decode(message: Any, skip: int = 0) -> Kind:
    """The kind of ``message`` (a tuple or list: the letter, ``skip`` transport fields, then
    the kind's fields), checked against ``ARITY``; ``MessageError`` naming what is wrong."""
    if not isinstance(message, tuple | list) or not message:
        raise MessageError(f"a message is a non-empty tuple or list, not {type(message).__name__}")
    letter = message[0]
    kind = KINDS.get(letter) if isinstance(letter, str) else None
    if kind is None:
        raise MessageError(f"unknown message kind {letter!r}: the worker runs another version of tasker?")
    arity = ARITY[kind]
    if arity is not None and len(message) != 1 + skip + arity:
        raise MessageError(
            f"a {kind.name} message has {len(message) - 1 - skip} field(s), not {arity}: "
            "the worker runs another version of tasker?"
        )
    return kind
