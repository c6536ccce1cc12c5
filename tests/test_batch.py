"""Batches: ``map(fn, items)`` as one task, in every kind, with its bad inputs."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import stream_jobs
import tasker
from tasker import BatchError, BatchTask, TaskTimeoutError
from tasker.testing import FakeClock

from conftest import Harness

pytestmark = pytest.mark.timeout(120)


class Items:
    """What ``when_item`` received, and on which threads."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, Any, BaseException | None]] = []
        self.threads: set[threading.Thread] = set()

    def __call__(self, batch: BatchTask[Any], index: int, result: Any, error: BaseException | None) -> None:
        self.seen.append((index, result, error))
        self.threads.add(threading.current_thread())


def _map(h: Harness, kind: str, name: str, items: Any, **kwargs: Any) -> BatchTask[Any]:
    kwargs.setdefault("when_done", h.when_done)
    return h.mgr.map(stream_jobs.item_fn(kind, name), items, kind=kind, **kwargs)


def _running_parts(batch: BatchTask[Any], n: int) -> bool:
    return sum(p.get_status() == "running" for p in batch._parts()) >= n


def test_map_gives_the_results_in_input_order_as_one_row(harness: Harness, kind: str) -> None:
    items = Items()
    gate = threading.Event()

    def gated() -> Iterator[int]:  # (the batch stays live until its row was shown, however fast)
        for n in range(120):
            if n == 60:
                gate.wait(15)
            yield n

    # Whichever thread takes item 60 waits for the gate, and that may be the thread that calls
    # map(): it takes the first chunks, and goes on taking while parts end meanwhile (with the GIL
    # off, the loop ends a part of one item while the call starts the next). So map() is called
    # from a thread of the test's, and the row is checked while that call may still wait.
    made: list[BatchTask[Any]] = []
    caller = threading.Thread(
        target=lambda: made.append(_map(harness, kind, "square", gated(), when_item=items, max_concurrency=2)),
        name="map-caller", daemon=True,
    )
    caller.start()
    assert harness.pump_until(lambda: any(tasks for tasks, _ in harness.updates))
    shown = [task for task in harness.mgr if task.visible]
    gate.set()
    caller.join(15)
    assert not caller.is_alive() and len(made) == 1
    batch = made[0]
    assert shown == [batch], "a batch is one row"
    harness.finish(batch)
    assert batch.result() == [n * n for n in range(120)]
    assert (batch.total, batch.done_count, batch.failed_count) == (120, 120, 0)
    assert batch.kind == "batch" and batch.item_kind == kind and batch.get_message() == "120 of 120"
    assert batch.get_progress() == 1.0
    assert sorted(items.seen) == [(n, n * n, None) for n in range(120)]
    assert items.threads == {threading.main_thread()}
    rows = [tasks for tasks, _ in harness.updates if tasks]
    assert rows and all(tasks == [batch] for tasks in rows), "a batch is one row; its parts are not listed"


def test_ordered_when_item_comes_in_input_order(harness: Harness, kind: str) -> None:
    items = Items()
    batch = _map(harness, kind, "square", list(range(60)), when_item=items, ordered=True, chunksize=1)
    harness.finish(batch)
    assert [index for index, _, _ in items.seen] == list(range(60))


def test_items_are_consumed_lazily(harness: Harness, kind: str) -> None:
    pulled = itertools.count()
    taken: list[int] = []

    def endless() -> Iterator[int]:
        while True:
            taken.append(next(pulled))
            yield -1

    batch = _map(harness, kind, "until_canceled", endless(), max_concurrency=2)
    assert harness.pump_until(lambda: _running_parts(batch, 2))
    # Two parts: chunks of 1 then 2 items (a lazy iterable's chunks grow from one).
    assert len(taken) == 3 and batch.total is None and batch.get_message() == "0 of 3+"
    batch.cancel()
    harness.finish(batch)
    assert batch.get_status() == "canceled"


def test_failed_items_make_a_batch_error_and_the_rest_go_on(harness: Harness, kind: str) -> None:
    items = Items()
    batch = _map(harness, kind, "odd_fails", range(10), when_item=items)
    harness.finish(batch)
    assert batch.get_status() == "failed" and batch.failed_count == 5
    error = batch.exception()
    assert isinstance(error, BatchError) and isinstance(error, ExceptionGroup)
    assert sorted(error.failures) == [1, 3, 5, 7, 9]
    assert all(isinstance(e, ValueError) for e in error.exceptions)
    assert error.results == [0, None, 2, None, 4, None, 6, None, 8, None]
    assert batch.get_message() == "10 of 10 · 5 failed"
    assert len(items.seen) == 10 and sum(e is not None for _, _, e in items.seen) == 5
    with pytest.raises(BatchError):
        batch.result()


def test_fail_fast_cancels_the_rest_at_the_first_failure(harness: Harness, kind: str) -> None:
    # (two slots: the harness has two worker processes, and -1 holds one until canceled)
    batch = _map(harness, kind, "fails_on_one", [-1, 1, -2, -3], fail_fast=True, chunksize=1, max_concurrency=2)
    harness.finish(batch)
    error = batch.exception()
    assert isinstance(error, BatchError) and list(error.failures) == [1]
    assert error.results == [None, None, None, None] and batch.done_count == 1


def test_ordered_when_item_reaches_every_ended_item_when_fail_fast_stops_early(harness: Harness, kind: str) -> None:
    items = Items()
    # item 0 waits until canceled (never ends with a value), item 1 fails, item 2 ends: 1 and 2 still arrive
    batch = _map(harness, kind, "fails_on_one", [-1, 1, 2], fail_fast=True, ordered=True, chunksize=1,
                 max_concurrency=2, when_item=items)
    harness.finish(batch)
    assert isinstance(batch.exception(), BatchError)
    assert [index for index, _, _ in items.seen] == sorted(index for index, _, _ in items.seen)
    assert 1 in [index for index, _, _ in items.seen]


def test_a_timed_out_item_fails_alone(make_harness: Any, kind: str) -> None:
    clock = FakeClock()
    h = make_harness(clock=clock, cancel_grace_period=2.0)
    batch = _map(h, kind, "slow_if_negative", [1, -1, 2], timeout=2.0)
    assert h.pump_until(lambda: batch.done_count == 2 and _running_parts(batch, 1))
    clock.advance(2.5)  # past the item's timeout, within its grace period
    h.finish(batch)
    error = batch.exception()
    assert isinstance(error, BatchError) and list(error.failures) == [1]
    assert isinstance(error.failures[1], TaskTimeoutError) and error.results == [1, None, 2]


def test_cancel_pause_and_resume_act_on_every_item(harness: Harness, kind: str) -> None:
    batch = _map(harness, kind, "until_canceled", [-1] * 6, max_concurrency=2, chunksize=1)
    assert harness.pump_until(lambda: _running_parts(batch, 2))
    parts = batch._parts()
    assert batch.pause() and harness.pump_until(lambda: all(p.is_paused() for p in parts))
    assert batch.resume() and harness.pump_until(lambda: not any(p.is_paused() for p in parts))
    batch.cancel()
    harness.finish(batch)
    assert batch.get_status() == "canceled"
    assert harness.pump_until(lambda: all(p.get_status() == "canceled" for p in parts))


def test_replace_by_key_and_shutdown_stop_every_item(harness: Harness, kind: str) -> None:
    old = _map(harness, kind, "until_canceled", [-1] * 3, key="thumbs", chunksize=1)
    assert harness.pump_until(lambda: _running_parts(old, 1))
    old_parts = old._parts()
    new = _map(harness, kind, "until_canceled", [-1] * 3, key="thumbs", chunksize=1)
    harness.finish(old)
    assert old.get_status() == "canceled" and harness.pump_until(lambda: all(p.is_final() for p in old_parts))
    assert harness.pump_until(lambda: _running_parts(new, 1))
    harness.mgr.shutdown()
    harness.scheduler.pump()
    assert new.get_status() == "canceled" and all(p.is_final() for p in new._parts() + old_parts)


def test_a_when_item_that_raises_is_logged_and_the_batch_goes_on(
    harness: Harness, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[int] = []

    def when_item(batch: Any, index: int, result: Any, error: Any) -> None:
        seen.append(index)
        raise RuntimeError("handler broke")

    batch = _map(harness, kind, "square", range(8), when_item=when_item, chunksize=3)
    harness.finish(batch)
    assert batch.result() == [n * n for n in range(8)] and sorted(seen) == list(range(8))
    assert "handler broke" in caplog.text


def test_an_iterable_that_raises_fails_the_batch(harness: Harness, kind: str) -> None:
    def broken() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("the source broke")

    batch = _map(harness, kind, "square", broken(), chunksize=1)
    harness.finish(batch)
    assert batch.get_status() == "failed" and isinstance(batch.exception(), OSError)


def test_small_items_go_in_chunks(harness: Harness, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import tasker._core._batch as batch_module

    started: list[int] = []
    real = batch_module.start_part

    def counting(*args: Any, **kwargs: Any) -> Any:
        started.append(len(args[3][1]))  # (parent, kind, work, (fn, items), kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(batch_module, "start_part", counting)
    batch = _map(harness, kind, "square", range(2000))
    harness.finish(batch)
    assert batch.result()[-1] == 1999 * 1999
    assert sum(started) == 2000 and len(started) <= 2000 / 5  # (coroutines: 100 slots, so chunks of 5)


def test_bad_inputs_are_refused_at_the_call(harness: Harness) -> None:
    with pytest.raises(TypeError, match="needs an iterable of items"):
        harness.mgr.map(stream_jobs.square, 42, kind="thread")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="needs an iterable of items"):
        harness.mgr.map(stream_jobs.square, "abc", kind="thread")
    with pytest.raises(ValueError, match=r"map\(kind=\.\.\.\) takes one of"):
        harness.mgr.map(stream_jobs.square, [1], kind="chain")
    with pytest.raises(ValueError, match="max_concurrency"):
        harness.mgr.map(stream_jobs.square, [1], kind="thread", max_concurrency=0)
    with pytest.raises(TypeError, match="when_item must be callable"):
        harness.mgr.map(stream_jobs.square, [1], kind="thread", when_item=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected keyword"):
        harness.mgr.map(stream_jobs.square, [1], kind="thread", colour="red")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="needs an 'async def'"):
        harness.mgr.map(stream_jobs.square, [1], kind="coroutine")


def test_an_item_that_cannot_be_pickled_fails_alone(harness: Harness) -> None:
    items = [1, 2, threading.Lock(), 4, 5]
    batch = harness.mgr.map(stream_jobs.square, items, kind="process", when_done=harness.when_done)
    harness.finish(batch)
    error = batch.exception()
    assert isinstance(error, BatchError) and list(error.failures) == [2]
    assert "lock" in str(error.failures[2]).lower()
    assert error.results == [1, 4, None, 16, 25]


def test_an_empty_batch_completes_at_once(harness: Harness) -> None:
    batch = harness.mgr.map(stream_jobs.square, [], kind="thread", when_done=harness.when_done)
    harness.finish(batch)
    assert batch.result() == [] and batch.get_message() == "0 of 0"


def test_the_batch_is_awaitable_and_works_from_a_worker_thread(harness: Harness) -> None:
    import asyncio

    made: list[BatchTask[int]] = []

    def start(context: Any) -> None:
        made.append(harness.mgr.map(stream_jobs.square, range(5), kind="thread"))

    harness.finish(harness.mgr.run_thread(start, when_done=harness.when_done))

    async def wait() -> list[int]:
        return await made[0]

    assert asyncio.run(asyncio.wait_for(wait(), 60)) == [0, 1, 4, 9, 16]
    assert isinstance(tasker.BatchTask, type)


def test_a_kind_that_cannot_run_here_is_refused_at_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no process can start: map(kind=...) and then(kind=...) raise at the call, leaving no task."""
    from tasker import TaskManager, UnsupportedPlatformError
    from tasker._core._runner import RUNNERS
    from tasker.runners import process

    monkeypatch.setitem(RUNNERS, "process", process.refuse)
    with TaskManager(main_thread_scheduler="manual") as mgr:
        with pytest.raises(UnsupportedPlatformError):
            mgr.map(stream_jobs.square, range(3), kind="process")
        up = mgr.run_thread(stream_jobs.square, 3)
        with pytest.raises(UnsupportedPlatformError):
            up.then(stream_jobs.plus, kind="process")
        assert up.wait(30)
        assert list(mgr) == [] or all(t is up for t in mgr)


class _Flag:
    """A context stand-in for ``run_chunk``: a cancel flag and sub-contexts (no task)."""

    def __init__(self) -> None:
        self._flag = bytearray(1)
        self._base, self._span, self._total = 0.0, 1.0, 1.0

    def sub_context(self, base: float, span: float) -> _Flag:
        sub = _Flag()
        sub._base, sub._span = base, span
        return sub

    def is_cancelled(self) -> bool:
        return True


def test_a_chunk_travels_as_one_list_of_values_and_the_failures_by_offset() -> None:
    from tasker._core._batchwork import run_chunk

    def item(context: Any, value: int) -> int:
        if value % 3 == 0:
            raise ValueError(value)
        return value * 10

    values, failures = run_chunk(_Flag(), item, [1, 2, 3, 4, 6])
    assert values == [10, 20, None, 40, None]
    assert failures is not None and sorted(failures) == [2, 4]
    assert [str(failures[2]), str(failures[4])] == ["3", "6"]
    assert run_chunk(_Flag(), item, [1, 2]) == ([10, 20], None)  # none failed: no dict at all
    assert run_chunk(_Flag(), item, [4]) == ([40], None)
    alone = run_chunk(_Flag(), item, [3])
    assert alone[0] == [None] and isinstance(alone[1] and alone[1][0], ValueError)


def test_a_canceled_chunk_gives_the_values_of_the_items_that_ran() -> None:
    from tasker._core._batchwork import run_chunk

    context = _Flag()
    seen: list[int] = []

    def item(sub: Any, value: int) -> int:
        seen.append(value)
        if value == 2:
            context._flag[0] = 1  # canceled while this item runs: the chunk stops after it
        return value

    assert run_chunk(context, item, [1, 2, 3, 4]) == ([1, 2], None)
    assert seen == [1, 2]


def test_guided_chunks_shrink_toward_the_end_and_short_items_go_in_large_ones() -> None:
    from tasker._core._batch import MAX_CHUNK, MIN_CHUNK_S, guided_chunk

    # Nothing timed yet: the first wave, two chunks per slot.
    assert guided_chunk(200, 200, 4, 2, None) == 25
    assert guided_chunk(10**6, 10**6, 4, 2, None) == MAX_CHUNK
    # Long items (20 ms each): each chunk a quarter of what remains, down to one item.
    remaining, sizes = 100, []
    while remaining:
        size = guided_chunk(200, remaining, 4, 2, 0.02)
        assert 1 <= size <= max(1, -(-remaining // 4)), "at most a quarter of a worker's share of what remains"
        sizes.append(size)
        remaining -= size
    assert sizes[0] == 25 and sizes == sorted(sizes, reverse=True) and sizes[-3:] == [1, 1, 1]
    # Short items: at least MIN_CHUNK_S of work, never more than the first wave's size.
    assert guided_chunk(10_000, 3000, 4, 2, MIN_CHUNK_S / 1000) == 1000
    assert guided_chunk(10_000, 1000, 4, 2, MIN_CHUNK_S / 1000) == 1000
    assert guided_chunk(10_000, 5000, 4, 2, MIN_CHUNK_S / 10_000) == 1250
    assert guided_chunk(10_000, 100, 4, 2, 0.0) == 1250  # (too short to time: the first wave's)
    assert guided_chunk(10**7, 10**5, 4, 2, 0.0) == MAX_CHUNK
    assert guided_chunk(800, -5, 4, 2, 0.02) == 100  # (more items than len() said: first-wave chunks)


class _TickingClock(FakeClock):
    """A fake clock that moves 1 s each time it is read: every part looks long."""

    def now(self) -> float:
        with self._lock:
            self._now += 1.0
            return self._now


def test_a_map_of_long_items_ends_in_small_chunks(make_harness: Any, kind: str, monkeypatch: Any) -> None:
    import tasker._core._batch as batch_module

    started: list[int] = []
    real = batch_module.start_part

    def counting(*args: Any, **kwargs: Any) -> Any:
        started.append(len(args[3][1]))  # (parent, kind, work, (fn, items), kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(batch_module, "start_part", counting)
    h = make_harness(clock=_TickingClock())
    items = Items()
    batch = _map(h, kind, "square", range(400), max_concurrency=2, when_item=items, ordered=True)
    h.finish(batch)
    assert batch.result() == [n * n for n in range(400)]
    assert [index for index, _, _ in items.seen] == list(range(400))
    assert sum(started) == 400 and started[0] == 100  # (the first wave: 400 / (2 slots × 2))
    if kind == "coroutine":  # (one event loop: chunks keep the first wave's size)
        assert started == [100] * 4
    else:  # guided: each later chunk at most a quarter of what remained, the last ones of one item
        assert started == sorted(started, reverse=True) and started[-3:] == [1, 1, 1]


def _sends(monkeypatch: Any) -> list[tuple[Any, bool]]:
    """(task, sent ahead?) for every task the process pool sends to a worker, in order."""
    from tasker.runners.process._dispatch import Dispatcher

    sent: list[tuple[Any, bool]] = []
    real = Dispatcher._send_task

    def spy(self: Any, worker: Any, task: Any, slot: int, ahead: bool) -> None:
        sent.append((task, ahead))
        real(self, worker, task, slot, ahead)

    monkeypatch.setattr(Dispatcher, "_send_task", spy)
    return sent


def test_a_process_batch_sends_its_next_chunk_ahead_to_its_busy_worker(make_harness: Any, monkeypatch: Any) -> None:
    """Fixed: chunks of long items waited in the pool's queue until their worker had sent the
    previous chunk's results and the parent had answered (the pool sends ahead only tasks that
    are short on average): each chunk cost the worker a round trip, idle. A batch's next chunk now
    goes ahead to a worker running a chunk of the same batch, whatever the items' length."""
    sent = _sends(monkeypatch)
    h = make_harness(max_processes=1, spare_processes=0)
    items = Items()
    batch = h.mgr.map(stream_jobs.nap_item, [0.03] * 6, kind="process", chunksize=1, when_item=items,
                      ordered=True, when_done=h.when_done)
    h.finish(batch)
    assert batch.result() == [0.03] * 6
    assert [index for index, _, _ in items.seen] == list(range(6)), "when_item once per item, in order"
    ahead = [was_ahead for task, was_ahead in sent if task._parent is batch]
    # (2 slots on 1 worker: the first chunk goes to the idle worker; each later one is launched by
    # the reader thread as the one before it ends, while the promoted one runs: sent ahead — but the
    # last, with no item left for another worker meanwhile: it waits for the first free worker)
    assert ahead == [False, True, True, True, True, False]


def test_a_batch_chunk_is_not_sent_ahead_behind_another_task(make_harness: Any, monkeypatch: Any) -> None:
    """Behind a long task of the app's a chunk would wait out that task: it stays in the pool's queue."""
    sent = _sends(monkeypatch)
    h = make_harness(max_processes=1, spare_processes=0)
    blocker = h.start("process", "until_canceled")
    assert h.pump_until(blocker.is_running)
    batch = _map(h, "process", "square", [1, 2, 3, 4], chunksize=1)
    worker = blocker.handle
    parts = batch._parts()
    assert len(parts) == 2 and all(p.get_status() == "pending" and p.handle is None for p in parts)
    assert worker.next is None and not [task for task, _ in sent if task._parent is batch]
    blocker.cancel()
    h.finish(batch)
    assert batch.result() == [1, 4, 9, 16]
    # (then behind its own chunks, but for the last: nothing left for another worker meanwhile)
    assert [ahead for task, ahead in sent if task._parent is batch] == [False, True, True, False]


class _HeldAfterRelease:
    """The batch's lock, but the given thread, once it has released it, waits for ``go``."""

    def __init__(self, lock: Any, held: threading.Thread, released: threading.Event, go: threading.Event) -> None:
        self._lock, self._held, self._released, self._go = lock, held, released, go

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *_: object) -> None:
        self._lock.release()
        if threading.current_thread() is self._held and not self._released.is_set():
            self._released.set()
            assert self._go.wait(15), "the test never let the held thread go on"


def test_a_batchs_row_shows_its_parts_last_report_not_only_its_first(harness: Harness) -> None:
    # A part forwards its first report after an emission; the row must still show the
    # part's later reports made before the next emission (0.25, then 0.5, then a wait).
    go, reported, gate = threading.Event(), threading.Event(), threading.Event()

    def item(context: Any, value: int) -> int:
        assert go.wait(30)
        context.set_progress(0.25)
        context.set_progress(0.5)  # right after: no emission between the two
        reported.set()
        assert gate.wait(30)
        return value

    batch = harness.mgr.map(item, [7], kind="thread", when_done=harness.when_done)
    assert harness.pump_until(lambda: bool(harness.updates) and _running_parts(batch, 1))
    harness.scheduler.pump()
    go.set()
    assert reported.wait(30)  # both reports made, the main thread idle meanwhile
    assert harness.pump_until(lambda: batch.get_progress() == 0.5, 10), batch.get_progress()
    assert harness.updates[-1] == ([batch], 0.5)
    gate.set()
    harness.finish(batch)
    assert batch.result() == [7]


def test_a_late_update_never_shows_an_older_count_than_the_last_one(harness: Harness) -> None:
    # Two threads update a batch's row at once (the app's thread feeding it, the pool's
    # ending a part): the one that read the counts first must not write its (older) message
    # over the newer one. Here the first reader is held right after it read them.
    batch = _map(harness, "thread", "square", [1, 2, 3])
    harness.finish(batch)
    assert batch.get_message() == "3 of 3"
    released, go = threading.Event(), threading.Event()
    batch._ended_count = 1  # (an older state: what the first reader sees)
    reader = threading.Thread(target=batch._update, name="first-reader")
    batch._lock = _HeldAfterRelease(batch._lock, reader, released, go)  # type: ignore[assignment]
    reader.start()
    assert released.wait(15), "the first reader never read the counts"
    batch._ended_count = 3  # (the newer state, shown by a second update)
    batch._update()
    go.set()
    reader.join(15)
    assert not reader.is_alive()
    assert batch.get_message() == "3 of 3" and batch.get_progress() == 1.0
