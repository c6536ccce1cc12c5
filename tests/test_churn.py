"""when_done exactly once under churn: hundreds of tasks, random cancels and replacements."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from conftest import Harness, children

pytestmark = pytest.mark.timeout(120)


def test_when_done_exactly_once_under_churn(make_harness) -> None:
    before = children()
    h: Harness = make_harness(max_processes=2, max_threads=4, cancel_grace_period=0.5)
    rng = random.Random(1234)
    started = []
    for i in range(300):
        kind = rng.choice(("thread", "coroutine", "process"))
        job, args = rng.choice((("ok", (i,)), ("sleep_then", (0.01, i)), ("until_canceled", ()), ("fail", ())))
        key = rng.choice((None, None, f"k{rng.randrange(10)}"))
        started.append(h.start(kind, job, *args, key=key))
        if rng.random() < 0.3:
            rng.choice(started).cancel()
        if rng.random() < 0.2:
            h.mgr.cancel_task(f"k{rng.randrange(10)}")
        if i % 25 == 0:
            h.scheduler.pump()
    for task in started:
        if task.get_status() in ("pending", "running") and "until_canceled" in task.name:
            task.cancel()
    assert h.pump_until(lambda: len(h.done) >= len(started), 60), Counter(str(t.get_status()) for t in started)
    h.settle()
    counts = Counter(id(t) for t in h.done)
    assert len(counts) == len(started) and set(counts.values()) == {1}
    assert all(t.is_final() for t in started)
    assert len(h.mgr) == 0 and h.updates[-1] == ([], 1.0)
    for task in started:
        if task.get_status() == "completed" and task.name in ("ok", "sleep_then"):
            assert task.result() is not None
    h.mgr.shutdown()
    assert children() <= before
