"""Generator tasks: each ``yield`` reaches ``when_yield`` on the main thread, in order.

Thread, coroutine and process kinds here (cluster: tests/cluster); every check
is on events, files and counts, none on time. A process generator's ``finally``
writes a marker file (another process cannot set this one's event).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest

import stream_jobs
import tasker
from tasker import Task, TaskTimeoutError

from conftest import Harness, wait_for

pytestmark = pytest.mark.timeout(60)

STREAM_KINDS = ("thread", "coroutine", "process")


@pytest.fixture(params=STREAM_KINDS)
def skind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Seen:
    """What ``when_yield`` received, and on which thread."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.threads: set[threading.Thread] = set()
        self.done_at: int | None = None

    def when_yield(self, task: Task[Any], value: Any) -> None:
        self.values.append(value)
        self.threads.add(threading.current_thread())

    def when_done(self, task: Task[Any]) -> None:
        self.done_at = len(self.values)


def _in_function(thread_id: int | None, name: str) -> bool:
    frame = sys._current_frames().get(thread_id or -1)
    while frame is not None:
        if frame.f_code.co_name == name:
            return True
        frame = frame.f_back
    return False


def _waits_in(task: Task[Any], name: str) -> bool:
    """Is the task's function held in ``name`` (a thread's stack, or its asyncio task's)?"""
    handle = task.handle
    if isinstance(handle, threading.Thread):
        return _in_function(handle.ident, name)
    if handle is None:
        return False
    return any(frame.f_code.co_name == name for frame in _async_frames(handle))


def _async_frames(handle: Any) -> list[Any]:
    frames = []
    coro = handle.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
        if frame is not None:
            frames.append(frame)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
    return frames


def test_every_value_arrives_in_order_on_the_main_thread_then_the_result(harness: Harness, skind: str) -> None:
    seen = Seen()
    task = stream_jobs.start(
        harness.mgr, skind, "count_up", 500, when_yield=seen.when_yield, when_done=harness.when_done
    )
    harness.finish(task)
    assert seen.values == list(range(500))
    assert seen.threads == {threading.main_thread()}
    assert task.get_status() == "completed"
    assert task.result() == (None if skind == "coroutine" else "counted 500")


def test_values_come_before_when_done(harness: Harness, skind: str) -> None:
    seen = Seen()
    task = stream_jobs.start(harness.mgr, skind, "count_up", 50, when_yield=seen.when_yield, when_done=seen.when_done)
    assert harness.pump_until(lambda: seen.done_at is not None)
    assert seen.done_at == 50 and task.is_final()


def _a_thread_waits_in(name: str) -> bool:
    return any(_in_function(thread.ident, name) for thread in threading.enumerate())


def test_a_producer_that_outruns_the_ui_waits_for_room(make_harness: Any, skind: str) -> None:
    h = make_harness(max_pending_events=5)
    seen = Seen()
    task = stream_jobs.start(h.mgr, skind, "count_up", 40, when_yield=seen.when_yield, when_done=h.when_done)
    if skind == "process":  # the worker's reader waits for room (and the worker, on its full socket)
        assert wait_for(lambda: _a_thread_waits_in("_enqueue")), "the reader never waited for room"
    else:
        wait_name = "_enqueue" if skind == "thread" else "room"
        assert wait_for(lambda: _waits_in(task, wait_name)), "the producer never waited for room"
    assert seen.values == []  # nothing pumped: the values wait, the producer too
    h.finish(task)
    assert seen.values == list(range(40))


def _closed(marker: Any) -> bool:
    return stream_jobs.CLOSED.is_set() or marker.exists()


def test_cancel_closes_the_generator_at_its_next_yield(harness: Harness, skind: str, tmp_path: Any) -> None:
    stream_jobs.CLOSED.clear()
    marker = tmp_path / "closed"
    seen = Seen()

    def when_yield(task: Task[Any], value: Any) -> None:
        seen.when_yield(task, value)
        if value == 3:
            task.cancel()

    task = stream_jobs.start(
        harness.mgr, skind, "forever", str(marker), when_yield=when_yield, when_done=harness.when_done
    )
    harness.finish(task)
    assert _closed(marker), "the generator's finally did not run"
    assert task.get_status() == "canceled"
    assert seen.values[:4] == [0, 1, 2, 3]


def _pausable_stream(make_harness: Any, skind: str) -> tuple[Any, Seen]:
    """A harness with room for 5 values in flight, the stream jobs' markers reset, and a ``Seen``."""
    if skind == "process":
        pytest.skip("a paused process task's worker is stopped (SIGSTOP): tests/test_pause_process.py")
    stream_jobs.CLOSED.clear()
    stream_jobs.YIELDED[0] = 0
    return make_harness(max_pending_events=5), Seen()


def test_pause_holds_the_generator_at_its_next_yield(make_harness: Any, skind: str) -> None:
    h, seen = _pausable_stream(make_harness, skind)
    yielded_at_pause: list[int] = []

    def when_yield(task: Task[Any], value: Any) -> None:
        seen.when_yield(task, value)
        if value == 2:
            task.pause()
            yielded_at_pause.append(stream_jobs.YIELDED[0])

    task = stream_jobs.start(h.mgr, skind, "forever", when_yield=when_yield, when_done=h.when_done)
    hold = "_pause_point" if skind == "thread" else "_checkpoint"
    assert h.pump_until(lambda: _waits_in(task, hold)), "the paused generator was not held"
    h.scheduler.pump()
    held = len(seen.values)
    h.scheduler.pump()
    assert len(seen.values) == held  # what was in flight, then nothing
    # Held at the yield after the last value delivered, and nothing yielded after pause()
    # returned was delivered. (How many values were in flight then is not fixed: values
    # the back-pressure let through, and one that went past the pause check before pause()
    # and then waited for room: test_a_value_yielded_before_pause_is_delivered.)
    assert stream_jobs.YIELDED[0] == held + 1
    assert held <= yielded_at_pause[0]
    assert task.is_paused() and task.get_status() == "running" and not stream_jobs.CLOSED.is_set()
    assert task.resume()
    assert h.pump_until(lambda: len(seen.values) > held + 10), "the resumed generator did not go on"
    task.cancel()
    h.finish(task)
    assert seen.values == list(range(len(seen.values))) and stream_jobs.CLOSED.is_set()


def _holds_for_room(task: Task[Any], at_least: int) -> int | None:
    """The value the task's generator driver holds while it waits for room, if ``>= at_least``."""
    handle = task.handle
    if isinstance(handle, threading.Thread):
        frame = sys._current_frames().get(handle.ident or -1)
        frames = []
        while frame is not None:
            frames.append(frame)
            frame = frame.f_back
        waits = any(f.f_code.co_name == "_enqueue" for f in frames) and frames[0].f_code.co_name == "wait"
    else:
        frames = _async_frames(handle) if handle is not None else []
        waits = any(f.f_code.co_name == "room" for f in frames)
    for frame in frames:
        if frame.f_code.co_name in ("drive", "drive_async") and waits:
            value = frame.f_locals.get("value")
            return value if isinstance(value, int) and value >= at_least else None
    return None


def test_a_value_yielded_before_pause_is_delivered_then_the_generator_is_held(
    make_harness: Any, skind: str
) -> None:
    # The interleaving a GIL makes rare: the generator yields a value, which goes past the
    # pause check and waits for room; then the app pauses. That value was yielded before the
    # pause: it is delivered, and the generator is held at its next yield.
    h, seen = _pausable_stream(make_harness, skind)
    waiting: list[int] = []

    def when_yield(task: Task[Any], value: Any) -> None:
        seen.when_yield(task, value)
        if value == 2:
            # Past 2 + 5 values, the producer cannot post before the main thread takes more.
            assert wait_for(lambda: _holds_for_room(task, 2 + 5 + 1) is not None), "it never waited for room"
            waiting.append(_holds_for_room(task, 2 + 5 + 1) or -1)
            task.pause()

    task = stream_jobs.start(h.mgr, skind, "forever", when_yield=when_yield, when_done=h.when_done)
    hold = "_pause_point" if skind == "thread" else "_checkpoint"
    assert h.pump_until(lambda: _waits_in(task, hold)), "the paused generator was not held"
    h.scheduler.pump()
    assert seen.values == list(range(waiting[0] + 1))  # the waiting value came, then nothing
    assert stream_jobs.YIELDED[0] == waiting[0] + 2  # held at the yield after it
    task.cancel()
    h.finish(task)
    assert stream_jobs.CLOSED.is_set()


def test_a_generator_that_raises_mid_stream_fails_after_its_values(harness: Harness, skind: str) -> None:
    seen = Seen()
    task = stream_jobs.start(
        harness.mgr, skind, "breaks_after", 3, when_yield=seen.when_yield, when_done=seen.when_done
    )
    assert harness.pump_until(lambda: seen.done_at is not None)
    assert seen.values == [0, 1, 2] and seen.done_at == 3
    assert task.get_status() == "failed"
    assert isinstance(task.exception(), ValueError) and "broke after 3" in str(task.exception())


def test_a_when_yield_that_raises_is_logged_and_the_stream_goes_on(
    harness: Harness, skind: str, caplog: pytest.LogCaptureFixture
) -> None:
    seen = Seen()

    def when_yield(task: Task[Any], value: Any) -> None:
        seen.when_yield(task, value)
        if value == 1:
            raise RuntimeError("handler broke")

    task = stream_jobs.start(harness.mgr, skind, "count_up", 5, when_yield=when_yield, when_done=harness.when_done)
    harness.finish(task)
    assert seen.values == [0, 1, 2, 3, 4] and task.get_status() == "completed"
    assert "handler broke" in caplog.text


def test_a_timed_out_generator_is_closed_and_fails(make_harness: Any, skind: str, tmp_path: Any) -> None:
    from tasker.testing import FakeClock

    clock = FakeClock()
    h = make_harness(clock=clock)
    stream_jobs.CLOSED.clear()
    seen = Seen()

    def when_yield(task: Task[Any], value: Any) -> None:
        seen.when_yield(task, value)
        if value == 1:
            clock.advance(2.5)  # past the timeout (2 s), within its grace period (2 s more)

    marker = tmp_path / "closed"
    task = stream_jobs.start(
        h.mgr, skind, "forever", str(marker), when_yield=when_yield, timeout=2.0, when_done=h.when_done
    )
    h.finish(task)
    assert _closed(marker) and task.get_status() == "failed"
    assert isinstance(task.exception(), TaskTimeoutError)


def test_without_when_yield_the_values_are_dropped_and_the_result_kept(harness: Harness) -> None:
    task = harness.mgr.run_thread(stream_jobs.count_up, 20, when_done=harness.when_done)
    harness.finish(task)
    assert task.result() == "counted 20"


def test_when_yield_is_reserved_and_checked() -> None:
    assert "when_yield" in tasker.RESERVED_KWARGS
    with tasker.TaskManager(main_thread_scheduler="manual") as mgr:
        with pytest.raises(TypeError, match="when_yield must be callable"):
            mgr.run_thread(stream_jobs.count_up, 3, when_yield="not callable")
        with pytest.raises(TypeError, match="use add_coroutine"):
            mgr.run_thread(stream_jobs.count_up_async, 3)
        with pytest.raises(TypeError, match="needs an 'async def' function"):
            mgr.add_coroutine(stream_jobs.count_up, 3)


def test_a_kind_that_does_not_stream_refuses_a_generator_at_the_call() -> None:
    from tasker._core._reserved import STREAMING_KINDS

    with (
        tasker.TaskManager(main_thread_scheduler="manual") as mgr,
        pytest.raises(TypeError, match="cannot stream the generator function"),
    ):
        assert "fake" not in STREAMING_KINDS
        mgr._submit("fake", stream_jobs.count_up, (3,), {})


def test_values_of_a_mebibyte_and_more_arrive_whole_from_a_process(harness: Harness) -> None:
    from conftest import memfd_maps

    seen = Seen()
    nbytes = 2 * 1024 * 1024
    task = harness.mgr.run_process(
        stream_jobs.big_values, 3, nbytes, when_yield=seen.when_yield, when_done=harness.when_done
    )
    harness.finish(task)
    assert task.result() == 3
    assert [(len(v), v[:1], v[-1:]) for v in seen.values] == [(nbytes, bytes([i]), bytes([i])) for i in range(3)]
    seen.values.clear()
    assert memfd_maps() == 0, "a shared-memory segment outlived its value"


def test_a_value_that_cannot_be_sent_fails_the_process_task_after_the_others(harness: Harness) -> None:
    seen = Seen()
    task = harness.mgr.run_process(stream_jobs.yields_a_lock, when_yield=seen.when_yield, when_done=seen.when_done)
    assert harness.pump_until(lambda: seen.done_at is not None)
    assert seen.values == [1] and task.get_status() == "failed"
    assert "lock" in str(task.exception()) and "cannot be sent" in str(task.exception())


#: More small values than a worker's socket holds unread: its sends would block.
MANY = 20_000


def _spy_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the YIELDS messages the parent receives (several values in one)."""
    from tasker.runners._remote._relay import Relay

    sizes: list[int] = []
    original = Relay.yielded_many

    def spy(self: Relay, task: Task[Any], values: list[Any]) -> None:
        sizes.append(len(values))
        original(self, task, values)

    monkeypatch.setattr(Relay, "yielded_many", spy)
    return sizes


def test_a_process_generator_batches_its_values_while_the_ui_is_behind(
    make_harness: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = _spy_batches(monkeypatch)
    h = make_harness(max_pending_events=5)
    seen = Seen()
    task = h.mgr.run_process(stream_jobs.count_up, MANY, when_yield=seen.when_yield, when_done=seen.when_done)
    assert wait_for(lambda: _a_thread_waits_in("_enqueue")), "the reader never waited for room"
    # the bound holds with batches too: at most max_pending_events values wait for the main thread
    assert h.mgr._lifecycle.delivery._events_queued <= 5
    assert h.pump_until(lambda: seen.done_at is not None)
    assert seen.values == list(range(MANY)) and seen.done_at == MANY
    assert task.result() == f"counted {MANY}"
    assert batches and max(batches) > 1, "every value came alone although the UI was behind"


def test_a_value_that_cannot_be_sent_in_a_batch_fails_the_task_after_the_values_before_it(
    make_harness: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = _spy_batches(monkeypatch)
    h = make_harness(max_pending_events=5)
    seen = Seen()
    task = h.mgr.run_process(
        stream_jobs.many_then_a_lock, MANY, when_yield=seen.when_yield, when_done=seen.when_done
    )
    assert wait_for(lambda: _a_thread_waits_in("_enqueue")), "the reader never waited for room"
    assert h.pump_until(lambda: seen.done_at is not None)
    assert batches, "the values never went in batches: the lock was not in one"
    assert seen.values == list(range(MANY)) and task.get_status() == "failed"
    message = str(task.exception())
    assert "of type lock" in message and "cannot be sent" in message
