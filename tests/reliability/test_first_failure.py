"""Fresh applications whose first tasks fail at once while a thread imports asyncio.

Each application (``first_failure.py app KIND``) is a new interpreter: a task
that works, a task that raises at once, ``wait_until_settled``. Both must end,
in every one of them, for threads, processes and coroutines alike. Run in a PID
namespace of their own (the applications start worker processes).
CI: 20 applications; ``TASKER_FULL=1``: 200 (the figure docs/reliability.md gives).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .support import scale

HERE = Path(__file__).parent
APPS = scale(20, 200)

pytestmark = pytest.mark.timeout(1800)


def test_first_failures_of_fresh_applications_all_end(tmp_path: Path) -> None:
    from test_frozen import _need, _pidns_problem

    problem = _pidns_problem()
    _need(problem is None, f"needs `unshare --pid --mount-proc` (root): {problem}")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__import__("tasker").__file__).parent.parent), env.get("PYTHONPATH")) if p
    )
    report = tmp_path / "pidns.json"
    argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", sys.executable, str(HERE.parent / "pidns.py")]
    argv += [str(report), "60", str(30 * APPS), "--", sys.executable, str(HERE / "first_failure.py"), "drive"]
    argv += [str(APPS), "2"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=40 * APPS)
    lines = [line for line in done.stdout.splitlines() if line.startswith("SUMMARY ")]
    assert lines, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads(lines[-1][len("SUMMARY "):])
    print(f"\nfirst failures of {APPS} fresh applications: {summary}")
    for kind in ("thread", "process", "coroutine"):
        assert summary[kind]["both_ended"] == summary[kind]["runs"] > 0, summary
    assert json.loads(report.read_text())["left_after_5s"] == {}, "processes outlived the applications"
