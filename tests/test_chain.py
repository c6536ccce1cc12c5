"""Tasks that follow tasks: ``then``, ``when_all``, ``when_any``, in every kind."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

import stream_jobs
import tasker
from tasker import Task, UpstreamError

from conftest import Harness

pytestmark = pytest.mark.timeout(90)


def _finish_all(h: Harness, *tasks: Task[Any]) -> None:
    assert h.pump_until(lambda: all(t.is_final() for t in tasks)), f"not all ended: {tasks}"
    h.settle()


def test_then_runs_with_the_upstream_result_in_the_same_kind(harness: Harness, kind: str) -> None:
    up = harness.start(kind, "ok", 41)  # 82
    chain = up.then(stream_jobs.step(kind, "plus"), when_done=harness.when_done)
    harness.finish(chain)
    assert chain.result() == 83 and chain.get_status() == "completed"
    assert chain.kind == "chain" and chain.step_kind == kind  # type: ignore[attr-defined]
    assert chain.get_message() == "adding 1"  # it shows its step's message


def test_then_takes_args_kwargs_and_another_kind(harness: Harness, kind: str) -> None:
    up = harness.start(kind, "ok", 1)
    chain = up.then(stream_jobs.plus, 10, kind="thread", key="sum", when_done=harness.when_done)
    harness.finish(chain)
    assert chain.result() == 12 and chain.key == "sum"
    chain2 = chain.then(stream_jobs.step(kind, "plus"), amount=5, kind=kind, when_done=harness.when_done)
    harness.finish(chain2)
    assert chain2.result() == 17


def test_a_failed_upstream_fails_the_follow_up_without_running_it(harness: Harness, kind: str) -> None:
    ran = threading.Event()

    def never(context: Any, value: Any) -> None:
        ran.set()

    up = harness.start(kind, "fail")
    chain = up.then(never, kind="thread", when_done=harness.when_done)
    harness.finish(chain)
    assert chain.get_status() == "failed" and not ran.is_set()
    error = chain.exception()
    assert isinstance(error, UpstreamError) and error.upstream is up
    assert error.__cause__ is up.exception() and isinstance(error.__cause__, ValueError)


def test_a_canceled_upstream_cancels_the_follow_up(harness: Harness, kind: str) -> None:
    up = harness.start(kind, "until_canceled")
    chain = up.then(stream_jobs.plus, kind="thread", when_done=harness.when_done)
    assert chain.get_status() == "pending"
    up.cancel()
    harness.finish(chain)
    assert chain.get_status() == "canceled"
    with pytest.raises(tasker.CancelledError):
        chain.result()


def test_a_failing_step_fails_the_chain_with_its_own_error(harness: Harness, kind: str) -> None:
    up = harness.start(kind, "ok", 7)
    chain = up.then(stream_jobs.step(kind, "fails"), when_done=harness.when_done)
    harness.finish(chain)
    assert chain.get_status() == "failed" and isinstance(chain.exception(), KeyError)
    assert "step got 14" in str(chain.exception())


def test_then_on_a_task_that_already_ended(harness: Harness, kind: str) -> None:
    done = harness.finish(harness.start(kind, "ok", 2))
    failed = harness.finish(harness.start(kind, "fail"))
    after_done = done.then(stream_jobs.step(kind, "plus"), when_done=harness.when_done)
    after_failed = failed.then(stream_jobs.step(kind, "plus"), when_done=harness.when_done)
    harness.finish(after_done)
    harness.finish(after_failed)
    assert after_done.result() == 5
    assert isinstance(after_failed.exception(), UpstreamError)


def test_canceling_a_waiting_chain_cancels_what_only_it_waits_on(harness: Harness, kind: str) -> None:
    lonely = harness.start(kind, "until_canceled")
    shared = harness.start(kind, "until_canceled")
    chain = lonely.then(stream_jobs.plus, kind="thread")
    first = shared.then(stream_jobs.plus, kind="thread")
    second = shared.then(stream_jobs.plus, kind="thread")
    chain.cancel()
    first.cancel()
    harness.finish(lonely)
    assert chain.get_status() == "canceled" and lonely.get_status() == "canceled"
    assert first.get_status() == "canceled"
    assert not shared.is_final(), "a task another chain waits on was canceled"
    second.cancel()  # the last one waiting on it: now it goes too
    harness.finish(shared)
    assert shared.get_status() == "canceled" and second.get_status() == "canceled"


def test_canceling_a_running_chain_cancels_its_step(harness: Harness, kind: str) -> None:
    import jobs

    up = harness.start(kind, "ok", 1)
    step = jobs.ASYNC["until_canceled"] if kind == "coroutine" else jobs.until_canceled
    started = threading.Event()
    chain = up.then(step, when_done=harness.when_done)
    chain_step: list[Task[Any]] = []

    def running() -> bool:
        s = getattr(chain, "_step", None)
        if s is not None and s.get_status() == "running":
            chain_step.append(s)
            started.set()
        return started.is_set()

    assert harness.pump_until(running)
    assert chain.get_status() == "running"
    chain.cancel()
    harness.finish(chain)
    assert chain.get_status() == "canceled"
    assert harness.pump_until(chain_step[0].is_final) and chain_step[0].get_status() == "canceled"


def test_when_all_gives_the_results_in_order(harness: Harness, kind: str) -> None:
    tasks = [harness.start(kind, "ok", n) for n in (3, 1, 2)]
    both = tasker.when_all(*tasks, when_done=harness.when_done)
    harness.finish(both)
    assert both.result() == [6, 2, 4]


def test_when_all_fails_at_the_first_failure(harness: Harness, kind: str) -> None:
    slow = harness.start(kind, "until_canceled")
    bad = harness.start(kind, "fail")
    both = tasker.when_all(slow, bad, when_done=harness.when_done)
    harness.finish(both)
    assert isinstance(both.exception(), UpstreamError) and both.exception().__cause__ is bad.exception()
    assert not slow.is_final()  # a failure cancels nothing
    slow.cancel()
    harness.finish(slow)


def test_when_any_gives_the_first_task_that_completed(harness: Harness, kind: str) -> None:
    slow = harness.start(kind, "until_canceled")
    bad = harness.start(kind, "fail")
    quick = harness.start(kind, "ok", 5)
    first = tasker.when_any(slow, bad, quick, when_done=harness.when_done)
    harness.finish(first)
    assert first.result() is quick and quick.result() == 10
    slow.cancel()
    harness.finish(slow)


def test_when_any_fails_when_none_completed(harness: Harness, kind: str) -> None:
    bad = [harness.start(kind, "fail") for _ in range(2)]
    first = tasker.when_any(*bad, when_done=harness.when_done)
    harness.finish(first)
    assert isinstance(first.exception(), UpstreamError)


def test_canceling_when_all_cancels_its_tasks(harness: Harness, kind: str) -> None:
    tasks = [harness.start(kind, "until_canceled") for _ in range(2)]
    both = tasker.when_all(*tasks)
    both.cancel()
    _finish_all(harness, both, *tasks)
    assert [t.get_status() for t in (both, *tasks)] == ["canceled"] * 3


def test_await_a_chain_from_asyncio_and_start_one_from_a_worker_thread(harness: Harness, kind: str) -> None:
    up = harness.start(kind, "ok", 1)
    made: list[Task[Any]] = []

    def follow(context: Any) -> None:  # then() from a thread that is not the main thread
        made.append(up.then(stream_jobs.step(kind, "plus"), 2))

    harness.finish(harness.mgr.run_thread(follow, when_done=harness.when_done))

    async def wait() -> int:
        return await made[0]

    assert asyncio.run(asyncio.wait_for(wait(), 60)) == 4


def test_replace_by_key_cancels_the_older_chain(harness: Harness) -> None:
    up = harness.start("thread", "until_canceled")
    old = up.then(stream_jobs.plus, key="next")
    new = up.then(stream_jobs.plus, key="next")
    assert harness.pump_until(old.is_final) and old.get_status() == "canceled"
    assert not up.is_cancelled(), "the newer chain still waits on it"
    new.cancel()
    _finish_all(harness, up, new)


def test_bad_inputs_are_refused_at_the_call(harness: Harness) -> None:
    up = harness.start("thread", "ok", 1)
    with pytest.raises(TypeError, match="needs a callable"):
        up.then("not callable")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match=r"then\(kind=\.\.\.\) takes one of"):
        up.then(stream_jobs.plus, kind="fortnight")
    with pytest.raises(TypeError, match="needs an 'async def'"):
        up.then(stream_jobs.plus, kind="coroutine")
    with pytest.raises(ValueError, match="at least one task"):
        tasker.when_all()
    with pytest.raises(TypeError, match="takes tasks"):
        tasker.when_any(up, 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected keyword"):
        tasker.when_all(up, colour="red")
    harness.finish(up)


def test_pausing_a_chain_pauses_its_step(harness: Harness, kind: str) -> None:
    import jobs

    up = harness.start(kind, "ok", 1)
    step = jobs.ASYNC["until_canceled"] if kind == "coroutine" else jobs.until_canceled
    chain = up.then(step, when_done=harness.when_done)
    assert harness.pump_until(lambda: getattr(chain, "_step", None) is not None)
    part = chain._step  # type: ignore[attr-defined]
    assert chain.pause() and harness.pump_until(part.is_paused)
    assert chain.resume() and harness.pump_until(lambda: not part.is_paused())
    chain.cancel()
    harness.finish(chain)
    assert chain.get_status() == "canceled"


def _two_reports(ctx: Any, *args: Any) -> int:
    go, reported, gate = args[-3:]
    assert go.wait(30)
    ctx.set_message("reading")
    ctx.set_progress(0.5)  # right after: no emission between the two
    reported.set()
    assert gate.wait(30)
    return 1


async def _a_two_reports(ctx: Any, *args: Any) -> int:
    go, reported, gate = args[-3:]
    while not go.is_set():
        await asyncio.sleep(0.001)
    ctx.set_message("reading")
    ctx.set_progress(0.5)
    reported.set()
    while not gate.is_set():
        await asyncio.sleep(0.001)
    return 1


@pytest.mark.parametrize("part", ["hidden upstream", "step"])
@pytest.mark.parametrize("step_kind", ["thread", "coroutine"])
def test_a_chains_row_shows_its_parts_last_report_not_only_its_first(
    harness: Harness, step_kind: str, part: str
) -> None:
    """A part forwards its first report after an emission to its chain's row; the
    chain used to copy that one only, so a step that set its message, then its
    progress, then waited, showed 0 % until it reported again (met on free-threaded
    CPython, where the main thread's flush can come between a part's start and its
    first report). The emission now takes the part's latest report. Thread and
    coroutine steps: their reports reach the manager one call at a time, so the order
    is forced here (a process step's reports arrive as its worker's messages, which
    may carry both at once; they take the same path)."""
    go, reported, gate = threading.Event(), threading.Event(), threading.Event()
    fn = _two_reports if step_kind == "thread" else _a_two_reports
    if part == "step":
        up = harness.start(step_kind, "ok", 1, visible=False)
        last = up.then(fn, go, reported, gate, kind=step_kind, when_done=harness.when_done)
        assert harness.pump_until(lambda: last.get_status() == "running")
    else:
        start = harness.mgr.run_thread if step_kind == "thread" else harness.mgr.add_coroutine
        first = start(fn, go, reported, gate, visible=False)
        last = first.then(stream_jobs.plus, kind="thread", when_done=harness.when_done)
    assert harness.pump_until(lambda: bool(harness.updates) and harness.updates[-1][0] == [last])
    harness.scheduler.pump()
    go.set()
    assert reported.wait(30)  # both reports made, the main thread idle meanwhile
    assert harness.pump_until(lambda: last.get_progress() == 0.5, 10), (last.get_message(), last.get_progress())
    assert last.get_message() == "reading"
    assert harness.updates[-1] == ([last], 0.5)  # the row as the UI gets it (the batch: this task)
    gate.set()
    harness.finish(last)


def test_a_chain_of_hidden_steps_shows_the_current_step_in_its_row(harness: Harness) -> None:
    import jobs

    gate = threading.Event()

    def load(context: Any) -> int:
        context.set_message("load: reading")
        context.set_progress(0.5)
        assert gate.wait(30)
        return 1

    first = harness.mgr.run_thread(load, visible=False)
    middle = first.then(stream_jobs.plus, visible=False)
    last = middle.then(jobs.ok, when_done=harness.when_done)
    # Both reports, not the message alone: the row may be shown between the two (on
    # free-threaded CPython the main thread runs while the step is between them).
    assert harness.pump_until(lambda: last.get_message() == "load: reading" and last.get_progress() == 0.5)
    assert last.get_status() == "pending"
    assert harness.pump_until(lambda: any(tasks for tasks, _ in harness.updates))
    rows = [tasks for tasks, _ in harness.updates if tasks]
    assert rows and all(tasks == [last] for tasks in rows), "only the chain's last task is a row"
    gate.set()
    harness.finish(last)
    assert last.result() == 4  # ok(plus(1)) = (1 + 1) * 2
