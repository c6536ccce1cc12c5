"""Run a command inside a fresh PID namespace, watched by this script as its init.

    unshare --pid --fork --kill-child --mount-proc python pidns.py REPORT LIMIT SECONDS -- CMD...

As PID 1 of the namespace this script starts CMD, reaps every orphan, and samples
the number of live processes in the namespace (itself excluded; zombies not
counted) every few milliseconds. If that number passes LIMIT, or CMD runs past
SECONDS, it SIGKILLs everything in the namespace. Once CMD has exited it waits
(at most 5 s) for the processes CMD left behind, then kills them too. It writes a
JSON report to REPORT: CMD's exit code, the largest process count seen (and the
command lines at that moment), what was alive when CMD exited and 5 s later (and
how long after CMD's exit the namespace was empty), and why it stopped.
When this script exits, ``--kill-child`` and the kernel end whatever remains: a
test that uses it can never leave processes on the machine.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time


def live() -> dict[int, str]:
    """Live processes of this namespace, except this one: pid -> command line."""
    me = os.getpid()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if state in ("Z", "X"):
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                found[int(entry)] = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
    return found


def reap(keep: int | None = None) -> None:
    """Reap the orphans that ended (init's job), but never ``keep`` (the command: its status is ours)."""
    while True:
        try:
            found = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if found is None:
            return
        if found.si_pid == keep:
            # Not reaped here: proc.wait() must see its status. Reap the others one by one.
            for pid in _children():
                if pid != keep:
                    try:
                        os.waitpid(pid, os.WNOHANG)
                    except ChildProcessError:
                        pass
            return
        os.waitpid(found.si_pid, 0)


def _children() -> list[int]:
    me = str(os.getpid())
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[1] == me:
                        kids.append(int(entry))
            except OSError:
                continue
    return kids


def kill_all() -> None:
    try:
        os.kill(-1, signal.SIGKILL)  # every process of the namespace but this one
    except ProcessLookupError:
        pass


def main() -> None:
    report_path, limit, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    command = sys.argv[sys.argv.index("--") + 1 :]
    assert os.getpid() == 1, "run me as the init of a new PID namespace (unshare --pid --fork)"
    started = time.monotonic()
    proc = subprocess.Popen(command)
    pidfd = os.pidfd_open(proc.pid)
    peak, peak_cmds, stopped = 0, {}, "exited"
    returncode = None
    while True:
        ready, _, _ = select.select([pidfd], [], [], 0.005)
        now = live()
        if len(now) > peak:
            peak, peak_cmds = len(now), now
        if ready:
            returncode = proc.wait()
            break
        if len(now) > limit:
            stopped = "too many processes"
            break
        if time.monotonic() - started > seconds:
            stopped = "timeout"
            break
        reap(keep=proc.pid)
    if returncode is None:
        kill_all()
        returncode = proc.wait()
    reap()
    exited = time.monotonic()
    at_exit = left = live()
    deadline = exited + 5.0
    while left and time.monotonic() < deadline:  # e.g. workers of a killed app, going by their lifeline
        select.select([], [], [], 0.002)
        reap()
        left = live()
    empty_after = None if left else round(time.monotonic() - exited, 4)
    kill_all()
    report = {
        "returncode": returncode,
        "peak": peak,
        "peak_processes": peak_cmds,
        "left_at_exit": at_exit,
        "left_after_5s": left,
        "empty_after_s": empty_after,
        "stopped": stopped,
        "seconds": round(time.monotonic() - started, 3),
    }
    with open(report_path, "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main()
