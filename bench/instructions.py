"""``python -m bench.instructions``: the parent's CPU cost of one task, in instructions.

Wall-clock figures on a shared machine move by ±15% from run to run; an
instruction count moves by about 1%. This runs a headless manager (one thread,
one worker process) through N no-op tasks under ``valgrind --tool=callgrind``,
one at a time (``--mode burst``: all at once, which varies by a few percent
with the run's timing), once with N tasks and once with none, and reports

    per task = (instructions with N tasks - instructions with 0) / N

for each kind, for this tree and for every ``--baseline SRC`` (an older
``src/`` folder: before/after in one run). Callgrind counts the parent
process only (every thread of it); worker processes run natively and are not
counted. The manager's clock is a ``FakeClock`` that never moves, so the
throttled ``tasks_updated`` is emitted once: the figure is the cost of the
task itself, not of how many UI updates happened to fall into the run (that
depends on how fast the run went, and each one costs in proportion to the live
tasks). Needs ``valgrind`` (``apt install valgrind``); takes a few minutes.

    python -m bench.instructions                       # this tree, every kind
    python -m bench.instructions --kinds thread --baseline /tmp/old/src

``--first`` counts something else: the instructions a fresh, byte-compiled
interpreter's *calling thread* spends in its first ``run_process`` (what
blocks the UI thread), as (thread 1 with the call - thread 1 without it), each
run ending with ``os._exit`` right after; ``--separate-threads=yes`` keeps the
starter thread's work out. Median of ``--reps`` pairs (the garbage collector
runs in whichever thread crosses its threshold: a few hundred thousand either way).

    python -m bench.instructions --first --baseline /tmp/old/src

``--map noop|cpu`` counts the parent's instructions for one ``map`` of the
``map_noop`` / ``map_cpu`` scenarios' shape, for tasker, each ``--baseline``
and the peers (``--impl``), first map and later ones (``bench.instructions_map``).

    python -m bench.instructions --map cpu --baseline /tmp/old/src --reps 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench._callgrind import callgrind_count
from bench.instructions_map import PEERS, main_map

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("thread", "coroutine", "process")
#: Tasks per kind: enough that the per-task figure is stable to 0.1k instructions.
TASKS = {"thread": 3000, "coroutine": 3000, "process": 2000}

_BURST = """
import sys, threading
from tasker import TaskManager
from tasker.testing import FakeClock

def noop(context):
    return None

async def a_noop(context):
    return None

kind, n = sys.argv[1], int(sys.argv[2])
tm = TaskManager(main_thread_scheduler="headless", max_threads=1, max_processes=1, clock=FakeClock())
start = {"thread": tm.run_thread, "process": tm.run_process}.get(kind)
func = noop
if kind == "coroutine":
    start, func = tm.add_coroutine, a_noop
first = threading.Event()
start(func, when_done=lambda task: first.set())  # warm: the worker is up, the code paths are loaded
assert first.wait(120), "the first task did not end"
if sys.argv[3] == "one-by-one":  # the same path for every task: the count is repeatable
    ended = threading.Event()
    for _ in range(n):
        ended.clear()
        start(func, when_done=lambda task: ended.set())
        assert ended.wait(120), "a task did not end"
else:  # a burst: how many are queued at a time depends on the run's timing
    done, count = threading.Event(), [0]

    def when_done(task):
        count[0] += 1
        if count[0] == n:
            done.set()

    for _ in range(n):
        start(func, when_done=when_done)
    assert n == 0 or done.wait(600), "the tasks did not end"
tm.shutdown()
"""

#: The first run_process of a fresh manager, in the calling thread; "none" stops right before it.
_FIRST = """
import os, sys
from tasker import TaskManager
from bench.workloads import noop
posted = []
tm = TaskManager(main_thread_scheduler=posted.append, max_processes=1)
if sys.argv[1] == "call":
    tm.run_process(noop)
os._exit(0)
"""


def count_first(number: int, src: Path, mode: str, rep: int, workdir: Path) -> int:
    """Instructions of the calling thread (callgrind's thread 1) in one fresh run of ``_FIRST``."""
    out = workdir / f"callgrind.first.{number}.{mode}.{rep}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)]), "PYTHONHASHSEED": "0"}
    return callgrind_count(["--separate-threads=yes"], out, ["-c", _FIRST, mode], env,
                           f"{src}: the first-call run", timeout=600, thread=1)


def main_first(trees: list[Path], reps: int, jobs: int, keep: Path | None) -> int:
    import statistics

    for tree in trees:  # byte-compiled, as an installed package is
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree)], check=True, stdout=subprocess.DEVNULL)
    runs = [(number, tree, mode, rep) for number, tree in enumerate(trees) for rep in range(reps)
            for mode in ("none", "call")]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max(1, jobs)) as pool:
        workdir = Path(tmp)
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            workdir = keep
        totals = dict(zip(runs, pool.map(lambda run: count_first(*run, workdir), runs), strict=True))
    print(f"first run_process, calling thread, thousands of instructions (median of {reps}; min-max):\n")
    print("| tree | first run_process |")
    print("|---|---|")
    for number, tree in enumerate(trees):
        diffs = [(totals[(number, tree, "call", rep)] - totals[(number, tree, "none", rep)]) / 1000
                 for rep in range(reps)]
        print(f"| {number}: {tree} | {statistics.median(diffs):.0f} ({min(diffs):.0f}-{max(diffs):.0f}) |")
    return 0


def count(tree: int, src: Path, kind: str, tasks: int, mode: str, workdir: Path) -> int:
    """Instructions callgrind counted in the parent for one run (``tree``: its number in the table)."""
    out = workdir / f"callgrind.{tree}.{kind}.{mode}.{tasks}"
    env = {**os.environ, "PYTHONPATH": str(src)}
    return callgrind_count([], out, ["-c", _BURST, kind, str(tasks), mode], env, f"{src}: {kind} × {tasks}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated: " + ",".join(KINDS))
    parser.add_argument("--baseline", type=Path, action="append", default=[], metavar="SRC",
                        help="also measure tasker from this src folder (repeatable)")
    parser.add_argument("--mode", choices=("one-by-one", "burst"), default="one-by-one",
                        help="one task at a time (default: the same path each time, repeatable to "
                             "about 1%%) or all at once (throughput; varies by a few %%)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep callgrind's files here (for callgrind_annotate): "
                             "callgrind.TREE.KIND.MODE.TASKS, TREE as numbered in the table")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="valgrind runs at once")
    parser.add_argument("--first", action="store_true",
                        help="count the calling thread's instructions in a fresh manager's first run_process")
    parser.add_argument("--reps", type=int, default=3, help="--first, --map: runs per count (median)")
    parser.add_argument("--map", choices=("noop", "cpu"),
                        help="count one map of the map_noop / map_cpu shape (tasker, baselines, peers)")
    parser.add_argument("--impl", default=",".join(PEERS),
                        help="--map: the peers to count too, comma-separated (empty: none)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("bench.instructions needs valgrind: apt install valgrind")
    kinds = [kind.strip() for kind in args.kinds.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise SystemExit(f"unknown kind(s): {', '.join(unknown)}; known: {', '.join(KINDS)}")
    trees = [ROOT / "src", *(path.resolve() for path in args.baseline)]
    for tree in trees:
        if not (tree / "tasker" / "__init__.py").exists():
            raise SystemExit(f"{tree}: no tasker package in that folder (give a src/)")
    if args.map:
        peers = [name.strip() for name in args.impl.split(",") if name.strip()]
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            if args.keep is not None:
                args.keep.mkdir(parents=True, exist_ok=True)
                workdir = args.keep
            return main_map(args.map, trees, peers, max(1, args.reps), args.jobs, workdir)
    if args.first:
        return main_first(trees, max(1, args.reps), args.jobs, args.keep)
    runs = [(number, tree, kind, n) for number, tree in enumerate(trees) for kind in kinds for n in (0, TASKS[kind])]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max(1, args.jobs)) as pool:
        workdir = Path(tmp)
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            workdir = args.keep
        totals = dict(zip(runs, pool.map(lambda run: count(*run, args.mode, workdir), runs), strict=True))
    print(f"{args.mode}, per task, thousands of instructions in the parent:\n")
    print("| tree | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for number, tree in enumerate(trees):
        cells = [
            f"{(totals[(number, tree, kind, TASKS[kind])] - totals[(number, tree, kind, 0)]) / TASKS[kind] / 1000:.1f}"
            for kind in kinds
        ]
        print(f"| {number}: {tree} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
