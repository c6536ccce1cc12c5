"""Streams, batches and chains on the cluster kind (the session's LocalCluster, real Dask workers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import stream_jobs
import tasker
from tasker import BatchError

from .conftest import ClusterHarness


@pytest.fixture
def h(make_harness: Any, local_client: Any) -> ClusterHarness:
    harness: ClusterHarness = make_harness(cluster=local_client, cancel_grace_period=1.0)
    return harness


def test_a_generator_streams_its_values_in_order_then_its_result(h: ClusterHarness) -> None:
    values: list[Any] = []
    task = h.run(stream_jobs.count_up, 300, when_yield=lambda t, v: values.append(v))
    h.finish(task)
    assert values == list(range(300)) and task.result() == "counted 300"


def test_a_generator_raising_mid_stream_fails_after_its_values(h: ClusterHarness) -> None:
    values: list[Any] = []
    task = h.run(stream_jobs.breaks_after, 3, when_yield=lambda t, v: values.append(v))
    h.finish(task)
    assert values == [0, 1, 2] and isinstance(task.exception(), ValueError)


def test_cancel_closes_the_generator(h: ClusterHarness, tmp_path: Path) -> None:
    marker = tmp_path / "closed"
    values: list[Any] = []

    def when_yield(task: Any, value: Any) -> None:
        values.append(value)
        if value == 3:
            task.cancel()

    task = h.run(stream_jobs.forever, str(marker), when_yield=when_yield)
    h.finish(task)
    assert task.get_status() == "canceled" and marker.read_text() == "closed"
    assert values[:4] == [0, 1, 2, 3]


def test_a_big_value_arrives_whole(h: ClusterHarness) -> None:
    values: list[bytes] = []
    task = h.run(stream_jobs.big_values, 2, 1024 * 1024 + 7, when_yield=lambda t, v: values.append(v))
    h.finish(task)
    assert [len(v) for v in values] == [1024 * 1024 + 7] * 2 and values[1][:1] == b"\x01"


def test_map_and_then_on_the_cluster(h: ClusterHarness) -> None:
    items: list[int] = []
    batch = h.mgr.map(
        stream_jobs.odd_fails, range(12), kind="cluster", when_done=h.when_done,
        when_item=lambda b, i, r, e: items.append(i),
    )
    h.finish(batch)
    error = batch.exception()
    assert isinstance(error, BatchError) and sorted(error.failures) == [1, 3, 5, 7, 9, 11]
    assert sorted(items) == list(range(12))
    good = h.mgr.map(stream_jobs.square, range(6), kind="cluster", when_done=h.when_done)
    chain = good.then(stream_jobs.plus, kind="cluster", when_done=h.when_done)  # fails: a list + 1
    total = tasker.when_all(h.run(stream_jobs.plus, 1), h.run(stream_jobs.plus, 2), when_done=h.when_done)
    h.finish(good)
    h.finish(chain)
    h.finish(total)
    assert good.result() == [n * n for n in range(6)]
    assert isinstance(chain.exception(), TypeError)
    assert total.result() == [2, 3]
