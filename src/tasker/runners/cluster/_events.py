"""The ordered event channel between a task on a Dask worker and the app.

    worker: the task's threads                    app: the forwarder thread (_forward)
    ──────────────────────────                    ────────────────────────────────────
    Outbox.reserve() → seq  (waits while
      seq - acked ≥ window: back-pressure)
    log_event [tag, token, seq, …] ── scheduler ──► Inbox.accept(seq, item)
                                                      in order; early ones held (a gap)
                                                    lifecycle.post_event (waits while the
                                                      UI is behind: back-pressure again)
    Outbox.ack(seq) ◄── client.run(ack) ◄───────── Inbox.ack_due(): every window / 2

Every message a task sends (not only its events) is signed: the app makes a
random key for each task, which travels with the task to its worker and never
back; the worker sends ``{t: tag, k: token, r: run, n: number, b: body, m: HMAC}``
(the body msgpack, not pickle) and the app checks the HMAC (``hmac.compare_digest``)
and that ``n`` is new (``Seen``) before it decodes anything — a message another
client of the scheduler wrote or replayed is dropped there, logged once per task.
``r`` names the run: a second run of the same task (Dask re-ran it after its
worker died) signs with the same key but another ``r``, and is refused.

Every event (``send_event``, ``ask``) gets the next sequence number of its task.
The app delivers them in that order, holds any that arrive early, and knows from
the task's result the last number sent: a number still missing then is a gap,
reported as the task's failure (``_forward``). At most ``window`` events are
unacknowledged: a task that outruns the app waits in ``reserve`` — events are
never dropped. Acknowledgements come back in batches (one ``client.run`` costs
milliseconds), once half the window has been delivered to the main thread's queue.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from importlib import import_module
from typing import Any

#: Events a task may have sent that the app has not acknowledged yet.
WINDOW = 64
#: A task waits this long (s) for an acknowledgement before it gives up on the app.
SILENT_APP_S = 120.0


#: Bytes of a task's signing key.
KEY_BYTES = 32


def _msgpack() -> Any:
    """msgpack, Dask's own wire format (installed with distributed; imported on first use)."""
    return import_module("msgpack")


def sign(key: bytes, tag: str, token: str, run: str, n: int, body: bytes) -> bytes:
    """The HMAC of one message: everything in it but the HMAC itself."""
    head = f"{tag}\0{token}\0{run}\0{n}\0".encode()
    return hmac.new(key, head + body, hashlib.sha256).digest()


def pack(key: bytes, tag: str, token: str, run: str, n: int, fields: list[Any]) -> dict[str, Any]:
    """A message as the worker sends it (``fields``: plain values and bytes)."""
    body: bytes = _msgpack().packb(fields, use_bin_type=True)
    return {"t": tag, "k": token, "r": run, "n": n, "b": body, "m": sign(key, tag, token, run, n, body)}


def authentic(key: bytes, msg: dict[str, Any]) -> bool:
    """True if ``msg`` has the shape ``pack`` gives and an HMAC made with ``key`` (decodes nothing)."""
    tag, token, run, n, body, mac = (msg.get(name) for name in ("t", "k", "r", "n", "b", "m"))
    if not (
        isinstance(tag, str) and isinstance(token, str) and isinstance(run, str) and type(n) is int
        and isinstance(body, bytes) and isinstance(mac, bytes)
    ):
        return False
    return hmac.compare_digest(mac, sign(key, tag, token, run, n, body))


def unpack(body: bytes) -> list[Any]:
    """The fields of an authentic message's body (msgpack: plain values only, never code)."""
    fields = _msgpack().unpackb(body, raw=False, use_list=True, strict_map_key=False)
    if not isinstance(fields, list):
        raise ValueError(f"a message body holds a {type(fields).__name__}, not a list")
    return fields


class Seen:
    """The message numbers of one run already accepted: each is accepted once (no replay)."""

    __slots__ = ("above", "floor")

    def __init__(self) -> None:
        self.floor = 0  # Invariant: every number <= floor was accepted
        self.above: set[int] = set()  # accepted numbers > floor + 1 (arrived after a gap)

    def accept(self, n: int) -> bool:
        if n <= self.floor or n in self.above:
            return False
        self.above.add(n)
        while self.floor + 1 in self.above:
            self.floor += 1
            self.above.discard(self.floor)
        return True


class AppGoneError(ConnectionError):
    """The app stopped acknowledging a task's events (it is gone or stuck)."""


class Outbox:
    """The worker's side: sequence numbers and the bounded window."""

    def __init__(self, window: int = WINDOW) -> None:
        self.cond = threading.Condition()
        self.window = window
        self.seq = 0  # the last number handed out
        self.acked = 0  # the last number the app acknowledged
        self.closed = False  # canceled: senders no longer wait for room

    def reserve(self) -> int:
        """The next sequence number, once the window has room (the caller sends it)."""
        with self.cond:
            deadline = time.monotonic() + SILENT_APP_S
            while self.seq - self.acked >= self.window and not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AppGoneError(
                        f"the app acknowledged none of this task's last {self.window} events "
                        f"for {SILENT_APP_S:g} s; it is gone or stuck"
                    )
                self.cond.wait(min(remaining, 1.0))
            self.seq += 1
            return self.seq

    def ack(self, seq: int) -> None:
        with self.cond:
            if seq > self.acked:
                self.acked = seq
                self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


class Inbox:
    """The app's side of one task: reorders, finds gaps, says when to acknowledge."""

    __slots__ = ("acked", "held", "next", "window")

    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self.next = 1  # the number delivered next
        self.held: dict[int, Any] = {}  # arrived early
        self.acked = 0

    @property
    def delivered(self) -> int:
        return self.next - 1

    def accept(self, seq: int, item: Any) -> list[Any]:
        """The items now deliverable, in order (none if ``seq`` is early or a duplicate)."""
        if seq < self.next or seq in self.held:
            return []
        self.held[seq] = item
        ready = []
        while self.next in self.held:
            ready.append(self.held.pop(self.next))
            self.next += 1
        return ready

    def missing(self, last: int) -> list[int]:
        """Numbers up to ``last`` (the task's last one) that have not arrived."""
        return [seq for seq in range(self.next, last + 1) if seq not in self.held]

    def ack_due(self, idle: bool = False) -> int | None:
        """The number to acknowledge now (half a window delivered; or any, when ``idle``), else None."""
        delivered = self.delivered
        if delivered - self.acked >= max(1, self.window // 2) or (idle and delivered > self.acked):
            self.acked = delivered
            return delivered
        return None
