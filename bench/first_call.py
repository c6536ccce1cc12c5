"""``python -m bench.first_call``: how long a fresh manager's first ``run_process`` holds its caller.

Each pair of runs is two fresh, byte-compiled interpreters (this tree, then each
``--baseline SRC``) that import tasker, build a ``TaskManager`` and make one
``run_process`` call, timed in the calling thread: wall time (``perf_counter``)
and CPU time (``thread_time``: what the call itself computed; the rest of the
wall time is the machine's load — preemption, another thread's GIL). The load
average is printed with the figures. For a load-independent count of the same
call use ``python -m bench.instructions --first``.

    python -m bench.first_call --baseline /tmp/old/src --pairs 10
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import os, time
from tasker import TaskManager
from bench.workloads import noop
tm = TaskManager(main_thread_scheduler=[].append, max_processes=1)
c0 = time.thread_time(); w0 = time.perf_counter()
tm.run_process(noop)
w1 = time.perf_counter(); c1 = time.thread_time()
print((w1 - w0) * 1e3, (c1 - c0) * 1e3, os.getloadavg()[0])
os._exit(0)
"""


def one(src: Path) -> tuple[float, float, float]:
    """(wall ms, CPU ms, load average) of one fresh interpreter's first run_process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)])}
    done = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"{src}: the probe failed:\n{done.stderr[-2000:]}")
    wall, cpu, load = map(float, done.stdout.split())
    return wall, cpu, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.first_call", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, action="append", default=[], metavar="SRC",
                        help="also measure tasker from this src folder (repeatable)")
    parser.add_argument("--pairs", type=int, default=10, help="runs per tree, alternated (default 10)")
    args = parser.parse_args(argv)
    trees = [ROOT / "src", *(path.resolve() for path in args.baseline)]
    for tree in trees:
        if not (tree / "tasker" / "__init__.py").exists():
            raise SystemExit(f"{tree}: no tasker package in that folder (give a src/)")
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree)], check=True, stdout=subprocess.DEVNULL)
    runs: dict[Path, list[tuple[float, float, float]]] = {tree: [] for tree in trees}
    for _ in range(max(1, args.pairs)):
        for tree in trees:
            runs[tree].append(one(tree))
    print("| tree | wall ms | CPU ms | load average |")
    print("|---|---|---|---|")
    for number, tree in enumerate(trees):
        wall, cpu, load = zip(*runs[tree], strict=True)
        print(f"| {number}: {tree} | {statistics.median(wall):.2f} ({min(wall):.2f}–{max(wall):.2f}) | "
              f"{statistics.median(cpu):.2f} ({min(cpu):.2f}–{max(cpu):.2f}) | {min(load):.0f}–{max(load):.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
