"""Fresh applications that import NumPy for the first time while NumPy arrays arrive from tasks.

Each application (``first_import.py app KIND``) is a new interpreter whose main
thread runs ``import numpy`` while process tasks' arrays are unpickled by
tasker's reader (``cluster``: while tasker's thread starting the embedded
cluster imports ``distributed``, and NumPy with it). Every task must complete
with its array and the application's import must work, in every one of them.
Run in a PID namespace of their own (the applications start worker processes).
CI: 20 process applications and 2 cluster ones; ``TASKER_FULL=1``: 200 and 20
(the figures docs/reliability.md gives, measured with two busy processes beside).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .support import scale

HERE = Path(__file__).parent

pytestmark = pytest.mark.timeout(3600)


@pytest.mark.parametrize(("kind", "apps"), [("process", scale(20, 200)), ("cluster", scale(2, 20))])
def test_fresh_applications_import_numpy_while_arrays_arrive(tmp_path: Path, kind: str, apps: int) -> None:
    from test_frozen import _need, _pidns_problem

    problem = _pidns_problem()
    _need(problem is None, f"needs `unshare --pid --mount-proc` (root): {problem}")
    pytest.importorskip("numpy")
    if kind == "cluster":
        _need(importlib.util.find_spec("distributed") is not None, "needs dask.distributed (the dask extra)")
    env = dict(os.environ, TASKER_FIRST_IMPORT_KINDS=kind)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__import__("tasker").__file__).parent.parent), env.get("PYTHONPATH")) if p
    )
    report = tmp_path / "pidns.json"
    argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", sys.executable, str(HERE.parent / "pidns.py")]
    argv += [str(report), "80", str(300 * apps), "--", sys.executable, str(HERE / "first_import.py"), "drive"]
    argv += [str(apps), "2"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300 * apps + 60)
    lines = [line for line in done.stdout.splitlines() if line.startswith("SUMMARY ")]
    assert lines, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads(lines[-1][len("SUMMARY "):])
    print(f"\n{apps} fresh applications importing NumPy while arrays arrive ({kind}): {summary}")
    assert summary[kind]["all_ok"] == summary[kind]["runs"] == apps, summary
    assert json.loads(report.read_text())["left_after_5s"] == {}, "processes outlived the applications"
