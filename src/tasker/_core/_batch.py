"""Batches: ``task_mgr.map(fn, items)`` — one task, one row, many items.

    map(fn, items) ─► BatchTask (kind "batch") ─► _feed: take a chunk of items (lazily, one feeder at a time)
                         │                          └─► start_part(item kind, run_chunk, (fn, chunk))  ≤ max in flight
                         │                                 refused at the call (e.g. cannot be pickled):
                         │                                 its items go again alone; alone, that item fails
                         ◄── _chunk_done (the thread that ended the part): record its items' outcomes
                         │     (one list of values per part, ``_batchwork``; failures by index),
                         │     when_item for them (one main-thread call per chunk; ordered: in input order),
                         │     fail_fast: cancel the rest; then _feed again
                         └─► last part ended, nothing left: conclude(results) | conclude(BatchError) | canceled

Items are consumed lazily (a generator of a million items never sits in
memory); small items travel in chunks, so per-task overhead is paid once per
chunk. With ``timeout=`` each item runs alone, with that timeout.

Automatic chunks (no ``chunksize``) of a known number of items: guided and adaptive.

    first wave (nothing measured yet): total / (slots × CHUNKS_PER_SLOT) each
    a part ends ─► seconds per item = its time from launch to end / its size (the least seen:
                   time spent queued behind another part only adds to it)
    next chunk   = max(remaining / (workers × GUIDED_SPLIT),   guided: shrinks toward the end
                       MIN_CHUNK_S / seconds per item)         long enough to hide a round trip
                   at most the first wave's size (and MAX_CHUNK), at least 1

In processes a chunk may be sent ahead to a worker busy with this batch while
the other workers still have at least as many items to take (``_launch``): no
round trip per chunk. Long items end in chunks of one or two, so no worker idles while another
still has a long queue; short ones keep the first wave's size (larger or
fewer chunks at the end only left one worker alone with the last one). Coroutine
items keep the first wave's size (their parts share one event loop). A lazy
iterable's chunks grow from one, doubling.

Progress = (items ended + the running parts' own progress × their size) / total;
message "37 of 120 · 2 failed" (the total reads "N+" while a lazy iterable
has more).
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._batchwork import run_chunk, run_chunk_async
from ._composite import Composite, start_part, submit_composite
from ._errors import BatchError, TaskError, error_text
from ._task import Task

if TYPE_CHECKING:
    from ._lifecycle import TaskLifecycle

logger = logging.getLogger("tasker")
R = TypeVar("R")

#: The largest automatic chunk (items per part).
MAX_CHUNK = 2048
#: Automatic chunks per slot in the first wave (with the default slots, AHEAD per worker: four
#: chunks per worker, as a good ``chunksize`` for ``ProcessPoolExecutor.map``).
CHUNKS_PER_SLOT = 2
#: Guided chunks: each later chunk takes at most remaining / (workers × GUIDED_SPLIT) items,
#: unless its items are too short for that (MIN_CHUNK_S).
GUIDED_SPLIT = 2
#: An automatic chunk's least expected work (s), once items were timed: its round trip stays small.
MIN_CHUNK_S = 0.005
#: Parts in flight per slot when ``max_concurrency`` is not given: a worker finds its next chunk queued.
AHEAD = 2
#: Slots of the kinds without a pool size of their own.
DEFAULT_SLOTS = {"coroutine": 100, "cluster": 16}

Done = tuple[int, Any, BaseException | None]  # (index, result, error) of one item


class BatchTask(Composite[list[R]], Generic[R]):
    """``task_mgr.map(...)``: a task whose work is ``fn(context, item)`` for each item.

    ``total``, ``done_count`` and ``failed_count`` tell how far it is;
    ``item_kind`` is the kind its items run in.
    """

    def __init__(
        self,
        lifecycle: TaskLifecycle,
        fn: Callable[..., Any],
        items: Iterator[Any],
        known_total: int | None,
        item_kind: str,
        reserved: Any,
        *,
        slots: int,
        workers: int,
        chunksize: int | None,
        ordered: bool,
        fail_fast: bool,
        when_item: Callable[..., object] | None,
    ) -> None:
        super().__init__(
            lifecycle, "batch", (fn, (), {}), reserved.key, reserved.when_done, None, None,
            reserved.visible, reserved.priority,
        )
        self.item_kind = item_kind
        self._fn = fn
        self._items = items
        self._known_total = known_total
        self._slots = slots
        self._workers = max(1, min(slots, workers))  # (what runs at once: the guided split)
        self._item_timeout = reserved.timeout
        self._ordered = ordered
        self._fail_fast = fail_fast
        self._when_item = when_item
        self._work = run_chunk_async if item_kind == "coroutine" else run_chunk
        if self._item_timeout is not None:
            chunksize = 1  # the timeout is each item's
        self._fixed_chunk = chunksize
        self._grow = 1  # (lazy items without a chunksize) the next chunk's size, doubling
        # Invariant (under _lock): None until a completed part was timed; then the least
        # seconds per item of a completed part (launch to end over its size, ≥ 0).
        self._item_seconds: float | None = None
        # Coroutine parts share one event loop: a part's time is mostly the others' turns, and
        # its "workers" are slots, not CPUs: their chunks stay the first wave's size.
        self._timed = item_kind != "coroutine"
        self._lock = threading.Lock()
        # Invariants (under _lock): _consumed items were taken from _items, indices 0.._consumed-1;
        # each is in exactly one of: _retry, a part in flight, _runs (ended), or not run
        # (only once _stopping or canceled). _in_flight counts parts started and not ended;
        # _live ⊆ those, by id, with their size. Only the one feeder (_feeding) touches _items.
        self._consumed = 0
        self._exhausted = False
        self._retry: deque[tuple[int, Any]] = deque()
        self._in_flight = 0
        self._live: dict[int, tuple[Task[Any], int]] = {}
        # Results by runs: a part's items are consecutive (first index -> their values, None where
        # one failed); _ended_count counts the items in _runs (failed ones too), _failures the failed.
        self._runs: dict[int, list[Any]] = {}
        self._ended_count = 0
        self._failures: dict[int, Exception] = {}
        self._stopping = False  # fail_fast hit, or the items' iterator raised: start nothing more
        self._items_error: BaseException | None = None
        self._ready: dict[int, Done] = {}  # ordered: outcomes waiting for an earlier index
        self._next_delivery = 0
        self._feeding = False
        self._feed_again = False
        self._finishing = False
        self._name = reserved.key if isinstance(reserved.key, str) else f"map({_name(fn)})"

    # -- reading state ----------------------------------------------------------------
    @property
    def total(self) -> int | None:
        """How many items (None while a lazy iterable has more)."""
        if self._known_total is not None:
            return self._known_total
        return self._consumed if self._exhausted else None

    @property
    def done_count(self) -> int:
        """Items ended (completed or failed)."""
        return self._ended_count

    @property
    def failed_count(self) -> int:
        return len(self._failures)

    # -- the lifecycle's calls (CompositeRunner) -------------------------------------
    def _start(self) -> None:
        if self._lifecycle.begin(self):
            self._update()
            self._feed()

    def _parts(self) -> list[Task[Any]]:
        with self._lock:
            return [part for part, _ in self._live.values()]

    def _resumed(self) -> None:
        self._feed()

    def _released(self) -> None:
        self._maybe_finish()

    # -- feeding ------------------------------------------------------------------------
    def _feed(self) -> None:
        """Start parts while there is room (any thread; one feeder at a time, the others ask it again)."""
        with self._lock:
            if self._feeding:
                self._feed_again = True
                return
            self._feeding = True
        try:
            again = True
            while again:
                with self._lock:
                    self._feed_again = False
                self._feed_once()
                with self._lock:
                    again = self._feed_again
                    if not again:
                        self._feeding = False
        except BaseException:
            with self._lock:
                self._feeding = False
            raise
        if self._known_total is None:
            self._update()  # "N+": how many were taken so far
        self._maybe_finish()

    def _feed_once(self) -> None:
        while True:
            with self._lock:
                if self._stopping or self._cancel_requested or self._paused or self._in_flight >= self._slots:
                    return
                retry = self._retry.popleft() if self._retry else None
                if retry is None and self._exhausted:
                    return
                self._in_flight += 1
            if retry is not None:
                first, items = retry[0], [retry[1]]
            else:
                first, items = self._take_chunk()
                if not items:
                    with self._lock:
                        self._in_flight -= 1
                    return
            self._launch(first, items)

    def _take_chunk(self) -> tuple[int, list[Any]]:
        """(the first one's index, the next items): a part's items are consecutive."""
        size = self._chunk_size()
        try:
            values = list(islice(self._items, size))
        except BaseException as error:  # the application's iterable raised: the batch fails with it
            with self._lock:
                self._stopping, self._exhausted = True, True
                self._items_error = error
            return 0, []
        with self._lock:
            first = self._consumed
            self._consumed += len(values)
            if len(values) < size:
                self._exhausted = True
        return first, values

    def _chunk_size(self) -> int:
        if self._fixed_chunk is not None:
            return self._fixed_chunk
        total = self._known_total
        if total is not None:
            with self._lock:
                remaining, per_item = total - self._consumed, self._item_seconds
            return guided_chunk(total, remaining, self._slots, self._workers, per_item)
        size, self._grow = self._grow, min(MAX_CHUNK, self._grow * 2)
        return size

    def _launch(self, first: int, items: list[Any]) -> None:
        """Start a part for items ``first``, ``first + 1``, …

        It may go ahead to a worker busy with this batch (``ProcessRunner``) while
        the other workers have at least as many items left to take meanwhile: a
        chunk waiting behind a longer one than expected then costs no worker its
        work; the last chunks wait for the first worker that is free.
        """
        count = len(items)
        with self._lock:
            if self._known_total is not None:
                ahead = self._known_total - self._consumed >= self._workers * count
            else:
                ahead = not self._exhausted
        try:
            part = start_part(
                self, self.item_kind, self._work, (self._fn, items), {},
                timeout=self._item_timeout, priority=self.priority,
                when_done=functools.partial(self._chunk_done, first, count, self._lifecycle.clock.now()),
                ahead=ahead,
            )
        except Exception as refused:  # refused at the call (e.g. an item that cannot be pickled)
            with self._lock:
                self._in_flight -= 1
                if count > 1:  # each item again, alone: only the bad one fails
                    self._retry.extendleft(reversed(list(enumerate(items, first))))
                    return
            self._record(first, [None], {0: refused})
            return
        with self._lock:
            if not part.is_final():
                self._live[part.id] = (part, count)
            stop, paused = self._stopping or self._cancel_requested, self._paused
        if stop:
            self._lifecycle.cancel(part)
        elif paused:
            self._lifecycle.pause(part)

    # -- endings ------------------------------------------------------------------------------
    def _chunk_done(self, first: int, count: int, launched: float, part: Task[Any]) -> None:
        """A part ended (in the thread that ended it): its items' outcomes, then feed on."""
        status = part.get_status()
        if status == "completed" and count and self._timed:
            per_item = max(0.0, self._lifecycle.clock.now() - launched) / count
            with self._lock:
                if self._item_seconds is None or per_item < self._item_seconds:
                    self._item_seconds = per_item
        values: list[Any] = []
        failures: dict[int, BaseException | None] | None = None
        if status == "completed":
            values, failures = part._result or ([], None)
        elif status == "failed":
            error = part._error
            values, failures = [None] * count, dict.fromkeys(range(count), error)
        elif not (self._cancel_requested or self._stopping):  # canceled by someone else (shutdown)
            values = [None] * count
            failures = {i: TaskError(f"item {first + i} was canceled before it ended") for i in range(count)}
        self._record(first, values, failures, part)
        self._feed()

    def _record(
        self, first: int, values: list[Any], failures: dict[int, BaseException | None] | None,
        part: Task[Any] | None = None,
    ) -> None:
        """Note the outcomes of items ``first``, ``first + 1``, … (of ``part``, now over): ``values``
        (None where one failed), ``failures`` (offset -> error, or None); queue their ``when_item``.

        Lock order: lifecycle → this → delivery. The part leaves the count in
        flight together with its outcomes: a finisher never sees one without the other.
        """
        deliver: list[Done] = []
        with self._lock:
            if part is not None:
                self._in_flight -= 1
                self._live.pop(part.id, None)
            first_failure = False
            if values:
                self._runs[first] = values
                self._ended_count += len(values)
            if failures:
                for offset, error in failures.items():
                    self._failures[first + offset] = _as_exception(error)
                if self._fail_fast and not self._stopping:
                    self._stopping = first_failure = True
            if self._when_item is not None and values:
                failed = failures or {}
                done = [(first + i, value, failed.get(i)) for i, value in enumerate(values)]
                if self._ordered:
                    for outcome in done:
                        self._ready[outcome[0]] = outcome
                    while self._next_delivery in self._ready:
                        deliver.append(self._ready.pop(self._next_delivery))
                        self._next_delivery += 1
                else:
                    deliver = done
            if deliver:  # (queued under _lock: two threads' items keep the order they were taken in)
                self._lifecycle.delivery.call(self._deliver_items, deliver)
        if first_failure:
            for part in self._parts():
                self._lifecycle.cancel(part)
        self._update()

    def _maybe_finish(self) -> None:
        with self._lock:
            if self._finishing or self._feeding or self._in_flight:
                return
            stopped = self._stopping or self._cancel_requested
            if not stopped and (self._retry or not self._exhausted):
                return
            self._finishing = True
            known = self._known_total
            # (stopped early: the known length, items never taken read None)
            total = self._consumed if self._exhausted or known is None else max(known, self._consumed)
            results: list[Any] = [None] * total
            for start, values in self._runs.items():
                results[start:start + len(values)] = values
            failures = dict(sorted(self._failures.items()))
            # ordered: items that ended after one that never will (stopped early) still get when_item
            late, self._ready = [self._ready[index] for index in sorted(self._ready)], {}
            if late:
                self._lifecycle.delivery.call(self._deliver_items, late)
        self._update()
        lifecycle = self._lifecycle
        if self._cancel_requested:
            lifecycle.conclude(self)
        elif self._items_error is not None:
            lifecycle.conclude(self, error=self._items_error)
        elif failures:
            first = next(iter(failures.values()))
            message = f"{len(failures)} of {total} items failed (the first: {error_text(first)})"
            lifecycle.conclude(self, error=BatchError(message, failures, results))
        else:
            lifecycle.conclude(self, results)

    def _deliver_items(self, done: list[Done]) -> None:
        """On the main thread: ``when_item(batch, index, result, error)`` for each (each guarded)."""
        handler = self._when_item
        for index, value, error in done:
            if handler is None or self._done_delivered:
                return
            try:
                handler(self, index, value, error)
            except Exception:
                logger.exception("tasker: when_item of %r raised for item %d (ignored)", self.name, index)

    # -- what the UI shows ----------------------------------------------------------------------
    def _take(self, part: Task[Any]) -> None:
        self._recount()

    def _update(self, part: Task[Any] | None = None) -> None:
        self._recount()
        self._show(part)

    def _recount(self) -> None:
        """The row's progress and message from the counts and the live parts' progress."""
        with self._lock:
            ended = self._ended_count
            failed = len(self._failures)
            running = sum(p._progress * size for p, size in self._live.values())
            known = self._known_total
            total = known if known is not None else self._consumed
            more = known is None and not self._exhausted
            # Written under the lock that the counts were read under: a thread that read older
            # counts cannot write its message over a newer one (two threads update at once:
            # the one feeding the batch, the one ending a part).
            self._progress = min(1.0, (ended + running) / total) if total else (1.0 if not more and ended else 0.0)
            self._message = f"{ended} of {total}{'+' if more else ''}" + (f" · {failed} failed" if failed else "")


def guided_chunk(total: int, remaining: int, slots: int, workers: int, per_item: float | None) -> int:
    """The next automatic chunk's size (see the module doc): ``remaining`` of ``total`` items not
    taken yet, ``per_item`` the least seconds per item seen (None: nothing timed yet)."""
    size = math.ceil(total / (slots * CHUNKS_PER_SLOT))  # the first wave's
    if per_item is not None and remaining >= 1:  # (a ``len()`` that told too few: first-wave chunks)
        guided = math.ceil(remaining / (workers * GUIDED_SPLIT))
        enough = size if per_item <= 0 else math.ceil(MIN_CHUNK_S / per_item)
        size = min(size, max(guided, enough))  # (never larger than the first wave's)
    return max(1, min(MAX_CHUNK, size))


def start_map(
    manager: Any,
    lifecycle: TaskLifecycle,
    fn: Callable[..., Any],
    items: Iterable[Any],
    kind: str,
    options: dict[str, Any],
) -> BatchTask[Any]:
    """``task_mgr.map``: check the call, make the batch, start it."""
    from ._chain import COMPOSITE_KINDS
    from ._reserved import take_reserved
    from ._runner import METHODS, RUNNERS

    if kind not in RUNNERS or kind in COMPOSITE_KINDS:
        known = ", ".join(k for k in RUNNERS if k not in COMPOSITE_KINDS)
        raise ValueError(f"map(kind=...) takes one of {known}, got {kind!r}")
    max_concurrency = options.pop("max_concurrency")
    chunksize = options.pop("chunksize")
    when_item = options.pop("when_item")
    ordered, fail_fast = options.pop("ordered"), options.pop("fail_fast")
    reserved = take_reserved(METHODS.get(kind, kind), kind, fn, options)
    if options:
        raise TypeError(f"map() got unexpected keyword arguments {sorted(options)} (fn gets only the item)")
    for name, value in (("max_concurrency", max_concurrency), ("chunksize", chunksize)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ValueError(f"map({name}=...) takes a positive int or None, got {value!r}")
    if when_item is not None and not callable(when_item):
        raise TypeError(f"when_item must be callable or None, got {when_item!r}")
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(f"map() needs an iterable of items (a list, a generator, ...), got {type(items).__name__}")
    try:
        known_total: int | None = len(items)  # type: ignore[arg-type]
    except TypeError:
        known_total = None
    lifecycle.runner(kind)  # at the call: a kind that cannot run here (UnsupportedPlatformError) says so now
    iterator = iter(items)
    pool = {"thread": lifecycle.options.max_threads, "process": lifecycle.options.max_processes}
    if max_concurrency is not None:
        slots = max_concurrency
    else:
        slots = pool[kind] * AHEAD if kind in pool else DEFAULT_SLOTS.get(kind, 8)
    workers = min(slots, pool[kind]) if kind in pool else slots
    batch: BatchTask[Any] = BatchTask(
        lifecycle, fn, iterator, known_total, kind, reserved, slots=slots, workers=workers,
        chunksize=chunksize, ordered=bool(ordered), fail_fast=bool(fail_fast), when_item=when_item,
    )
    return submit_composite(lifecycle, batch)  # type: ignore[return-value]


def _as_exception(error: BaseException | None) -> Exception:
    """An item's failure as an ``Exception`` (an ExceptionGroup holds no other kind)."""
    if isinstance(error, Exception):
        return error
    wrapped = TaskError(f"the item's work raised {error_text(error) if error is not None else 'nothing'}")
    wrapped.__cause__ = error
    return wrapped


def _name(fn: Callable[..., Any]) -> str:
    return str(getattr(getattr(fn, "func", fn), "__qualname__", None) or type(fn).__name__)


from ._public import public  # noqa: E402

public(BatchTask)
