"""SPEC §5: a killed worker takes the processes its task started with it.

Tasks start a child (``sleep``) and a shell that started a grandchild
(``sleep``), and report their pids. Each test holds a pidfd on every one of them
from the moment it learns the pid (so no reused pid is ever signalled), waits on
those pidfds, bounded, for them to be gone, and SIGKILLs any survivor at
teardown. The app-SIGKILL case runs its app inside a fresh PID namespace.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tree_jobs
from tasker import TaskTimeoutError, WorkerDiedError
from tasker.testing import FakeClock

from conftest import Harness

pytestmark = pytest.mark.timeout(60)

LIMIT = 5.0  # seconds for a killed worker's processes to be gone (they go in milliseconds)
TREE = ("child", "shell", "grandchild")


class Watch:
    """pidfds on processes that tasks started; survivors are killed at teardown."""

    def __init__(self) -> None:
        self.fds: dict[int, int] = {}  # pid -> pidfd

    def add(self, tree: dict[str, int]) -> None:
        for name in TREE:
            self.fds[tree[name]] = os.pidfd_open(tree[name])

    def alive(self, pids: list[int]) -> list[int]:
        ready, _, _ = select.select([self.fds[p] for p in pids], [], [], 0)
        return [p for p in pids if self.fds[p] not in ready]

    def wait_gone(self, pids: list[int], limit: float = LIMIT) -> tuple[list[int], float]:
        """(survivors after ``limit`` s, seconds it took)."""
        start = time.monotonic()
        left = set(pids)
        while left:
            remaining = start + limit - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select([self.fds[p] for p in left], [], [], remaining)
            left -= {p for p in left if self.fds[p] in ready}
        return sorted(left), time.monotonic() - start

    def close(self) -> None:
        for fd in self.fds.values():
            try:
                signal.pidfd_send_signal(fd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.close(fd)


@pytest.fixture
def watch() -> Iterator[Watch]:
    w = Watch()
    yield w
    w.close()


def start_tree(h: Harness, watch: Watch, then: str = "block", **kwargs: Any) -> tuple[Any, list[int]]:
    """Run ``spawn_tree`` as a process task; (the task, the pids of its processes) once they run."""
    trees: list[dict[str, int]] = []
    task = h.mgr.run_process(
        tree_jobs.spawn_tree, then, when_done=h.when_done, when_event=lambda t, n, tree: trees.append(tree), **kwargs
    )
    assert h.pump_until(lambda: bool(trees)), "the task never reported its processes"
    watch.add(trees[0])
    pids = [trees[0][name] for name in TREE]
    assert watch.alive(pids) == pids
    return task, pids


def assert_gone(watch: Watch, pids: list[int]) -> None:
    left, took = watch.wait_gone(pids)
    assert left == [], f"processes the task started outlived its worker: {left}"
    print(f"\ngone after {took * 1000:.1f} ms")


def test_cancel_after_grace_kills_the_tasks_processes(make_harness, watch: Watch) -> None:
    h = make_harness(max_processes=1, cancel_grace_period=0.2)
    task, pids = start_tree(h, watch)
    task.cancel()
    h.finish(task)
    assert task.get_status() == "canceled"
    assert_gone(watch, pids)
    assert h.finish(h.mgr.run_process(tree_jobs.spawn_tree, "return", when_done=h.when_done)).get_status() == (
        "completed"
    ), "the pool goes on"


def test_timeout_kills_the_tasks_processes(make_harness, watch: Watch) -> None:
    clock = FakeClock()  # the timeout passes once the tree runs, however slow the machine
    h = make_harness(max_processes=1, cancel_grace_period=0.1, clock=clock)
    task, pids = start_tree(h, watch, timeout=0.5)
    clock.advance(0.5)  # timed out: canceled, its grace period starts
    clock.advance(0.1)  # grace over: the worker (and its group) is killed
    h.finish(task)
    assert isinstance(task.exception(), TaskTimeoutError)
    assert_gone(watch, pids)


def test_shutdown_kills_the_processes_of_a_busy_worker(make_harness, watch: Watch) -> None:
    h = make_harness(max_processes=1)
    task, pids = start_tree(h, watch)
    h.mgr.shutdown(timeout=1.0)
    assert_gone(watch, pids)
    h.scheduler.pump()
    assert task.get_status() == "canceled"


@pytest.mark.parametrize("end", ["restart_worker_pool", "shutdown"])
def test_an_idle_worker_that_stops_takes_its_tasks_processes(make_harness, watch: Watch, end: str) -> None:
    """The rule: a task's processes live as long as its worker, also one stopped normally."""
    h = make_harness(max_processes=1)
    task, pids = start_tree(h, watch, then="return")
    h.finish(task)
    assert task.get_status() == "completed"
    assert watch.alive(pids) == pids, "they outlive the task itself (the worker is still there)"
    getattr(h.mgr, end)()
    assert_gone(watch, pids)


def test_a_worker_that_dies_on_its_own_takes_its_tasks_processes(make_harness, watch: Watch) -> None:
    h = make_harness(max_processes=1)
    task, pids = start_tree(h, watch, then="die")
    h.finish(task)
    assert isinstance(task.exception(), WorkerDiedError)
    assert_gone(watch, pids)


def test_a_new_session_leaves_the_group_and_is_not_killed(make_harness, watch: Watch) -> None:
    """Documented: start_new_session=True (setsid) opts out; such processes are the task's to end."""
    h = make_harness(max_processes=1, cancel_grace_period=0.1)
    task, pids = start_tree(h, watch, new_session=True)
    task.cancel()
    h.finish(task)
    left, _ = watch.wait_gone(pids, limit=0.5)
    assert left == pids


def test_the_kill_never_reaches_the_applications_own_group(make_harness, watch: Watch) -> None:
    """A worker leads its own group: the test process (and its group) is untouched by it."""
    h = make_harness(max_processes=1, cancel_grace_period=0.1)
    task, pids = start_tree(h, watch)
    worker = task.handle.proc.pid
    assert os.getpgid(worker) == worker != os.getpgrp()
    assert all(os.getpgid(pid) == worker for pid in pids)
    task.cancel()
    h.finish(task)
    assert_gone(watch, pids)


# -- the application itself is SIGKILLed -----------------------------------------------
HERE = Path(__file__).parent


@pytest.mark.parametrize("mode", ["trees", "held", "stopped", "forked"])
def test_processes_of_every_worker_die_when_the_app_is_killed(tmp_path: Path, mode: str) -> None:
    """The app SIGKILLs itself (``tree_app.py``); nothing it started may outlive it.

    ``held``: the workers' channels end before their lifeline does (a child of
    the app holds it until the idle worker has exited: the order a dying app's
    kernel gives for a moment). ``stopped``: the app dies between an idle
    worker's exit (sent STOP) and its reaping. Either way the idle worker's
    exit must take its group: the lifeline's signal is armed on the worker's own
    file, which closes with it, and a dead app reaps nothing.
    """
    from test_frozen import _need, _pidns_problem

    problem = _pidns_problem()
    _need(problem is None, f"needs `unshare --pid --mount-proc` (root): {problem}")
    report_path = tmp_path / "pidns.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__import__("tasker").__file__).parent.parent),
                                                    env.get("PYTHONPATH")) if p)  # fmt: skip
    argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", sys.executable, str(HERE / "pidns.py")]
    argv += [str(report_path), "30", "40", "--", sys.executable, str(HERE / "tree_app.py"), mode]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=70)
    report = json.loads(report_path.read_text())
    assert report["returncode"] == -signal.SIGKILL, done.stdout + done.stderr
    trees = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("TREES "))[6:])
    assert len(trees) == 3
    print(f"\napp killed: namespace empty after {report['empty_after_s']} s; at the kill: {report['left_at_exit']}")
    # No time bound: the namespace's init waits (bounded) for them; how fast they went is printed above.
    left = report["left_after_5s"]
    if mode == "forked":  # the app's own child lives on (it waits 30 s): everything else must be gone
        forked = next(line for line in done.stdout.splitlines() if line.startswith("FORKED "))
        # (pids inside the namespace: the report's and the app's agree)
        assert list(left) == [forked.split()[1]], "processes other than the app's forked child outlived it"
        return
    assert left == {}, "processes outlived the killed app"
    assert report["empty_after_s"] is not None, "the namespace never emptied by itself"


def test_lifeline_owner_is_the_workers_group() -> None:
    """The kernel's SIGKILL on the parent's death is aimed at the group (negative F_SETOWN)."""
    code = (
        "import fcntl, os, sys\n"
        "from tasker._platform import _linux\n"
        "r, w = os.pipe()\n"
        "seen = []\n"
        "real = fcntl.fcntl\n"
        "def spy(fd, cmd, arg=0):\n"
        "    if cmd == fcntl.F_SETOWN: seen.append(arg)\n"
        "    return real(fd, cmd, arg)\n"
        "fcntl.fcntl = spy\n"
        "_linux._arm_lifeline(r)\n"
        "print(seen[0], os.getpid())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, process_group=0, check=True
    )
    owner, pid = map(int, out.stdout.split())
    assert owner == -pid
