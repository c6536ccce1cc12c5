"""``python -m bench.instructions --map noop|cpu``: the parent's instructions for one ``map``.

The same adapters and shapes as the ``map_noop`` / ``map_cpu`` scenarios (10,000
no-op items; 200 items of ~20 ms CPU), each implementation in a fresh
interpreter under callgrind, its workers warmed first (as the scenario does):

    first map   = instructions(warm-up + 1 map)     - instructions(warm-up, no map)
    later maps  = (instructions(warm-up + 1 + K maps) - instructions(warm-up + 1 map)) / K

both also per item. Callgrind counts the parent process only (every thread of
it: tasker's readers and timer, a pool's management and result threads, the
bench's collecting thread, the main loop); workers run natively. Under callgrind
the parent runs tens of times slower than its workers, so this counts what the
parent does for a map, not how the run was timed: a figure that moves with the
run's timing (how many progress reports arrived while the parent was slow) is
why each count is the median of ``--reps`` runs.
"""

from __future__ import annotations

import os
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench._callgrind import callgrind_count

ROOT = Path(__file__).resolve().parent.parent
#: The scenarios' shapes: items per map.
ITEMS = {"noop": 10_000, "cpu": 200}
#: Maps after the first (their mean is "later maps").
LATER = 2
PEERS = ("ProcessPoolExecutor-forkserver", "ProcessPoolExecutor-spawn", "loky", "pebble-ProcessPool")

_MAP = """
import sys
from bench.mainloop import MainLoop, Tracker
from bench.scenarios.base import RunCtx, warm_processes
from bench.workloads import cpu_item, map_noop

def main():
    impl, shape, maps, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    fn = map_noop if shape == "noop" else cpu_item
    loop = MainLoop()
    ctx = RunCtx(impl, False, loop)
    ad = ctx.adapter()
    warm_processes(ad, loop)
    for _ in range(maps):
        tracker = Tracker(keep=True)
        ad.map(fn, list(range(n)), on_done=tracker)
        tracker.wait(loop, 1, 3600)
        tracker.check()
        assert len(tracker.values[0]) == n, "the map gave a wrong number of results"
    for adapter in ctx.adapters:
        adapter.shutdown()

if __name__ == "__main__":
    main()
"""

Run = tuple[str, Path, int, int]  # (implementation, its tasker src, maps, repetition)


def _count(run: Run, shape: str, workdir: Path) -> int:
    impl, src, maps, rep = run
    label = f"{impl}-{abs(hash(str(src))) % 10_000}"
    out = workdir / f"callgrind.map.{shape}.{label}.{maps}.{rep}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)])}
    argv = ["-c", _MAP, "tasker" if impl.startswith("tasker") else impl, shape, str(maps), str(ITEMS[shape])]
    return callgrind_count([], out, argv, env, f"{impl} ({src}): {maps} map(s)", cwd=ROOT)


def main_map(shape: str, trees: list[Path], peers: list[str], reps: int, jobs: int, workdir: Path) -> int:
    """Count and print the table (see the module doc)."""
    impls: list[tuple[str, Path]] = [("tasker" if i == 0 else f"tasker-base{i}", tree) for i, tree in enumerate(trees)]
    impls += [(peer, trees[0]) for peer in peers]
    runs = [(impl, src, maps, rep) for impl, src in impls for maps in (0, 1, 1 + LATER) for rep in range(reps)]
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        totals = dict(zip(runs, pool.map(lambda run: _count(run, shape, workdir), runs), strict=True))
    n = ITEMS[shape]

    def median(impl: str, src: Path, maps: int) -> float:
        return statistics.median(totals[(impl, src, maps, rep)] for rep in range(reps))

    print(f"map of {n:,} {shape} items: instructions in the parent (median of {reps} run(s) each)\n")
    print("| implementation | first map (M) | per item | later maps (M, each) | per item |")
    print("|---|---|---|---|---|")
    for impl, src in impls:
        none, one, more = median(impl, src, 0), median(impl, src, 1), median(impl, src, 1 + LATER)
        first, later = one - none, (more - one) / LATER
        name = impl if not impl.startswith("tasker") else f"{impl} ({src})"
        print(f"| {name} | {first / 1e6:.1f} | {first / n:,.0f} | {later / 1e6:.1f} | {later / n:,.0f} |")
    return 0
