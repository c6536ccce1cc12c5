"""Smoke test of the benchmark harness (``python -m bench --quick``).

Benchmarks are not timed tests: this only checks that a tiny run completes,
in fresh interpreters, and writes the documented JSON and Markdown. Peers
that are not installed (bench-only dependencies) are skipped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUMMARY_KEYS = {"median", "min", "max", "n", "vs_ref", "vs_best_peer"}


def run_bench(tmp_path: Path, only: str, impls: str) -> tuple[dict[str, Any], str]:
    md, out = tmp_path / "bench.md", tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "bench", "--quick", "--no-install", "--only", only,
           "--impl", impls, "--out-md", str(md), "--out-json", str(out), "--timeout", "40"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(out.read_text()), md.read_text()


@pytest.mark.timeout(120)
def test_quick_run_writes_expected_json(tmp_path: Path) -> None:
    impls = ["tasker", "ThreadPoolExecutor", "asyncio-threadsafe", "floor"]
    doc, md = run_bench(tmp_path, "thread_noop,import", ",".join(impls))

    assert {"command", "date", "machine", "python", "reps", "impls", "versions"} <= set(doc["meta"])
    assert doc["meta"]["quick"] is True and doc["meta"]["impls"] == impls
    assert list(doc["scenarios"]) == ["thread_noop", "import"]
    for scenario in doc["scenarios"].values():
        assert {"title", "what", "reference", "metrics", "notes", "results"} <= set(scenario)
        for entry in scenario["results"].values():
            assert entry["status"] in {"ok", "error", "n/a"}

    noop = doc["scenarios"]["thread_noop"]
    assert noop["reference"] == "ThreadPoolExecutor"
    assert noop["results"]["asyncio-threadsafe"] == {"status": "n/a", "reason": "no thread tasks"}
    for impl in ("ThreadPoolExecutor", "floor"):
        entry = noop["results"][impl]
        assert entry["status"] == "ok", entry["errors"]
        assert set(entry["summary"]) == {"latency_us", "burst_tasks_per_s", "callbacks_per_task"}
        for cell in entry["summary"].values():
            assert set(cell) >= SUMMARY_KEYS and cell["median"] > 0
    assert noop["results"]["ThreadPoolExecutor"]["summary"]["latency_us"]["vs_ref"] == 1.0
    assert "tasker" in noop["results"]  # ok or error: the row is always there

    imports = doc["scenarios"]["import"]["results"]
    assert "floor" not in imports
    assert imports["ThreadPoolExecutor"]["summary"]["threads_started"]["median"] == 0

    assert "## 1. Thread no-op tasks (`thread_noop`)" in md
    assert "| ThreadPoolExecutor |" in md and "## Targets (issues 3, 10, 20, 22)" in md


@pytest.mark.timeout(120)
def test_prestart_scenario_reports_the_machines_own_wake_up_cost(tmp_path: Path) -> None:
    """Beside tasker's first task after prestart, the floor child's round trip after the same idle."""
    doc, md = run_bench(tmp_path, "process_prestart", "tasker")
    entry = doc["scenarios"]["process_prestart"]["results"]["tasker"]
    assert entry["status"] == "ok", entry.get("errors")
    summary = entry["summary"]
    for key in ("first_vs_warm", "floor_warm_us", "floor_idle_us", "floor_idle_vs_warm"):
        assert summary[key]["median"] > 0, key
    assert "floor: after idle ÷ back to back" in md


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("impl", "module"), [
    ("pebble-ThreadPool", "pebble"),
    ("loky", "loky"),
    ("rayforge", "rayforge"),
])
def test_optional_peer_runs(tmp_path: Path, impl: str, module: str) -> None:
    pytest.importorskip(module)
    doc, _ = run_bench(tmp_path, "import", impl)
    entry = doc["scenarios"]["import"]["results"][impl]
    assert entry["status"] == "ok", entry["errors"]
    assert entry["summary"]["import_ms"]["median"] > 0


def test_plan_alternates_implementations() -> None:
    from bench.runner import plan
    from bench.scenarios import SCENARIOS

    impls = ["tasker", "ThreadPoolExecutor", "pebble-ThreadPool", "floor"]
    jobs = plan([SCENARIOS["thread_noop"]], impls, reps=3)
    orders = [[job.impl for job in jobs if job.rep == rep] for rep in range(3)]
    assert orders[0] == impls
    assert orders[1] == impls[1:] + impls[:1]
    assert all(sorted(order) == sorted(impls) for order in orders)


def test_requirements_mark_rayforge_no_deps() -> None:
    from bench.deps import parse

    reqs = {req.name: req for req in parse()}
    assert reqs["rayforge"].no_deps and reqs["rayforge"].pinned == "1.13.1"
    assert not reqs["loky"].no_deps


def test_bench_extra_lists_the_bench_requirements() -> None:
    """pyproject's `bench` extra and bench/requirements.txt name the same peers.

    scripts/setup installs the extra, then the list (Rayforge, ``--no-deps``, is only there).
    """
    from bench import deps

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(specs: list[str]) -> set[str]:
        return {re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].lower() for spec in specs}

    listed = {req.name.lower() for req in deps.parse() if not req.no_deps}
    everywhere = [spec for spec in project["dependencies"] if ";" not in spec]  # (a marked one may be absent)
    assert listed - names(everywhere) == names(project["optional-dependencies"]["bench"])


@pytest.mark.timeout(180)
def test_baseline_runs_side_by_side_and_the_control_scenarios_run(tmp_path: Path) -> None:
    """--baseline SRC (here: this very tree) adds tasker-base; pause, memory_cap and
    process_warm_recycle run for tasker (the baseline only where it applies)."""
    md, out = tmp_path / "bench.md", tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "bench", "--quick", "--no-install", "--only",
           "process_warm,pause,memory_cap,process_warm_recycle", "--impl", "tasker",
           "--baseline", str(ROOT / "src"), "--out-md", str(md), "--out-json", str(out), "--timeout", "60"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=170)
    assert done.returncode == 0, done.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert doc["meta"]["impls"] == ["tasker", "tasker-base"]
    scenarios = doc["scenarios"]
    assert set(scenarios["process_warm"]["results"]) == {"tasker", "tasker-base"}
    assert set(scenarios["pause"]["results"]) == {"tasker"}  # the baseline is not planned there
    for name, keys in (("pause", {"stop_us", "cont_us", "thread_us", "raw_stop_us"}),
                       ("memory_cap", {"react_ms", "overshoot_mib"}),
                       ("process_warm_recycle", {"latency_us", "burst_tasks_per_s"})):
        entry = scenarios[name]["results"]["tasker"]
        assert entry["status"] == "ok", entry["errors"]
        assert keys <= set(entry["summary"])
    assert scenarios["process_warm"]["results"]["tasker"]["summary"]["latency_us"]["vs_base"] > 0
    assert "## Before and after (`--baseline`)" in md.read_text()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["one-by-one", "burst"])
def test_the_instruction_count_workload_runs_every_kind(mode: str) -> None:
    """``bench.instructions`` runs this script under callgrind; here it runs natively, a few tasks each."""
    from bench import instructions

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for kind in instructions.KINDS:
        for tasks in (0, 5):
            done = subprocess.run([sys.executable, "-c", instructions._BURST, kind, str(tasks), mode],
                                  env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, f"{kind} × {tasks}: {done.stderr[-2000:]}"
