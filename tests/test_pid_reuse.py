"""Signals reach only our own processes, even when the app reaps tasker's workers itself.

Each case runs ``pidreuse_app.py`` as the only program of a fresh PID namespace
(``pidns.py`` as its init): the app frees a worker's pid behind tasker's back
(SIGCHLD ignored, or a ``waitpid(-1)`` thread), an unrelated *witness* process is placed
on that very pid, and tasker then pauses, kills, terminates and reaps the dead
worker. The witness must get no signal, and the task the worker ran fails naming
what happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

if sys.platform == "win32":  # the module below is POSIX's (waitid, pidfds, process groups)
    pytest.skip("the process engine does not run on Windows yet (it needs the platform seam)", allow_module_level=True)

from tasker._platform._group import GroupLeader

pytestmark = pytest.mark.timeout(420)

HERE = Path(__file__).parent


CASES = [
    pytest.param(mode, path, leader, "held", id=f"{mode_id}-{path}-{leader_id}")
    for mode, mode_id in (("ignore", "SIGCHLD-ignored"), ("reaper", "waitpid-minus-1"))
    for path in ("signal", "reap")
    for leader, leader_id in ((True, "witness-leads-a-group"), (False, "witness-in-a-group"))
] + [  # a kernel without pidfds: the pid's start time tells the witness apart
    pytest.param(mode, path, True, "none", id=f"no-pidfd-{mode_id}-{path}")
    for mode, mode_id in (("ignore", "SIGCHLD-ignored"), ("reaper", "waitpid-minus-1"))
    for path in ("signal", "reap")
]


@pytest.mark.parametrize(("mode", "path", "leader", "pidfd"), CASES)
def test_a_freed_worker_pid_taken_by_another_process_is_never_signalled(
    tmp_path: Path, mode: str, path: str, leader: bool, pidfd: str
) -> None:
    from test_frozen import _need, _pidns_problem, result_of, run_in_pidns

    problem = _pidns_problem()
    _need(problem is None, f"needs `unshare --pid --mount-proc` (root): {problem}")
    env = dict(os.environ)
    root = str(Path(__import__("tasker").__file__).parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, str(HERE / "pidreuse_app.py"), mode, path, "1" if leader else "0", pidfd]
    report, output = run_in_pidns(cmd, env, tmp_path, seconds=360)
    assert report["stopped"] == "exited" and report["returncode"] == 0, output
    result = result_of(output)
    assert result["witness"] == result["worker"]  # the unrelated process really had the worker's pid
    assert result["signals"] == [], f"tasker signalled an unrelated process: {result}\n{output}"
    if path == "reap":
        assert result["task"].startswith("WorkerDiedError"), result
        assert "collected elsewhere" in result["task"], result


def test_a_worker_held_by_its_pidfd_is_signalled_and_reaped_through_it() -> None:
    """The usual case: the group is killed before the leader is reaped; the exit status is the real one."""
    proc = GroupLeader(["sh", "-c", "sleep 1000 & echo $!; wait"], process_group=0, stdout=subprocess.PIPE)
    assert proc._pidfd is not None
    assert proc.stdout is not None
    member = int(proc.stdout.readline())
    member_fd = os.pidfd_open(member)
    try:
        assert proc.poll() is None
        proc.signal_group(signal.SIGKILL)
        assert proc.wait(20) == -signal.SIGKILL and not proc.reaped_elsewhere
        import select

        assert select.select([member_fd], [], [], 20)[0], "the group's member survived"
        proc.kill_group()  # reaped: nothing happens, nothing raises
        proc.release()
        assert proc._pidfd is None
    finally:
        signal.pidfd_send_signal(member_fd, signal.SIGKILL)
        os.close(member_fd)
        proc.stdout.close()


@pytest.mark.parametrize("how", ["kill_group", "terminate"])
def test_without_pidfd_the_worker_is_signalled_while_it_is_our_unreaped_child(monkeypatch, how: str) -> None:
    """An old kernel (no pidfd_open): killpg/kill/waitpid only after waitid(WNOWAIT) shows our child."""
    monkeypatch.delattr(os, "pidfd_open")
    proc = GroupLeader(["sleep", "1000"], process_group=0)
    assert proc._pidfd is None and not proc._lost and proc._started is not None
    getattr(proc, how)()
    assert proc.wait(20) == (-signal.SIGKILL if how == "kill_group" else -signal.SIGTERM)
    assert not proc.reaped_elsewhere
    proc.kill_group()  # reaped: no signal by pid any more
    proc.release()


def test_an_old_kernel_without_the_group_flag_uses_killpg_while_the_leader_is_unreaped(monkeypatch) -> None:
    monkeypatch.setattr(GroupLeader, "group_flag", False)
    proc = GroupLeader(["sleep", "1000"], process_group=0)
    try:
        proc.kill_group()
        assert proc.wait(20) == -signal.SIGKILL
    finally:
        proc.release()


def test_without_pidfd_or_start_time_no_signal_goes_by_pid(monkeypatch) -> None:
    """No pidfd and no /proc start time: the pid cannot be proved ours, so it is never signalled."""
    from tasker._platform import _group

    pidfd_open = os.pidfd_open
    monkeypatch.delattr(os, "pidfd_open")
    monkeypatch.setattr(_group, "_start_time", lambda pid: None)  # /proc not mounted, or hidden
    proc = GroupLeader(["sleep", "1000"], process_group=0)
    fd = pidfd_open(proc.pid)  # the test's own proof that it is this child
    sent: list[tuple[str, int, int]] = []
    monkeypatch.setattr(os, "killpg", lambda pid, sig: sent.append(("killpg", pid, sig)))
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append(("kill", pid, sig)))
    try:
        assert proc._pidfd is None and proc._started is None
        proc.kill_group()
        proc.signal_group(signal.SIGSTOP)
        proc.terminate()
        proc.kill()
        assert proc.poll() is None  # still running: nothing was signalled, nothing reaped
        assert sent == []
    finally:
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        os.waitid(os.P_PIDFD, fd, os.WEXITED)  # reaped here (the GroupLeader never got a signal through)
        os.close(fd)
        proc.returncode = -signal.SIGKILL
