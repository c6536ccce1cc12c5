"""UI stalls of a real GTK 4 window while four process workers flood progress, against a baseline.

    python -m bench.ui_stall [--rounds N] [--seconds S] [--json PATH]

A 5 ms ``GLib.timeout_add`` heartbeat runs in the window; a *stall* is a gap
between beats beyond its 5 ms. Two scenarios, each in a fresh process
(``tests/gtk/scenarios.py``), alternated round by round on the same machine:

* ``stall``: tasker's ``TaskListView`` and ``TaskProgressBar`` show four process
  tasks calling ``set_progress`` flat out for S seconds;
* ``baseline``: the same heartbeat beside four plain busy processes (no tasker):
  what the machine's scheduler alone does to the UI thread with four CPU hogs.

Reported: max and p99 stall of each (median over the rounds), their ratios
(tasker ÷ baseline), and the UI thread's busy share in both. The figure that
says "tasker does not make the UI stall" is the ratio: absolute stalls follow the
machine's load (the test suite asserts no time bound; see docs/bench-method.md).
Without a display it re-runs itself under ``xvfb-run``.
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
FIGURES = ("max_stall_ms", "p99_stall_ms", "median_stall_ms", "main_thread_busy")


def run_scenario(name: str, seconds: float, timeout: float = 180.0) -> dict[str, Any]:
    env = dict(os.environ)
    env.setdefault("GSK_RENDERER", "cairo")  # Mesa's software GL would compete for the CPUs itself
    if not env.get("DBUS_SESSION_BUS_ADDRESS"):
        env["GTK_A11Y"] = "none"
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


def measure(rounds: int, seconds: float) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "stall": []}
    for i in range(rounds):
        for name in ("baseline", "stall") if i % 2 == 0 else ("stall", "baseline"):  # alternate the order
            result = run_scenario(name, seconds)
            runs[name].append(result)
            print(f"round {i + 1} {name:8}: max {result['max_stall_ms']} ms, p99 {result['p99_stall_ms']} ms, "
                  f"UI thread busy {result.get('main_thread_busy', 0):.1%}", file=sys.stderr, flush=True)
    summary: dict[str, Any] = {"rounds": rounds, "seconds": seconds, "cpus": os.cpu_count(),
                               "load": round(os.getloadavg()[0], 2), "runs": runs}
    for name, results in runs.items():
        summary[name] = {f: statistics.median(r.get(f, 0.0) for r in results) for f in FIGURES}
    for figure in ("max_stall_ms", "p99_stall_ms"):
        ratios = [s[figure] / max(b[figure], 0.01) for s, b in zip(runs["stall"], runs["baseline"], strict=True)]
        summary[f"{figure}_ratio"] = round(statistics.median(ratios), 2)
    return summary


def table(summary: dict[str, Any]) -> str:
    base, tasker = summary["baseline"], summary["stall"]
    rows = [
        "| | max stall | p99 stall | median stall | UI thread busy |",
        "|---|---|---|---|---|",
        f"| baseline: 4 busy processes, no tasker | {base['max_stall_ms']:.1f} ms | {base['p99_stall_ms']:.2f} ms "
        f"| {base['median_stall_ms']:.3f} ms | {base['main_thread_busy']:.1%} |",
        f"| tasker: 4 workers flooding set_progress | {tasker['max_stall_ms']:.1f} ms "
        f"| {tasker['p99_stall_ms']:.2f} ms | {tasker['median_stall_ms']:.3f} ms | {tasker['main_thread_busy']:.1%} |",
        f"| **tasker ÷ baseline** (median of per-round ratios) | **{summary['max_stall_ms_ratio']:.2f}×** "
        f"| **{summary['p99_stall_ms_ratio']:.2f}×** | | |",
    ]
    return "\n".join(rows) + (f"\n\n{summary['rounds']} rounds of {summary['seconds']:g} s, {summary['cpus']} CPUs, "
                              f"load {summary['load']} at the end.")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_stall", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        if shutil.which("xvfb-run") is None:
            print("no display and no xvfb-run: run scripts/setup first", file=sys.stderr)
            return 2
        argv = ["xvfb-run", "-a", "-s", "-screen 0 1280x900x24", sys.executable, "-m", "bench.ui_stall", *sys.argv[1:]]
        return subprocess.run(argv, cwd=ROOT).returncode
    summary = measure(args.rounds, args.seconds)
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=1))
    print(table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
