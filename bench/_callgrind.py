"""One callgrind run of a Python snippet, and the instruction count it reports.

Shared by ``bench.instructions`` (per-task and first-call counts) and
``bench.instructions_map`` (map counts).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def callgrind_count(
    options: list[str], out: Path, argv: list[str], env: dict[str, str], what: str,
    timeout: float = 3600, cwd: Path | None = None, thread: int | None = None,
) -> int:
    """Run ``python argv`` under callgrind (``options`` before the program), writing ``out``; its
    ``summary:`` count (of callgrind's thread ``thread`` when given: ``--separate-threads=yes``).

    A failed run raises ``SystemExit`` naming ``what`` and the end of its own stderr.
    """
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", *options, f"--callgrind-out-file={out}", sys.executable, *argv],
        env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=timeout,
    )
    if done.returncode != 0:  # the workload failed (an old tree without an option it uses, a hang...)
        tail = "\n".join([line for line in done.stderr.splitlines() if not line.startswith("==")][-8:])
        raise SystemExit(f"{what} failed under callgrind (exit {done.returncode}):\n{tail}")
    report = Path(f"{out}-{thread:02d}") if thread is not None else out
    for line in report.read_text(errors="replace").splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError(f"no summary line in {report}")
