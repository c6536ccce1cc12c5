"""The worker's outbox of a generator's values (``runners._remote._yields``): order, batches,
back-pressure and errors, with fake channels (no process; every wait bounded, none timed)."""

from __future__ import annotations

import pickle
import random
import threading
from typing import Any

import pytest

from tasker.runners._remote._yields import MAX_BATCH, Unsendable, YieldOutbox

pytestmark = pytest.mark.timeout(60)

_made: list[YieldOutbox] = []


class _Outbox(YieldOutbox):
    """A YieldOutbox whose sender thread the test ends (``_close_all``)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        _made.append(self)


@pytest.fixture(autouse=True)
def _close_all() -> Any:
    yield
    while _made:
        outbox = _made.pop()
        outbox.close()
        assert outbox._thread is None or not outbox._thread.is_alive(), "the sender thread did not end"


class Wire:
    """What went out: single values and batches, in order; ``pickle``s like the transport."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.batches: list[int] = []

    def one(self, value: Any) -> None:
        pickle.dumps(value)
        self.sent.append(value)

    def many(self, values: list[Any]) -> None:
        pickle.dumps(values)
        self.batches.append(len(values))
        self.sent.extend(values)


def test_values_keep_their_order_whatever_the_channel_says() -> None:
    wire = Wire()
    rng = random.Random(7)
    outbox = _Outbox(wire.one, wire.many, lambda: rng.random() < 0.3)
    for i in range(50_000):
        outbox.put(i)
    outbox.flush()
    assert wire.sent == list(range(50_000))
    assert wire.batches, "the channel was often full, yet no value went in a batch"


def test_while_the_channel_keeps_up_each_value_goes_at_once_in_the_callers_thread() -> None:
    wire = Wire()
    outbox = _Outbox(wire.one, wire.many, lambda: True)
    for i in range(100):
        outbox.put(i)
        assert wire.sent[-1] == i  # written before put returned
    assert wire.batches == [] and outbox._thread is None


def test_a_channel_that_cannot_tell_sends_each_value_at_once() -> None:
    wire = Wire()
    outbox = _Outbox(wire.one, wire.many, None)
    outbox.put("a")
    assert wire.sent == ["a"] and outbox._thread is None


def test_the_generator_waits_once_max_batch_values_wait() -> None:
    wire = Wire()
    release = threading.Event()
    started = threading.Event()

    def blocked_many(values: list[Any]) -> None:
        started.set()
        assert release.wait(30)
        wire.many(values)

    def blocked_one(value: Any) -> None:
        started.set()
        assert release.wait(30)
        wire.one(value)

    outbox = _Outbox(blocked_one, blocked_many, lambda: False)
    outbox.put(-1)  # the sender thread takes it and blocks in the write
    assert started.wait(30)
    producer = threading.Thread(target=lambda: [outbox.put(i) for i in range(MAX_BATCH + 1)], daemon=True)
    producer.start()

    def waiting() -> bool:
        with outbox._cv:
            return len(outbox._buffer) == MAX_BATCH

    for _ in range(3000):  # (bounded poll for the state, not a timing assertion)
        if waiting():
            break
        threading.Event().wait(0.01)
    assert waiting(), "the buffer never filled"
    producer.join(0.2)
    assert producer.is_alive(), "the generator went on past MAX_BATCH buffered values"
    release.set()
    producer.join(30)
    assert not producer.is_alive()
    outbox.flush()
    assert wire.sent == list(range(-1, MAX_BATCH + 1))


def test_a_value_that_cannot_be_pickled_in_a_batch_is_named_and_the_ones_before_it_go() -> None:
    wire = Wire()
    release = threading.Event()

    def one(value: Any) -> None:
        assert release.wait(30)
        wire.one(value)

    outbox = _Outbox(one, wire.many, lambda: False)
    outbox.put(0)
    for value in (1, 2, threading.Lock(), 4):
        outbox.put(value)
    release.set()
    with pytest.raises(Unsendable) as caught:
        outbox.flush()
    assert caught.value.value_type == "lock" and isinstance(caught.value.__cause__, TypeError)
    assert wire.sent == [0, 1, 2]  # the lock's batch went again value by value up to it


def test_a_channel_that_breaks_in_the_sender_thread_raises_in_the_generators_thread() -> None:
    def broken(values: Any) -> None:
        raise BrokenPipeError("the app is gone")

    outbox = _Outbox(broken, broken, lambda: False)
    outbox.put(1)
    with pytest.raises(BrokenPipeError):
        outbox.flush()
    outbox._writable = lambda: False
    outbox.put(2)
    with pytest.raises(BrokenPipeError):
        for _ in range(1000):  # the next put or flush raises it
            outbox.put(3)
        outbox.flush()


class GatedWire(Wire):
    """Each write waits for its own gate (write n opens with ``gates[n]``); ``started`` counts them."""

    def __init__(self, gates: int) -> None:
        super().__init__()
        self.gates = [threading.Event() for _ in range(gates)]
        self.started = 0

    def _wait(self) -> None:
        number = self.started
        self.started += 1
        if number < len(self.gates):
            assert self.gates[number].wait(30), f"write {number} was never let through"

    def one(self, value: Any) -> None:
        self._wait()
        super().one(value)

    def many(self, values: list[Any]) -> None:
        self._wait()
        super().many(values)


def _until(condition: Any) -> bool:
    for _ in range(3000):  # (a bounded poll for a state, not a timing assertion)
        if condition():
            return True
        threading.Event().wait(0.01)
    return False


def test_a_flush_waits_for_the_values_put_before_it_not_for_later_ones() -> None:
    wire = GatedWire(3)
    outbox = _Outbox(wire.one, wire.many, lambda: False)
    outbox.put(0)  # write 0: [0], held
    assert _until(lambda: wire.started == 1)
    outbox.put(1)
    outbox.put(2)
    flushed = threading.Event()
    flusher = threading.Thread(target=lambda: (outbox.flush(), flushed.set()), daemon=True)
    flusher.start()  # (an event sent by another thread of the task: it waits for 0, 1, 2)
    wire.gates[0].set()
    assert _until(lambda: wire.started == 2)  # write 1: [1, 2], held
    outbox.put(3)  # buffered behind it: write 2 will be held for good
    assert not flushed.is_set()
    wire.gates[1].set()
    assert flushed.wait(30), "the flush waited for a value put after it"
    assert wire.sent == [0, 1, 2]
    wire.gates[2].set()
    outbox.flush()
    assert wire.sent == [0, 1, 2, 3]


def test_an_error_is_raised_once_then_the_outbox_serves_the_next_task() -> None:
    wire = Wire()
    outbox = _Outbox(wire.one, wire.many, lambda: False)
    outbox.put(threading.Lock())
    with pytest.raises(Unsendable):  # at the flush (the generator's end) or at the next put
        for value in range(10_000):
            outbox.put(value)
        outbox.flush()
    outbox.flush()  # nothing pending, no error left
    outbox.put("next task")
    outbox.flush()
    assert wire.sent[-1] == "next task"


def test_close_ends_the_sender_thread_after_what_was_buffered() -> None:
    wire = Wire()
    outbox = YieldOutbox(wire.one, wire.many, lambda: False)
    for i in range(1000):
        outbox.put(i)
    thread = outbox._thread
    assert thread is not None
    outbox.close()
    assert not thread.is_alive()
    assert wire.sent == list(range(1000))
