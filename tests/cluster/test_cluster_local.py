"""run_on_cluster on the faster tier: a LocalCluster (processes=True, host=127.0.0.1), two one-thread workers.

The manager gets the session's Client (``cluster=client``): tasker uses it and
never closes it. Every test drives the main thread with the manual scheduler.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import cluster_jobs as jobs
import pytest

from tasker import CancelledError, TaskTimeoutError
from tasker._core._errors import RemoteTraceback, TaskError

from .conftest import ClusterHarness, need_dask
from conftest import wait_for


@pytest.fixture
def h(make_harness: Any, local_client: Any) -> ClusterHarness:
    harness: ClusterHarness = make_harness(cluster=local_client, cancel_grace_period=1.0)
    return harness


def test_result_progress_message_and_events_on_the_main_thread(h: ClusterHarness) -> None:
    task = h.run(jobs.report, 10)
    assert task.kind == "cluster"
    assert task.get_status() == "pending"  # queued until it starts on a worker
    h.finish(task)
    assert task.get_status() == "completed"
    assert task.result() == "reported"
    assert task.get_progress() == 1.0
    assert task.get_message() == "done"
    assert h.event(task, "stage") == 0.75  # sub_context(0.5, 0.5): 2 of 4 is 0.75 of the task
    assert h.done == [task]
    assert h.done_threads == [threading.current_thread()]


def test_tasks_updated_lists_a_running_cluster_task(h: ClusterHarness) -> None:
    seen: list[tuple[str, str, str | None]] = []
    h.mgr.tasks_updated.connect(
        lambda sender, tasks, progress: seen.extend((t.kind, t.get_status(), t.get_message()) for t in tasks)
    )
    task = h.run(jobs.until_canceled)
    assert h.pump_until(lambda: ("cluster", "running", "looping") in seen)
    task.cancel()
    h.finish(task)
    assert task.get_status() == "canceled"


def test_flush_sends_progress_and_message_ahead_of_what_follows(h: ClusterHarness) -> None:
    seen: list[str | None] = []
    task = h.finish(h.run(jobs.flush_then_event, when_event=lambda task, name, data: seen.append(task.get_message())))
    assert task.result() == "ok"
    assert seen == ["flushed"]


def test_a_failure_keeps_its_type_and_the_remote_traceback(h: ClusterHarness) -> None:
    task = h.finish(h.run(jobs.fail))
    assert task.get_status() == "failed"
    error = task.exception()
    assert isinstance(error, jobs.Custom)
    assert str(error) == "it broke"
    assert isinstance(error.__cause__, RemoteTraceback)
    assert "cluster_jobs.py" in error.__cause__.tb and "in fail" in error.__cause__.tb
    assert task.get_progress() == 0.25  # the last progress comes with the failure


def test_system_exit_fails_the_task_and_the_worker_goes_on(h: ClusterHarness) -> None:
    task = h.finish(h.run(jobs.exit_task))
    assert isinstance(task.exception(), SystemExit)
    after = h.finish(h.run(jobs.ok, 21))
    assert after.result() == 42


def test_log_records_reach_the_app_with_the_worker_named(
    h: ClusterHarness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="tests.cluster"):
        task = h.finish(h.run(jobs.log_something, "hello"))
    assert task.get_status() == "completed"
    records = [r for r in caplog.records if r.name == "tests.cluster"]
    assert [r.getMessage() for r in records] == ["from the cluster: hello"]
    assert records[0].processName.startswith("tcp://127.0.0.1:")  # the worker's address
    assert records[0].process == task.result()  # the worker's pid


def test_a_warning_reaches_the_apps_warnings_machinery_naming_the_task(h: ClusterHarness) -> None:
    """As for a process task: shown on the main thread, once per location, the task named."""
    seen: list[tuple[str, type[Warning], str, str]] = []

    def show(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None):
        seen.append((str(message), category, filename, threading.current_thread().name))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        task = h.finish(h.run(jobs.warn_twice, "mind the gap", key="careful"))
        assert task.result() == "warned"
        assert h.pump_until(lambda: bool(seen), 20), "no warning arrived"
    assert seen == [
        ("mind the gap (in task 'careful')", jobs.ClusterWarning, jobs.__file__, threading.current_thread().name)
    ]


def test_a_lambda_is_shipped_by_value(h: ClusterHarness) -> None:
    task = h.finish(h.run(lambda ctx, x: x + 1, 41))
    assert task.result() == 42


def test_an_argument_that_cannot_travel_fails_at_the_call(h: ClusterHarness) -> None:
    with pytest.raises(TypeError, match=r"run_on_cluster\(\): argument 1 \(lock\) cannot be sent"):
        h.run(jobs.ok, threading.Lock())
    assert h.finish(h.run(jobs.ok, 2)).result() == 4  # nothing else changed


def test_cooperative_cancel_ends_it_canceled(h: ClusterHarness) -> None:
    task = h.run(jobs.until_canceled)
    h.event(task, "started")
    assert task.get_status() == "running"
    assert h.mgr.cancel_task(task.key)
    h.finish(task)
    assert task.get_status() == "canceled"
    with pytest.raises(CancelledError):
        task.result()
    assert h.finish(h.run(jobs.ok, 5)).result() == 10


def test_a_task_canceled_while_queued_on_the_cluster_never_runs(h: ClusterHarness) -> None:
    busy = [h.run(jobs.until_canceled) for _ in range(2)]  # both workers
    for task in busy:
        h.event(task, "started")
    queued = h.run(jobs.until_canceled)
    assert queued.get_status() == "pending"
    queued.cancel()
    h.finish(queued)
    assert queued.get_status() == "canceled"
    for task in busy:
        task.cancel()
        h.finish(task)
    assert not [d for t, n, d in h.events if t is queued]  # it never started
    assert h.finish(h.run(jobs.ok, 1)).result() == 2


def test_pause_stops_it_at_its_next_context_call_and_resume_lets_it_go_on(
    h: ClusterHarness, local_client: Any, tmp_path: Path
) -> None:
    counter = tmp_path / "loops"
    task = h.run(jobs.count_until_canceled, str(counter))
    h.event(task, "started")
    slot = task.handle

    def flag() -> int | None:
        return local_client.run(jobs.flag_of, slot.token, workers=[slot.worker])[slot.worker]

    def loops() -> int:
        return int(counter.read_text()) if counter.exists() else 0  # (replaced whole: never empty)

    assert h.mgr.pause_task(task.key) and task.is_paused()
    assert wait_for(lambda: flag() == 2)  # PAUSE on its worker
    paused_at = loops()
    assert not wait_for(lambda: loops() > paused_at + 1, timeout=1.0)  # it waits (one loop may finish)
    assert task.get_status() == "running"
    assert h.mgr.resume_task(task.key)
    assert wait_for(lambda: loops() > paused_at + 5)
    task.pause()
    assert wait_for(lambda: flag() == 2)
    task.cancel()  # a paused task is canceled: it wakes and stops
    h.finish(task)
    assert task.get_status() == "canceled"
    assert flag() is None  # it stopped by itself (no forced stop)


def test_a_timeout_fails_it_with_TaskTimeoutError(h: ClusterHarness) -> None:
    task = h.finish(h.run(jobs.until_canceled, timeout=0.5))
    assert task.get_status() == "failed"
    assert isinstance(task.exception(), TaskTimeoutError)


def test_ask_gets_the_main_threads_answer(h: ClusterHarness) -> None:
    def answer(task: Any, name: str, data: Any) -> Any:
        return ("answer", data * 2, threading.current_thread().name)

    task = h.finish(h.run(jobs.ask, 21, when_event=answer))
    assert task.result() == ("answer", 42, threading.current_thread().name)


def test_ask_raises_what_the_handler_raised_and_cancel_wakes_it(h: ClusterHarness) -> None:
    def refuse(task: Any, name: str, data: Any) -> Any:
        raise PermissionError("no")

    task = h.finish(h.run(jobs.ask_catch, when_event=refuse))
    assert task.result() == "PermissionError"

    def cancel_from_the_dialog(task: Any, name: str, data: Any) -> Any:
        task.cancel()
        return "ignored"

    task = h.finish(h.run(jobs.ask, when_event=cancel_from_the_dialog))
    assert task.get_status() == "canceled"


def test_ask_times_out_on_the_worker(h: ClusterHarness) -> None:
    task = h.run(jobs.ask, "x", 0.2)
    # No pumping: the main thread never answers; the ask gives up after its own timeout.
    assert wait_for(task.is_final, timeout=60)
    assert isinstance(task.exception(), TaskTimeoutError)
    assert not h.events  # the question was withdrawn before the handler saw it
    h.finish(task)
    assert not h.events


def test_replace_on_the_same_key_across_local_and_cluster_tasks(h: ClusterHarness) -> None:
    import jobs as local_jobs

    local = h.mgr.run_thread(local_jobs.until_canceled, key="preview", when_done=h.when_done)
    remote = h.run(jobs.until_canceled, key="preview")
    h.finish(local)
    assert local.get_status() == "canceled"
    assert h.mgr.get_task("preview") is remote
    h.event(remote, "started")
    again = h.mgr.run_thread(local_jobs.ok, 3, key="preview", when_done=h.when_done)
    h.finish(remote)
    h.finish(again)
    assert (remote.get_status(), again.result()) == ("canceled", 6)


def test_an_event_the_app_cannot_rebuild_fails_the_task(h: ClusterHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKER_CLUSTER_TEST_APP", "1")  # the app's side refuses to rebuild it
    task = h.finish(h.run(jobs.unpicklable_event))
    assert task.get_status() == "failed"
    assert "could not be unpickled in this process" in str(task.exception())


def test_events_past_the_window_wait_for_the_ui(make_harness: Any, local_client: Any, tmp_path: Path) -> None:
    """Back-pressure: with the main thread not pumping, the task stops at window + UI queue."""
    from tasker.runners.cluster._events import WINDOW

    pending_events = 8
    h = make_harness(cluster=local_client, max_pending_events=pending_events)
    sent = tmp_path / "sent"
    task = h.run(jobs.events, 500, str(sent))

    def count() -> int:
        try:
            return int(sent.read_text() or 0)
        except (OSError, ValueError):
            return 0

    bound = WINDOW + pending_events + 1
    assert wait_for(lambda: count() >= WINDOW, timeout=60)
    assert not wait_for(lambda: count() > bound, timeout=2.0), f"{count()} events sent unacknowledged"
    h.finish(task)
    assert [d for t, n, d in h.events if t is task] == list(range(500))


def test_a_result_that_cannot_travel_fails_the_task_and_the_worker_goes_on(h: ClusterHarness) -> None:
    task = h.finish(h.run(jobs.unpicklable_result))
    assert task.get_status() == "failed"
    assert "lock" in str(task.exception()).lower()
    assert h.finish(h.run(jobs.ok, 3)).result() == 6


def test_the_given_client_stays_open(local_client: Any) -> None:
    h = ClusterHarness(cluster=local_client)
    h.finish(h.run(jobs.ok))
    h.mgr.shutdown()
    assert local_client.status == "running"


def test_a_cluster_that_cannot_be_reached_fails_its_tasks_clearly(
    make_harness: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasker.runners.cluster import _connect

    monkeypatch.setattr(_connect, "CONNECT_TIMEOUT_S", 1.0)
    h = make_harness(cluster="tcp://127.0.0.1:9")  # nothing listens there
    tasks = [h.run(jobs.ok) for _ in range(3)]
    for task in tasks:
        h.finish(task)
    errors = [t.exception() for t in tasks]
    assert all(isinstance(e, TaskError) for e in errors)
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in str(errors[0])


def test_a_closing_embedded_clusters_workers_drop_only_the_known_closing_races(local_client: Any) -> None:
    from tasker.runners.cluster import _connect

    _connect.quiet_workers(local_client)
    _connect.quiet_workers(local_client)  # once per worker, however often
    assert set(local_client.run(jobs.closing_noise_filters).values()) == {(1, 1, False, True, False, True)}
    _connect.quiet_workers(object())  # a lost client: nothing to quiet, no error


def test_closing_the_embedded_cluster_quiets_its_workers_before_anything_closes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tasker.runners.cluster import _connect

    calls: list[str] = []

    class Closable:
        def __init__(self, name: str) -> None:
            self.name = name

        def close(self, timeout: float) -> None:
            calls.append(self.name)

    monkeypatch.setattr(_connect, "quiet_workers", lambda client: calls.append("quiet"))
    connection = _connect.Connection("local", 1)
    connection.client, connection.cluster = Closable("client"), Closable("cluster")
    connection.close()
    assert calls == ["quiet", "client", "cluster"]
    given = _connect.Connection("tcp://127.0.0.1:1", 1)  # a scheduler tasker did not start: no workers of its own
    given.client = Closable("client")
    calls.clear()
    given.close()
    assert calls == ["client"]


@pytest.mark.timeout(240)
def test_closing_the_embedded_cluster_drops_dasks_stop_queue_race_from_the_apps_stderr() -> None:
    """A worker whose run ends before its nanny's stop message logs itself as dead "unexpectedly",
    with a traceback, when Dask closes its stop queue under the thread waiting on it; at tasker's
    close of its own cluster that is noise in the app's stderr (made certain by ``closing_app.py``)."""
    need_dask()
    here = Path(__file__).resolve().parent
    proc = subprocess.run(
        [sys.executable, str(here / "closing_app.py")], capture_output=True, text=True, timeout=200, cwd=here
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout + proc.stderr
    assert json.loads(lines[-1][len("RESULT ") :]) == {"raced": [True, True]}
    dropped = [line for line in proc.stderr.splitlines() if line.startswith("SEEN ") and "died unexpectedly" in line]
    assert len(dropped) == 2, proc.stderr  # the race did happen on both workers
    assert "Traceback" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr
