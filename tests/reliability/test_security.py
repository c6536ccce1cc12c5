"""Security basics.

Design (what these tests check):

* The parent talks to each worker over one ``socketpair()``: an anonymous,
  already-connected pair with no address — no path, no abstract name, no port —
  so there is nothing another process could ``connect()`` to. The worker's end is
  handed to that worker alone (``pass_fds``); the parent closes its copy at once.
  Every other descriptor tasker opens is close-on-exec, so processes the
  application (or a task in a worker) starts inherit none of them.
* The parent unpickles only what arrives on those socketpair ends, i.e. only
  what its own workers send; a worker unpickles only what its parent sends.
* Shared memory is ``memfd`` (the linux platform): anonymous files that exist in
  no filesystem (nothing in /dev/shm or /tmp) — or, on the posix platform, a
  ``shm_open`` segment created exclusively with a random name and unlinked at
  once — reachable only through a descriptor passed over that socket, and
  freed when the last mapping closes.

The limit: a process of the same user with ptrace rights over the application
(``pidfd_getfd``, a debugger) can take any descriptor; that is the OS's trust
boundary, not something a library can close.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Any

import pytest

from .support import RHarness, dev_shm, memfd_fds, memfd_maps
from conftest import FREED_LATER_WITHOUT_GIL, children

pytestmark = pytest.mark.timeout(60)


def socket_inodes(pid: int | str) -> dict[int, int]:
    """{inode: fd} of the sockets a process holds."""
    found = {}
    base = f"/proc/{pid}/fd"
    for name in os.listdir(base):
        try:
            link = os.readlink(f"{base}/{name}")
        except OSError:
            continue
        match = re.fullmatch(r"socket:\[(\d+)\]", link)
        if match:
            found[int(match.group(1))] = int(name)
    return found


def unix_table() -> dict[int, tuple[int, int, str]]:
    """/proc/net/unix: {inode: (flags, state, path)}."""
    table = {}
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            parts = line.split()
            path = parts[7] if len(parts) > 7 else ""
            table[int(parts[6])] = (int(parts[3], 16), int(parts[5], 16), path)
    return table


def inet_inodes() -> set[int]:
    inodes = set()
    for name in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        try:
            with open(f"/proc/net/{name}") as f:
                next(f)
                inodes.update(int(line.split()[9]) for line in f if len(line.split()) > 9)
        except OSError:
            continue
    return inodes


@pytest.fixture
def busy_pool(make_rh: Any) -> tuple[RHarness, set[int], set[int]]:
    """A manager with a running task of every kind and a warm pool: (harness, worker pids, new parent sockets)."""
    before_children = children()
    before_sockets = set(socket_inodes("self"))
    h: RHarness = make_rh(max_processes=3, spare_processes=1)
    tasks = [h.start(kind, "until_canceled") for kind in ("thread", "coroutine", "process")]
    tasks.append(h.start("process", "until_canceled"))
    assert h.pump_until(lambda: all(t.is_running() for t in tasks))
    runner = h.mgr._lifecycle.runners["process"]
    ready = lambda: sum(w.state.name == "READY" for w in runner.workers)  # noqa: E731
    assert h.pump_until(lambda: ready() == 3), "two busy workers and a warm spare"
    workers = children() - before_children
    assert len(workers) == 3
    yield h, workers, set(socket_inodes("self")) - before_sockets
    for task in tasks:
        task.cancel()


def test_no_listening_socket_only_connected_socketpairs(busy_pool: Any) -> None:
    _, workers, parent_sockets = busy_pool
    table, inet = unix_table(), inet_inodes()
    # One per worker, plus the asyncio loop's own self-pipe (a socketpair within the parent).
    assert len(workers) <= len(parent_sockets) <= len(workers) + 2
    holders = {"parent": parent_sockets, **{str(pid): set(socket_inodes(pid)) for pid in workers}}
    for who, inodes in holders.items():
        assert not inodes & inet, f"{who} holds an internet socket"
        for inode in inodes:
            flags, state, path = table[inode]
            assert flags & 0x10000 == 0, f"{who}: socket {inode} is listening"
            assert state == 3, f"{who}: socket {inode} is not connected (state {state})"
            assert path == "", f"{who}: socket {inode} has an address {path!r}"
    for pid in workers:
        assert len(holders[str(pid)]) == 1, f"worker {pid} holds {len(holders[str(pid)])} sockets"


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to see socket peers")
def test_each_parent_socket_is_connected_to_exactly_one_worker(busy_pool: Any) -> None:
    _, workers, parent_sockets = busy_pool
    out = subprocess.run(["ss", "-xpna"], capture_output=True, text=True, check=True).stdout
    peer_of = {}
    for line in out.splitlines():
        match = re.search(r"\*\s+(\d+)\s+\*\s+(\d+)", line)
        if match:
            peer_of[int(match.group(1))] = int(match.group(2))
    owner = {inode: pid for pid in workers for inode in socket_inodes(pid)}
    owner.update({inode: os.getpid() for inode in socket_inodes("self")})
    peers = [owner.get(peer_of[inode]) for inode in parent_sockets]
    # Each parent socket's other end is held by one of its workers, or by the parent itself
    # (the asyncio loop's self-pipe); each worker holds exactly one.
    assert set(peers) <= workers | {os.getpid()}, f"a socket connected to someone else: {peers}"
    assert sorted(p for p in peers if p in workers) == sorted(workers)


def test_no_other_process_can_reach_the_sockets(busy_pool: Any) -> None:
    _, workers, parent_sockets = busy_pool
    me = os.getpid()
    targets = [(me, fd) for inode, fd in socket_inodes("self").items() if inode in parent_sockets]
    targets += [(pid, fd) for pid in workers for fd in socket_inodes(pid).values()]
    probe = (
        "import socket, sys\n"
        "for pid, fd in eval(sys.argv[1]):\n"
        "    path = f'/proc/{pid}/fd/{fd}'\n"
        "    try:\n"
        "        open(path, 'rb'); print('OPENED', path)\n"
        "    except OSError:\n"
        "        pass\n"
        "    s = socket.socket(socket.AF_UNIX)\n"
        "    try:\n"
        "        s.connect(path); print('CONNECTED', path)\n"
        "    except OSError:\n"
        "        pass\n"
        "print('done')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, repr(targets)], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "done", out.stdout + out.stderr


def test_children_of_the_app_and_of_workers_inherit_nothing(busy_pool: Any) -> None:
    h = busy_pool[0]
    # A subprocess the application starts, even with close_fds=False:
    listing = subprocess.run(
        [sys.executable, "-c", "import os; print({int(fd): os.readlink('/proc/self/fd/' + fd) "
         "for fd in os.listdir('/proc/self/fd') if os.path.exists('/proc/self/fd/' + fd)})"],
        capture_output=True, text=True, close_fds=False, check=True,
    ).stdout
    leaked = [link for link in eval(listing).values() if "socket:" in link or "tasker-" in link]
    assert leaked == [], f"the app's subprocess inherited {leaked}"
    # A subprocess a task starts inside a worker, also with close_fds=False:
    report = h.finish(h.start("process", "fd_report")).result()
    links = report["fds"].values()
    assert sum("socket:" in link for link in links) == 1
    assert sorted(int(fd) for fd in report["grandchild_fds"].strip("[]").replace("'", "").split(", ")) == [0, 1, 2, 3]


@FREED_LATER_WITHOUT_GIL
def test_shared_memory_is_anonymous_private_and_freed(make_rh: Any) -> None:
    pytest.importorskip("numpy")
    h: RHarness = make_rh(max_processes=1)
    shm_before = dev_shm()
    tmp_before = set(os.listdir("/tmp"))
    got: list[int] = []
    task = h.start("process", "big_array", 16 << 20, when_event=None)
    event = h.start("process", "event_big", 4 << 20, when_event=lambda t, n, data: got.append(len(data)))
    h.finish(task)
    h.finish(event)
    h.settle()
    value = task.result()
    assert len(value) == 2 << 20 and got == [4 << 20]
    with open("/proc/self/maps") as f:
        maps = [line for line in f if "tasker-payload" in line]
    assert maps and all(line.rstrip().endswith("(deleted)") for line in maps), "in no filesystem"
    assert dev_shm() == shm_before, "nothing in /dev/shm"
    assert not {n for n in set(os.listdir("/tmp")) - tmp_before if "tasker" in n}, "nothing in /tmp"
    worker = next(iter(h.mgr._lifecycle.runners["process"].workers)).proc.pid
    assert memfd_fds(worker) == 1 and memfd_maps(worker) == 0, "the worker keeps only its cancel-flag page"
    del value, task
    h.done.clear()
    h.updates.clear()
    h.log.clear()
    import gc

    gc.collect()
    assert memfd_maps() == 0, "freed once the result is dropped"
