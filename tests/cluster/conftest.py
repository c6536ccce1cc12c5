"""Real Dask clusters for the cluster tests.

* ``real_cluster`` (this package's tests): ``dask scheduler --host 127.0.0.1 --port 0 --no-dashboard``
  and two ``dask worker … --nthreads 1 --nanny`` processes, each the leader of a
  process group; waited for with a bound, stopped by pid (their groups) at teardown.
* ``local_client`` (this package's tests): the faster tier, ``LocalCluster(processes=True,
  host="127.0.0.1")`` with two one-thread workers, and a Client on it.
* ``start_scheduler``: a scheduler and one worker of a test's own (the test kills them).

Both are torn down after this package's last test (a LocalCluster's scheduler lives in
this process: the rest of the suite counts its file descriptors and threads). Both fail
a task whose worker died instead of re-running it (``allowed-failures: 0``), as tasker's
embedded cluster does.

Without dask these tests skip; under CI (``CI`` set) they fail instead.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))  # cluster_jobs, for LocalCluster's spawned workers too

from tasker import Task, TaskManager  # noqa: E402
from tasker.schedulers import ManualScheduler  # noqa: E402

START_TIMEOUT_S = 60.0  # a scheduler and its workers must be up within this


#: The hang guard of each test here (pytest-timeout, s) unless it sets its own. A cluster test
#: starts or reaches processes and makes several bounded waits of up to 60 s each (the
#: harness's pump, an app's shutdown); the suite's default of 60 s for the whole test cut
#: correct tests short on a loaded machine (test_another_local_user_cannot_reach_the_embedded_cluster:
#: "Timeout (>60.0s)" in its app's shutdown at load 20). A hang is still stopped.
CLUSTER_TEST_TIMEOUT_S = 300


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(CLUSTER_TEST_TIMEOUT_S))


def need_dask() -> None:
    if importlib.util.find_spec("distributed") is None:
        if os.environ.get("CI"):
            pytest.fail("dask[distributed] is not installed (required in CI: the 'dask' extra)")
        pytest.skip("needs dask[distributed] (pip install tasker-ui[dask])")


def worker_env(reruns: bool = False) -> dict[str, str]:
    """With ``reruns``, Dask's default ``allowed-failures`` (a task whose worker died runs again)."""
    env = dict(os.environ)
    paths = (str(ROOT / "src"), str(HERE), str(HERE.parent), env.get("PYTHONPATH"))  # cluster_jobs, jobs
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    env.pop("DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES", None)
    if not reruns:
        env["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = "0"
    env["DASK_DISTRIBUTED__DEPLOY__LOST_WORKER_TIMEOUT"] = "300s"
    return env


@dataclass
class Processes:
    """Processes a fixture started; ``stop()`` ends each one's group, by pid."""

    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    reruns: bool = False  # Dask's default allowed-failures (see worker_env)

    def start(self, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                argv, env=worker_env(self.reruns), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own group: its nanny's worker goes with it
            )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill(proc)
        for proc in self.procs:
            try:  # what a group leader left behind (a worker of a nanny killed first)
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def start_dask(procs: Processes, tmp: Path, workers: int) -> str:
    """A scheduler on 127.0.0.1 (its port from the scheduler file) and ``workers`` nanny workers."""
    scheduler_file = tmp / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    procs.start(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(scheduler_file)],
        tmp / "scheduler.log",
    )
    address = _wait_for_file(scheduler_file, procs, tmp / "scheduler.log")
    for i in range(workers):
        procs.start(
            [*dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--nanny", "--host", "127.0.0.1",
             "--no-dashboard", "--name", f"w{i}", "--local-directory", str(tmp / f"w{i}")],
            tmp / f"worker{i}.log",
        )
    wait_for_workers(address, workers)
    return address


def _wait_for_file(path: Path, procs: Processes, log: Path) -> str:
    import json

    deadline = time.monotonic() + START_TIMEOUT_S
    tick = threading.Event()
    while time.monotonic() < deadline:
        if path.exists():
            try:
                return str(json.loads(path.read_text())["address"])
            except (ValueError, KeyError):
                pass
        if any(p.poll() is not None for p in procs.procs):
            break
        tick.wait(0.05)
    raise RuntimeError(f"the Dask scheduler did not start: {log.read_text()[-2000:]}")


def wait_for_workers(address: str, n: int) -> None:
    from distributed import Client

    with Client(address, timeout=START_TIMEOUT_S, set_as_default=False) as client:
        client.wait_for_workers(n, timeout=START_TIMEOUT_S)


@dataclass
class RealCluster:
    address: str
    procs: Processes

    def client(self) -> Any:
        from distributed import Client

        return Client(self.address, timeout=START_TIMEOUT_S, set_as_default=False)

    def worker_pids(self) -> dict[str, int]:
        from tasker.runners.cluster._worker import worker_pid

        with self.client() as client:
            return {k: int(v) for k, v in client.run(worker_pid).items()}

    def recover(self, gone: str | None = None) -> None:
        """Both workers up again (a test killed one: its nanny restarts it).

        With ``gone`` (the killed worker's address), also until the scheduler has removed
        it: its nanny's new worker can register first, and then two workers are listed
        while one of them is dead (a call to every worker then meets a reset connection).
        """
        wait_for_workers(self.address, 2)
        if gone is None:
            return
        deadline = time.monotonic() + START_TIMEOUT_S
        tick = threading.Event()
        with self.client() as client:
            while (gone in (workers := client.nthreads()) or len(workers) < 2) and time.monotonic() < deadline:
                tick.wait(0.05)
            assert gone not in workers and len(workers) == 2, f"the cluster did not recover: {workers}"


@pytest.fixture(scope="package")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    need_dask()
    procs = Processes()
    try:
        address = start_dask(procs, tmp_path_factory.mktemp("dask"), workers=2)
        yield RealCluster(address, procs)
    finally:
        procs.stop()


@pytest.fixture
def start_scheduler(tmp_path: Path) -> Iterator[Callable[[], tuple[str, Processes]]]:
    """A scheduler and one worker of this test's own."""
    need_dask()
    procs = Processes()

    def start() -> tuple[str, Processes]:
        return start_dask(procs, tmp_path, workers=1), procs

    try:
        yield start
    finally:
        procs.stop()


@pytest.fixture
def rerun_cluster(tmp_path: Path) -> Iterator[RealCluster]:
    """A scheduler with Dask's default ``allowed-failures`` (3: a task whose worker died runs
    again elsewhere) and two nanny workers, of this test's own."""
    need_dask()
    procs = Processes(reruns=True)
    try:
        yield RealCluster(start_dask(procs, tmp_path, workers=2), procs)
    finally:
        procs.stop()


@pytest.fixture(scope="package")
def local_client() -> Iterator[Any]:
    need_dask()
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False},
        )
    client = Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close(timeout=20)
        cluster.close(timeout=20)


class ClusterHarness:
    """A manager on the manual scheduler, running cluster tasks."""

    def __init__(self, **options: Any) -> None:
        self.scheduler = ManualScheduler()
        self.mgr = TaskManager(main_thread_scheduler=self.scheduler, **options)
        self.done: list[Task[Any]] = []
        self.done_threads: list[threading.Thread] = []
        self.events: list[tuple[Task[Any], str, Any]] = []

    def when_done(self, task: Task[Any]) -> None:
        self.done.append(task)
        self.done_threads.append(threading.current_thread())

    def when_event(self, task: Task[Any], name: str, data: Any) -> None:
        self.events.append((task, name, data))

    def run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Task[Any]:
        kwargs.setdefault("when_done", self.when_done)
        kwargs.setdefault("when_event", self.when_event)
        return self.mgr.run_on_cluster(func, *args, **kwargs)

    def pump_until(self, predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
        return self.scheduler.pump_until(predicate, timeout)

    def finish(self, task: Task[Any], timeout: float = 60.0) -> Task[Any]:
        assert self.pump_until(lambda: task in self.done, timeout), f"{task} never ended"
        return task

    def event(self, task: Task[Any], name: str, timeout: float = 60.0) -> Any:
        def found() -> list[Any]:
            return [d for t, n, d in self.events if t is task and n == name]

        assert self.pump_until(lambda: bool(found()), timeout), f"no {name!r} event from {task}"
        return found()[0]


def tasker_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("tasker-") and t.is_alive()]


@pytest.fixture
def make_harness() -> Iterator[Callable[..., ClusterHarness]]:
    made: list[ClusterHarness] = []

    def make(**options: Any) -> ClusterHarness:
        options.setdefault("cancel_grace_period", 2.0)
        h = ClusterHarness(**options)
        made.append(h)
        return h

    yield make
    for h in made:
        h.mgr.shutdown(timeout=2.0)
        h.scheduler.pump()
    assert [n for n in tasker_threads() if not n.startswith("tasker-thread")] == [], "tasker threads left behind"
