"""The app's side of the event channel without Dask: order, early events, gaps, acks.

A fake runner stands in for ClusterRunner (what the events thread calls back)
and a recording lifecycle for the manager's; the events thread is real.
"""

from __future__ import annotations

import logging
import threading
import types
from typing import Any

import pytest

from tasker._core._errors import TaskError, WorkerDiedError
from tasker.runners.cluster import _forward
from tasker.runners.cluster._events import pack
from tasker.runners.cluster._forward import Forwarder, Slot
from tasker.runners.cluster._worker import to_bytes

from conftest import wait_for


class Lifecycle:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.ended = threading.Event()

    def begin(self, task: Any) -> bool:
        self.calls.append(("begin",))
        return True

    def report(self, task: Any, progress: float, message: str | None) -> None:
        self.calls.append(("report", progress, message))

    def post_event(self, task: Any, name: str, data: Any) -> None:
        self.calls.append(("event", data))

    def conclude(self, task: Any, result: Any = None, error: BaseException | None = None) -> bool:
        self.calls.append(("conclude", result, error))
        task.final = True
        self.ended.set()
        return True


class Task:
    def __init__(self) -> None:
        self.handle = Slot("t-1", "key", window=4)
        self.final = False
        self.name = "t"
        self.numbers: dict[str, Any] = {}

    def is_final(self) -> bool:
        return self.final

    def is_paused(self) -> bool:
        return False


class Runner:
    topic = "tasker-test"

    def __init__(self, lifecycle: Any) -> None:
        self.lifecycle = lifecycle
        self.tasks: dict[str, Any] = {}
        self.ended: dict[str, Slot] = {}
        self.acks: list[int] = []
        self.canceled: list[tuple[str, str]] = []
        self.killed: dict[str, None] = {}

    def ack(self, slot: Slot, seq: int) -> None:
        self.acks.append(seq)

    def watch(self, address: str) -> None:
        pass

    def cancel_on(self, address: str, token: str) -> None:
        self.canceled.append((address, token))

    def forget(self, task: Any) -> None:
        self.tasks.pop(task.handle.token, None)


@pytest.fixture
def setup() -> Any:
    lifecycle = Lifecycle()
    runner = Runner(lifecycle)
    forwarder = Forwarder(runner)  # type: ignore[arg-type]
    task = Task()
    runner.tasks["t-1"] = task
    forwarder.thread.start()
    yield lifecycle, runner, forwarder, task
    forwarder.stop(10)


RUN = "run-1"


def event(forwarder: Forwarder, tag: str, token: str, *fields: Any, run: str = RUN) -> None:
    """A message as the task's worker signs it (its message numbers count up from 1 per run)."""
    task = forwarder.runner.tasks[token]
    numbers = task.numbers.setdefault(run, iter(range(1, 1_000_000)))
    forwarder.on_event((0.0, pack(task.handle.secret, tag, token, run, next(numbers), list(fields))))


def outcome(forwarder: Forwarder, task: Task, value: Any, last: int, run: str = RUN, pickled: bytes = b"") -> None:
    """The worker's outcome: the value pickled by tasker, as ``_worker.run`` returns it."""
    task.handle.future = future = object()
    body = pickled or to_bytes(value)
    forwarder.queue.put(("done", task, future, ("R", body, 1.0, "done", last, "tcp://w:1", 7, run), None, False))


def test_events_are_delivered_in_order_early_ones_held(setup: Any) -> None:
    lifecycle, runner, forwarder, task = setup
    event(forwarder, "B", "t-1", "tcp://w:1", 7)
    for seq in (2, 3, 1, 4):  # 2 and 3 arrive before 1
        event(forwarder, "E", "t-1", seq, to_bytes(("n", seq)))
    outcome(forwarder, task, "value", last=4)
    assert lifecycle.ended.wait(10)
    assert [c[1] for c in lifecycle.calls if c[0] == "event"] == [1, 2, 3, 4]
    assert lifecycle.calls[-1] == ("conclude", "value", None)
    assert runner.acks and max(runner.acks) == 4  # every half window, and the rest when idle


def test_a_result_waits_for_its_last_events(setup: Any) -> None:
    lifecycle, _runner, forwarder, task = setup
    event(forwarder, "B", "t-1", "tcp://w:1", 7)
    outcome(forwarder, task, "value", last=1)  # its event is still on its way
    event(forwarder, "E", "t-1", 1, to_bytes(("n", 1)))
    assert lifecycle.ended.wait(10)
    assert [c[0] for c in lifecycle.calls] == ["begin", "event", "report", "conclude"]


def test_a_gap_fails_the_task_naming_the_missing_events(setup: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_forward, "GAP_WAIT_S", 0.05)
    lifecycle, _runner, forwarder, task = setup
    event(forwarder, "B", "t-1", "tcp://w:1", 7)
    event(forwarder, "E", "t-1", 1, to_bytes(("n", 1)))
    event(forwarder, "E", "t-1", 3, to_bytes(("n", 3)))  # 2 never comes
    outcome(forwarder, task, "value", last=3)
    assert lifecycle.ended.wait(10)
    error = lifecycle.calls[-1][2]
    assert isinstance(error, TaskError)
    assert "1 event(s) of the task never arrived from the Dask worker tcp://w:1 (numbers [2])" in str(error)
    assert [c[1] for c in lifecycle.calls if c[0] == "event"] == [1]  # nothing out of order


def test_a_result_is_unpickled_by_taskers_loader_and_a_bad_one_fails_the_task(setup: Any) -> None:
    """The result arrives as tasker's pickle (bytes through Dask): loaded here, top-down
    (``_payload.loads``); one this process cannot load fails the task, naming why."""
    lifecycle, _runner, forwarder, task = setup
    outcome(forwarder, task, None, last=0, pickled=b"cno_such.pkg\nGone\n.")  # GLOBAL no_such.pkg Gone
    assert lifecycle.ended.wait(10)
    error = lifecycle.calls[-1][2]
    assert isinstance(error, TaskError) and "result could not be unpickled" in str(error)
    assert isinstance(error.__cause__, ModuleNotFoundError) and "no_such" in str(error.__cause__)


def test_a_short_task_begins_from_its_outcome(setup: Any) -> None:
    lifecycle, _runner, forwarder, task = setup
    outcome(forwarder, task, 42, last=0)  # it ended before it sent a begin event
    assert lifecycle.ended.wait(10)
    assert [c[0] for c in lifecycle.calls] == ["begin", "report", "conclude"]
    assert (task.handle.worker, task.handle.pid) == ("tcp://w:1", 7)


def test_a_message_of_another_run_fails_the_task_and_cancels_that_run(setup: Any) -> None:
    """Dask ran the task again after the first run's worker died: the second run is refused."""
    lifecycle, runner, forwarder, _task = setup
    event(forwarder, "B", "t-1", "tcp://w:1", 7)
    event(forwarder, "B", "t-1", "tcp://w:2", 8, run="run-2")
    event(forwarder, "E", "t-1", 1, to_bytes(("n", "from the second run")), run="run-2")
    assert lifecycle.ended.wait(10)
    error = lifecycle.calls[-1][2]
    assert isinstance(error, WorkerDiedError)
    assert "tcp://w:1 (pid 7)" in str(error) and "started the task again elsewhere" in str(error)
    assert ("tcp://w:2", "t-1") in runner.canceled
    assert [c for c in lifecycle.calls if c[0] == "event"] == []


@pytest.mark.parametrize(("began", "ending"), [(True, "died"), (False, "resubmitted")])
def test_a_second_run_that_stopped_before_the_function_ends_it_or_sends_it_again(
    setup: Any, began: bool, ending: str
) -> None:
    lifecycle, runner, forwarder, task = setup
    if began:
        event(forwarder, "B", "t-1", "tcp://w:1", 7)
    resubmitted = threading.Event()
    runner.resubmit = lambda t: resubmitted.set()  # type: ignore[attr-defined]
    task.handle.future = future = object()
    forwarder.queue.put(("done", task, future, ("D", None, 0.0, None, 0, "tcp://w:2", 8, "run-2"), None, False))
    if ending == "died":
        assert lifecycle.ended.wait(10)
        assert isinstance(lifecycle.calls[-1][2], WorkerDiedError)
    else:  # it never began: its first run died before the function said so
        assert resubmitted.wait(10)
        assert not lifecycle.ended.is_set()


class KilledWorker(Exception):
    """Dask's error for a task whose worker died (matched by its name), naming that worker."""

    def __init__(self, address: str) -> None:
        super().__init__(f"the worker {address} died")
        self.last_worker = types.SimpleNamespace(address=address)


def test_a_task_that_dies_unstarted_on_workers_tasker_killed_goes_on_and_otherwise_once(setup: Any) -> None:
    """Both workers killed at once (a stuck task's cancel on each): the task sent next can die
    unstarted on one, then on the other, before the scheduler knows of their deaths. It never
    ran and those deaths were tasker's doing: it is sent again each time (once per such
    worker); a death on any other worker counts, and after RESUBMITS of those it fails."""
    from tasker.runners.cluster._forward import RESUBMITS

    lifecycle, runner, forwarder, task = setup
    runner.killed = {"tcp://w:1": None, "tcp://w:2": None}
    sent_again: list[int] = []

    def resubmit(t: Any) -> None:  # (as the runner: each submission after the first counts one attempt)
        sent_again.append(t.handle.attempt)
        t.handle.attempt += 1

    runner.resubmit = resubmit  # type: ignore[attr-defined]

    def dies_on(address: str) -> None:
        task.handle.future = future = object()
        forwarder.queue.put(("done", task, future, None, KilledWorker(address), False))

    for n, address in enumerate(["tcp://w:1", "tcp://w:2", "tcp://w:9"], start=1):
        dies_on(address)
        assert wait_for(lambda n=n: len(sent_again) == n), f"not sent again after dying on {address}: {sent_again}"
    assert RESUBMITS == 1 and not lifecycle.ended.is_set()
    dies_on("tcp://w:1")  # the same killed worker again: not excused twice; RESUBMITS already used
    assert lifecycle.ended.wait(10)
    error = lifecycle.calls[-1][2]
    assert isinstance(error, WorkerDiedError) and len(sent_again) == 3


def test_a_result_of_another_run_is_not_the_tasks_result(setup: Any) -> None:
    lifecycle, _runner, forwarder, task = setup
    event(forwarder, "B", "t-1", "tcp://w:1", 7)
    outcome(forwarder, task, "from the second run", last=0, run="run-2")
    assert lifecycle.ended.wait(10)
    assert isinstance(lifecycle.calls[-1][2], WorkerDiedError)


def test_unsigned_wrongly_signed_and_replayed_messages_are_dropped_unread(
    setup: Any, caplog: pytest.LogCaptureFixture
) -> None:
    lifecycle, _runner, forwarder, task = setup
    event(forwarder, "B", "t-1", "tcp://w:1", 7)
    good = pack(task.handle.secret, "E", "t-1", RUN, 2, [1, to_bytes(("n", 1))])
    wrong = pack(b"\0" * 32, "E", "t-1", RUN, 3, [2, b"not even a pickle"])
    with caplog.at_level(logging.WARNING, logger="tasker"):
        for msg in (["E", "t-1", 2, b"junk"], wrong, {**good, "b": wrong["b"]}, good, good, {**good, "n": True}):
            forwarder.on_event((0.0, msg))
        outcome(forwarder, task, "value", last=1)
        assert lifecycle.ended.wait(10)
    assert [c[1] for c in lifecycle.calls if c[0] == "event"] == [1]  # once
    assert lifecycle.calls[-1] == ("conclude", "value", None)
    dropped = [r.getMessage() for r in caplog.records if "dropped unread" in r.getMessage()]
    assert len(dropped) == 2, dropped  # once for the task, once for what names no task
    assert len([text for text in dropped if "for task 't' that is not signed" in text]) == 1, dropped


def test_a_signed_message_of_a_shape_the_kit_does_not_know_is_dropped_naming_why(
    setup: Any, caplog: pytest.LogCaptureFixture
) -> None:
    lifecycle, _runner, forwarder, task = setup
    event(forwarder, "B", "t-1", "tcp://w:1", 7)
    with caplog.at_level(logging.WARNING, logger="tasker"):
        event(forwarder, "P", "t-1", 0.5)  # a field short: another tasker version's worker
        event(forwarder, "Z", "t-1", 1)  # no such kind
        event(forwarder, "P", "t-1", 0.7, "fine")
        outcome(forwarder, task, "value", last=0)
        assert lifecycle.ended.wait(10)
    assert next(c for c in lifecycle.calls if c[0] == "report") == ("report", 0.7, "fine")
    dropped = [r.getMessage() for r in caplog.records if "dropped unread" in r.getMessage()]
    assert len(dropped) == 1, dropped  # once per task
    assert "PROGRESS message has 1 field(s), not 2" in dropped[0]


def test_a_late_begin_of_a_task_that_ended_is_verified_then_canceled(setup: Any) -> None:
    _lifecycle, runner, forwarder, task = setup
    runner.ended["t-1"] = runner.tasks.pop("t-1").handle
    forwarder.on_event((0.0, pack(task.handle.secret, "B", "t-1", RUN, 1, ["tcp://w:3", 9])))
    forwarder.on_event((0.0, pack(b"\0" * 32, "B", "t-1", RUN, 2, ["tcp://w:4", 9])))  # not its key
    forwarder.stop(10)
    assert runner.canceled == [("tcp://w:3", "t-1")]
