"""The results thread without Dask: what ended together is fetched in one gather, and
every task still ends once when a gather, a future or tasker's own step fails.

Fake futures and a fake client stand in for Dask's (they count the gathers);
the lifecycle records its calls; the results thread is real.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import pytest

from tasker._core._errors import TaskError
from tasker.runners.cluster._forward import Forwarder, Slot, fetch
from tasker.runners.cluster._worker import to_bytes

from .test_cluster_forward import Runner as ForwardRunner

WAIT_S = 10.0


class Lifecycle:
    def __init__(self, expected: int) -> None:
        self.ends: dict[str, tuple[Any, BaseException | None]] = {}
        self.concludes = 0
        self.lock = threading.Lock()
        self.expected = expected
        self.all_ended = threading.Event()
        self.report_fails_for: set[str] = set()

    def begin(self, task: Any) -> bool:
        return True

    def report(self, task: Any, progress: float, message: str | None) -> None:
        if task.name in self.report_fails_for:
            raise RuntimeError("a fault in tasker's own step")

    def conclude(self, task: Any, result: Any = None, error: BaseException | None = None) -> bool:
        with self.lock:
            self.concludes += 1
            if task.final:
                return False
            task.final = True
            self.ends[task.name] = (result, error)
            if len(self.ends) == self.expected:
                self.all_ended.set()
        return True


class Task:
    def __init__(self, name: str) -> None:
        self.name = name
        self.handle = Slot(name, f"key-{name}", window=4)
        self.final = False

    def is_final(self) -> bool:
        return self.final

    def is_paused(self) -> bool:
        return False


class Runner(ForwardRunner):
    def forget(self, task: Any) -> None:
        super().forget(task)
        task.handle.future = None  # (as the real runner: Dask forgets a key no future holds)


class Client:
    def __init__(self, fails: bool = False) -> None:
        self.gathers: list[list[str]] = []
        self.fails = fails

    def gather(self, futures: list[Future]) -> list[Any]:
        self.gathers.append([future.key for future in futures])
        if self.fails:
            raise OSError("the scheduler closed the connection")
        return [future.value for future in futures]


class Future:
    def __init__(self, client: Client, key: str, value: Any = None, error: BaseException | None = None,
                 status: str = "finished") -> None:
        self.client, self.key, self.value, self.error, self.status = client, key, value, error, status
        self.asked = 0  # result() calls

    def result(self) -> Any:
        self.asked += 1
        if self.error is not None:
            raise self.error
        return self.value

    def cancelled(self) -> bool:
        return self.status == "cancelled"


def outcome(value: Any) -> tuple[Any, ...]:
    """What ``_worker.run`` returns for a function that returned ``value`` (no event sent)."""
    return ("R", to_bytes(value), 1.0, "done", 0, "tcp://w:1", 7, "run-1")


def queued(items: list[tuple[Task, Future]], lifecycle: Lifecycle) -> tuple[Runner, Forwarder]:
    """A forwarder whose results thread is not started yet, every item in flight and ended."""
    runner = Runner(lifecycle)
    forwarder = Forwarder(runner)  # type: ignore[arg-type]
    for task, future in items:  # all in flight
        runner.tasks[task.handle.token] = task
        task.handle.future = future
    for task, future in items:
        forwarder.on_done(task, future)  # type: ignore[arg-type]
    return runner, forwarder


def run_batch(items: list[tuple[Task, Future]], lifecycle: Lifecycle) -> Forwarder:
    """Every item queued before the results thread starts: it finds them all in one pass."""
    _runner, forwarder = queued(items, lifecycle)
    assert lifecycle.ends == {}  # all queued for the results thread
    forwarder.start()  # (an error goes on to the events thread)
    assert lifecycle.all_ended.wait(WAIT_S)
    forwarder.stop(WAIT_S)
    assert not forwarder.fetcher.is_alive() and not forwarder.thread.is_alive()
    return forwarder


def test_tasks_that_ended_together_are_fetched_in_one_gather() -> None:
    client = Client()
    items = [(Task(f"t{i}"), Future(client, f"k{i}", outcome(i))) for i in range(5)]
    lifecycle = Lifecycle(len(items))
    run_batch(items, lifecycle)
    assert client.gathers == [[f"k{i}" for i in range(5)]]  # one round trip for the five
    assert all(future.asked == 0 for _, future in items)
    assert lifecycle.ends == {f"t{i}": (i, None) for i in range(5)}
    assert lifecycle.concludes == 5  # each ended once


def test_an_erred_or_canceled_future_is_asked_on_its_own_not_gathered() -> None:
    client = Client()
    boom = ValueError("raised in the function's wrapper")
    items = [
        (Task("ok1"), Future(client, "k1", outcome("a"))),
        (Task("bad"), Future(client, "k2", error=boom, status="error")),
        (Task("ok2"), Future(client, "k3", outcome("b"))),
    ]
    lifecycle = Lifecycle(len(items))
    run_batch(items, lifecycle)
    assert client.gathers == [["k1", "k3"]]
    assert lifecycle.ends["ok1"] == ("a", None) and lifecycle.ends["ok2"] == ("b", None)
    assert lifecycle.ends["bad"] == (None, boom)


def test_a_failed_gather_gives_each_task_its_own_outcome() -> None:
    client = Client(fails=True)
    lost = OSError("this one's worker is gone")
    items = [
        (Task("t1"), Future(client, "k1", outcome(1))),
        (Task("t2"), Future(client, "k2", outcome(2))),
        (Task("t3"), Future(client, "k3", outcome(3))),
    ]
    items[1][1].error = lost  # its own result() fails too; the others' do not
    lifecycle = Lifecycle(len(items))
    run_batch(items, lifecycle)
    assert client.gathers == [["k1", "k2", "k3"]]
    assert [future.asked for _, future in items] == [1, 1, 1]
    assert lifecycle.ends == {"t1": (1, None), "t2": (None, lost), "t3": (3, None)}


def test_futures_of_two_clients_are_gathered_by_their_own_client() -> None:
    first, second = Client(), Client()
    futures = [Future(first, "a1", 1), Future(second, "b1", 2), Future(first, "a2", 3), Future(second, "b2", 4)]
    assert fetch(futures) == [(1, None), (2, None), (3, None), (4, None)]
    assert first.gathers == [["a1", "a2"]] and second.gathers == [["b1", "b2"]]


def test_one_ended_future_is_asked_directly() -> None:
    client = Client()
    future = Future(client, "k", 5)
    assert fetch([future]) == [(5, None)]
    assert client.gathers == [] and future.asked == 1


def test_a_fault_in_ending_one_task_still_ends_it_and_the_others() -> None:
    client = Client()
    items = [(Task(f"t{i}"), Future(client, f"k{i}", outcome(i))) for i in range(3)]
    lifecycle = Lifecycle(len(items))
    lifecycle.report_fails_for = {"t1"}
    run_batch(items, lifecycle)
    assert lifecycle.ends["t0"] == (0, None) and lifecycle.ends["t2"] == (2, None)
    result, error = lifecycle.ends["t1"]
    assert result is None and isinstance(error, RuntimeError)


def test_the_only_task_in_flight_is_settled_in_the_callers_thread() -> None:
    """No one to share a round trip with: no hop to the results thread (which is not running)."""
    client = Client()
    lifecycle = Lifecycle(1)
    runner = Runner(lifecycle)
    forwarder = Forwarder(runner)  # type: ignore[arg-type]
    task, future = Task("alone"), Future(client, "k", outcome("v"))
    runner.tasks[task.handle.token] = task
    task.handle.future = future
    forwarder.on_done(task, future)  # type: ignore[arg-type]
    assert lifecycle.ends == {"alone": ("v", None)}  # ended before on_done returned
    assert future.asked == 1 and client.gathers == [] and runner.tasks == {}


@pytest.mark.parametrize("late", [0, 3])
def test_the_results_thread_goes_on_after_a_pass(late: int) -> None:
    """Items queued while the thread waits are fetched in a later pass; stop ends the thread."""
    client = Client()
    lifecycle = Lifecycle(1 + late)
    runner = Runner(lifecycle)
    forwarder = Forwarder(runner)  # type: ignore[arg-type]
    forwarder.fetcher.start()
    futures = []
    for i in range(1 + late):
        task, future = Task(f"t{i}"), Future(client, f"k{i}", outcome(i))
        runner.tasks[task.handle.token] = task
        task.handle.future = future
        futures.append(future)
        forwarder.on_done(task, future)  # type: ignore[arg-type]
    assert lifecycle.all_ended.wait(WAIT_S)
    forwarder.stop(WAIT_S)
    assert not forwarder.fetcher.is_alive()
    assert lifecycle.ends == {f"t{i}": (i, None) for i in range(1 + late)}
    gathered = [key for keys in client.gathers for key in keys]
    for future in futures:  # each value fetched once: in a gather or on its own
        assert gathered.count(future.key) + future.asked == 1
    assert runner.tasks == {}  # each forgotten once it ended


def test_no_done_future_outlives_its_pass() -> None:
    """A future the results thread still held would keep its key, and its result, on the cluster."""
    client = Client()
    items = [(Task(f"t{i}"), Future(client, f"k{i}", outcome(i))) for i in range(3)]
    refs = [weakref.ref(future) for _, future in items]
    seen: list[bool] = []
    first_pass = threading.Event()
    lifecycle = Lifecycle(len(items) + 1)
    conclude = lifecycle.conclude

    def probing(task: Any, result: Any = None, error: BaseException | None = None) -> bool:
        if task.name == "probe":  # the next pass, in the results thread: the first one's futures are gone
            seen.extend(ref() is None for ref in refs)
        ended = conclude(task, result, error)
        if len(lifecycle.ends) == len(refs):
            first_pass.set()
        return ended

    lifecycle.conclude = probing  # type: ignore[method-assign]
    runner, forwarder = queued(items, lifecycle)
    del items
    forwarder.start()
    probe = Task("probe")
    runner.tasks["probe"] = probe
    runner.tasks["other"] = Task("other")  # (not alone: the probe goes through the results thread)
    probe.handle.future = Future(client, "kp", outcome("p"))
    assert first_pass.wait(WAIT_S)  # (the probe comes in the next pass: this one took the queue)
    forwarder.on_done(probe, probe.handle.future)  # type: ignore[arg-type]
    assert lifecycle.all_ended.wait(WAIT_S)
    forwarder.stop(WAIT_S)
    assert seen == [True, True, True]


class Broken(Future):
    """A future whose status cannot be read (stands for a fault in tasker's fetch)."""

    @property
    def status(self) -> str:
        raise RuntimeError("no status")

    @status.setter
    def status(self, value: str) -> None:
        pass

    def cancelled(self) -> bool:
        return False


def test_a_fault_in_fetching_still_ends_every_task_of_the_pass() -> None:
    client = Client()
    items = [(Task("t0"), Future(client, "k0", outcome(0))), (Task("t1"), Broken(client, "k1", outcome(1)))]
    lifecycle = Lifecycle(len(items))
    _runner, forwarder = queued(items, lifecycle)
    forwarder.start()
    assert lifecycle.all_ended.wait(WAIT_S)
    assert sorted(lifecycle.ends) == ["t0", "t1"]
    assert all(result is None and isinstance(error, TaskError) for result, error in lifecycle.ends.values())
    assert forwarder.fetcher.is_alive()  # the fault did not stop the results thread
    forwarder.stop(WAIT_S)
    assert not forwarder.fetcher.is_alive()
