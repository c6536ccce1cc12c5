"""Plan the runs and execute each in a fresh interpreter, round-robin.

Each (scenario, implementation, repetition) is one ``python -m bench._one``
in its own session (process group), with a hard timeout; afterwards the
whole group is killed so no worker left behind by one run can load the
next. The implementation order rotates every repetition, so slow drifts of
a shared machine spread over all implementations instead of one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

from bench._one import PREFIX
from bench.registry import ADAPTERS, BASELINE
from bench.scenarios.base import Scenario

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Job:
    scenario: str
    impl: str
    rep: int


def planned_impls(scenario: Scenario, impls: list[str]) -> tuple[list[str], dict[str, str]]:
    """Implementations to run in ``scenario``, and the n/a ones with reasons."""
    run: list[str] = []
    na: dict[str, str] = {}
    for impl in impls:
        shown_in = ADAPTERS[impl].scenarios
        if shown_in is not None and scenario.name not in shown_in:
            continue  # not even an n/a row
        if scenario.only is not None:
            if impl in scenario.only or (impl == BASELINE and "tasker" in scenario.only and scenario.baseline):
                run.append(impl)
        elif impl == "floor":
            if scenario.floor:
                run.append(impl)
        elif (reason := scenario.applies(ADAPTERS[impl])) is None:
            run.append(impl)
        else:
            na[impl] = reason
    return run, na


def plan(scenarios: list[Scenario], impls: list[str], reps: int) -> list[Job]:
    """Repetition-major; inside a repetition, implementations rotate."""
    jobs = []
    for rep in range(reps):
        for scenario in scenarios:
            run, _ = planned_impls(scenario, impls)
            shift = rep % len(run) if run else 0
            jobs += [Job(scenario.name, impl, rep) for impl in run[shift:] + run[:shift]]
    return jobs


#: Environment variable naming the ``src`` of the baseline tasker (``--baseline``).
BASELINE_ENV = "BENCH_BASELINE_SRC"


def child_env(impl: str = "") -> dict[str, str]:
    """The work tree's ``src`` first, so the tasker measured is this one
    (the baseline's ``src`` for ``tasker-base``)."""
    env = dict(os.environ)
    src = env.get(BASELINE_ENV, "") if impl == BASELINE else ""
    paths = [src or str(ROOT / "src"), str(ROOT)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.pop("BENCH_RAYFORGE_STUB", None)
    return env


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _parse(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(PREFIX):
            return json.loads(line[len(PREFIX):])  # type: ignore[no-any-return]
    return None


def run_job(job: Job, quick: bool, timeout: float) -> dict[str, Any]:
    """One fresh interpreter; always returns a result dict, never raises.

    Output goes to files, not pipes: workers that outlive the run (loky's,
    a resource tracker) inherit the descriptors and would keep a pipe open.
    """
    cmd = [sys.executable, "-m", "bench._one", "--scenario", job.scenario, "--impl", job.impl]
    if quick:
        cmd.append("--quick")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=child_env(job.impl), stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"ok": False, "error": f"timeout: no result after {timeout:g} s"}
        finally:
            _kill_group(proc.pid)
            proc.wait()
        out.seek(0)
        err.seek(0)
        result = _parse(out.read())
        if result is None:
            tail = " | ".join(err.read().strip().splitlines()[-3:])
            return {"ok": False, "error": f"exit {proc.returncode}, no result: {tail}"}
    return result


Progress = Callable[[int, int, Job, dict[str, Any], float], None]


def compile_bytecode() -> None:
    """Write .pyc files for src/ and bench/ once, as an installed package has.

    Peers installed by pip come with bytecode; without this, a fresh interpreter
    would compile tasker from source in every run (PYTHONDONTWRITEBYTECODE is
    set on some machines), charging compile time to tasker alone. The
    ``--baseline`` tree is compiled as well: paired with a compiled tasker, an
    uncompiled tasker-base measured 1.1–1.9× *faster* warm process latency with
    the very same code (the cause is not known), so before/after must compare
    like with like.
    """
    import compileall

    folders = [ROOT / "src", ROOT / "bench"]
    if os.environ.get(BASELINE_ENV):  # tasker-base too: paired with a compiled tasker, it must be compiled
        folders.append(Path(os.environ[BASELINE_ENV]))
    for folder in folders:
        compileall.compile_dir(str(folder), quiet=1)


def run_all(jobs: list[Job], quick: bool, timeout: float,
            progress: Progress | None = None) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Run every job in order; results grouped by (scenario, implementation)."""
    compile_bytecode()
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for index, job in enumerate(jobs, 1):
        start = perf_counter()
        result = run_job(job, quick, timeout)
        result["rep"] = job.rep
        results.setdefault((job.scenario, job.impl), []).append(result)
        if progress is not None:
            progress(index, len(jobs), job, result, perf_counter() - start)
    return results
