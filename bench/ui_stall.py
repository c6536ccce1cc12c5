"""UI stalls of a real GTK 4 window while four process workers flood progress, against a baseline.

    python -m bench.ui_stall [--rounds N] [--seconds S] [--compare SRC] [--json PATH]

A 5 ms ``GLib.timeout_add`` heartbeat runs in the window; a *stall* is a gap
between beats beyond its 5 ms. Three scenarios, each in a fresh process
(``tests/gtk/scenarios.py``), in a rotating order round by round on the same machine:

* ``stall``: tasker's ``TaskListView`` and ``TaskProgressBar`` show four process
  tasks calling ``set_progress`` flat out for S seconds;
* ``baseline``: the same heartbeat beside four plain busy processes (no tasker):
  what the machine's scheduler alone does to the UI thread with four CPU hogs;
* ``machinery``: ``stall`` without tasker's widgets (a label only): the flood, the
  readers, the throttle and ``tasks_updated`` to a receiver that counts — what
  tasker's own machinery costs the UI thread, apart from drawing;
* ``drawn``: ``baseline`` with a window of four progress rows redrawn 20 times a
  second by a plain GLib timer (no tasker): what *showing* progress costs the UI
  here, whoever feeds it (under Xvfb each redraw waits for the X server, which
  the load starves too);
* with ``--compare SRC``, ``before``: ``stall`` with tasker imported from SRC
  (e.g. ``git archive main src | tar -x -C /tmp/base``, then ``/tmp/base/src``).

Reported: max and p99 stall of each (median over the rounds), the ratios of the
stall figures (median of the per-round ratios), the UI thread's busy share, and
on Linux ``blocked``: the ms per run the UI thread was neither running nor
waiting for a CPU beyond the heartbeat's own 5 ms sleep (the X server, the GIL,
a lock). ``machinery ÷ baseline`` is what tasker's delivery costs the UI;
``tasker ÷ drawn`` what tasker's widgets cost beyond any progress window;
``tasker ÷ baseline`` also counts the redrawing itself. Absolute stalls follow the machine's load
(the test suite asserts no time bound; see docs/bench-method.md). Without a
display it re-runs itself under ``xvfb-run``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "tests" / "gtk" / "scenarios.py"
FIGURES = ("max_stall_ms", "p99_stall_ms", "median_stall_ms", "main_thread_busy", "blocked_ms")
#: (numerator, denominator) of the reported ratios; those naming "before" need ``--compare``.
RATIOS = (
    ("stall", "baseline"), ("machinery", "baseline"), ("drawn", "baseline"), ("stall", "drawn"),
    ("before", "drawn"), ("stall", "before"),
)
LABELS = {
    "baseline": "baseline: 4 busy processes, no tasker",
    "machinery": "machinery: tasker's flood and delivery, no widgets",
    "drawn": "drawn: the same + 4 progress rows redrawn 20/s, no tasker",
    "stall": "tasker: 4 workers flooding set_progress",
    "before": "tasker from --compare SRC, same flood",
}


def run_scenario(name: str, seconds: float, timeout: float = 180.0, src: Path | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    env.setdefault("GSK_RENDERER", "cairo")  # Mesa's software GL would compete for the CPUs itself
    if not env.get("DBUS_SESSION_BUS_ADDRESS"):
        env["GTK_A11Y"] = "none"
    if src is not None:  # that tasker first on the path (the workers inherit sys.path)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, str(SCENARIOS), name, str(seconds)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"scenario {name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
    if "skip" in result:
        raise RuntimeError(f"scenario {name}: {result['skip']}")
    return result


def measure(rounds: int, seconds: float, compare: Path | None = None) -> dict[str, Any]:
    names = ["baseline", "machinery", "drawn", "stall"] + (["before"] if compare is not None else [])
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    loads = [os.getloadavg()[0]]
    for i in range(rounds):
        for name in names[i % len(names):] + names[: i % len(names)]:  # rotate the order round by round
            result = run_scenario("stall", seconds, src=compare) if name == "before" else run_scenario(name, seconds)
            runs[name].append(result)
            loads.append(os.getloadavg()[0])
            print(f"round {i + 1} {name:8}: max {result['max_stall_ms']} ms, p99 {result['p99_stall_ms']} ms, "
                  f"UI thread busy {result.get('main_thread_busy', 0):.1%}, blocked {result.get('blocked_ms', '?')} ms",
                  file=sys.stderr, flush=True)
    summary: dict[str, Any] = {"rounds": rounds, "seconds": seconds, "cpus": os.cpu_count(),
                               "load": round(statistics.median(loads), 2), "load_range": [round(min(loads), 2),
                               round(max(loads), 2)], "compare": str(compare) if compare else None, "runs": runs}
    for name, results in runs.items():
        summary[name] = {f: statistics.median(r.get(f, 0.0) for r in results) for f in FIGURES}
    summary["ratios"] = {}
    for top, bottom in RATIOS:
        if top not in runs or bottom not in runs:
            continue
        summary["ratios"][f"{top}/{bottom}"] = {
            figure: round(statistics.median(
                t[figure] / max(b[figure], 0.01) for t, b in zip(runs[top], runs[bottom], strict=True)), 2)
            for figure in ("max_stall_ms", "p99_stall_ms")
        }
    return summary


def table(summary: dict[str, Any]) -> str:
    rows = [
        "| | max stall | p99 stall | median stall | UI thread busy | UI thread blocked |",
        "|---|---|---|---|---|---|",
    ]
    for name in summary["runs"]:
        f = summary[name]
        rows.append(f"| {LABELS[name]} | {f['max_stall_ms']:.1f} ms | {f['p99_stall_ms']:.2f} ms "
                    f"| {f['median_stall_ms']:.3f} ms | {f['main_thread_busy']:.1%} | {f['blocked_ms']:.0f} ms |")
    rows += ["", "| ratio (median of per-round ratios) | max stall | p99 stall |", "|---|---|---|"]
    for key, ratio in summary["ratios"].items():
        top, bottom = key.split("/")
        rows.append(f"| **{top} ÷ {bottom}** | **{ratio['max_stall_ms']:.2f}×** | **{ratio['p99_stall_ms']:.2f}×** |")
    low, high = summary["load_range"]
    return "\n".join(rows) + (f"\n\n{summary['rounds']} rounds of {summary['seconds']:g} s, {summary['cpus']} CPUs, "
                              f"load average {summary['load']} (median; {low}–{high}) during the run.")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_stall", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--compare", type=Path, default=None, metavar="SRC",
                        help="also run the flood with the tasker of this src folder (before ÷ after)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        if shutil.which("xvfb-run") is None:
            print("no display and no xvfb-run: run scripts/setup first", file=sys.stderr)
            return 2
        argv = ["xvfb-run", "-a", "-s", "-screen 0 1280x900x24", sys.executable, "-m", "bench.ui_stall", *sys.argv[1:]]
        return subprocess.run(argv, cwd=ROOT).returncode
    summary = measure(args.rounds, args.seconds, args.compare)
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=1))
    print(table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
