"""SPEC §5: process tasks in frozen applications.

``tests/frozen/app.py`` is frozen with PyInstaller, onedir and onefile (built once
per test session, into a temporary directory), and run inside a fresh PID
namespace (``tests/pidns.py`` as its init, with a process cap and a time limit),
so that a regression — workers re-running the app, which starts more workers —
can never multiply processes on the machine. The monitor reports the largest
number of processes it saw; the app reports what its tasks and workers saw.

A faster variant without PyInstaller runs the same app through CPython's own
``multiprocessing.spawn.freeze_support()``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import tasker

pytestmark = pytest.mark.timeout(1500)

HERE = Path(__file__).parent
APP_DIR = HERE / "frozen"
PIDNS = HERE / "pidns.py"
REPO = HERE.parent
TASKER_ROOT = Path(tasker.__file__).resolve().parent.parent  # the tasker under test
MAX, SPARE = 2, 1  # the app's pool (tests/frozen/app.py)
#: Processes per worker: the worker, and on the posix platform its parent-death watcher (``_posix``).
PER_WORKER = 2 if os.environ.get("TASKER_PLATFORM", "").strip().lower() == "posix" else 1
WORKERS = (MAX + SPARE) * PER_WORKER  # the pool's processes at most, at rest
CAP = 3 * WORKERS + 2  # past this, the monitor kills everything: workers are multiplying
NOT_BOOTED = "multiprocessing.freeze_support()"


def _need(condition: bool, reason: str) -> None:
    """Skip when a tool is missing; under CI, fail instead (these tests must run there)."""
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (required in CI)")
        pytest.skip(reason)


def _pidns_problem() -> str | None:
    """Why ``unshare --pid --mount-proc`` cannot run here (None: it can)."""
    if shutil.which("unshare") is None:
        return "no `unshare` (util-linux)"
    probe = subprocess.run(
        ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "true"], capture_output=True, timeout=30
    )
    if probe.returncode == 0:
        return None
    # e.g. "cannot change root filesystem propagation" in a chroot whose / is no mount point
    return probe.stderr.decode(errors="replace").strip() or f"exit {probe.returncode}"


@pytest.fixture(scope="session")
def pidns() -> None:
    problem = _pidns_problem()
    _need(problem is None, f"needs `unshare --pid --mount-proc` (root): {problem}")


def run_in_pidns(cmd: list[str], env: dict[str, str], tmp: Path, seconds: float = 90) -> tuple[dict[str, Any], str]:
    """Run ``cmd`` as the only program of a new PID namespace: (monitor report, stdout+stderr)."""
    report = tmp / "pidns.json"
    argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", sys.executable, str(PIDNS)]
    argv += [str(report), str(CAP), str(seconds), "--", *cmd]
    # On timeout run() kills unshare; --kill-child then takes the whole namespace with it.
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 30)
    output = done.stdout + done.stderr
    assert report.exists(), f"the monitor wrote no report: {output}"
    return json.loads(report.read_text()), output


def app_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("_PYI") and k != "TASKER_FROZEN_WORKER"}
    (tmp / "tmp").mkdir(exist_ok=True)
    env.update(FROZEN_APP_LOG=str(tmp / "main.log"), TMPDIR=str(tmp / "tmp"), **extra)
    return env


def result_of(output: str) -> dict[str, Any]:
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, output
    return json.loads(lines[0][len("RESULT ") :])  # type: ignore[no-any-return]


def main_runs(tmp: Path) -> list[str]:
    return (tmp / "main.log").read_text().splitlines()


# -- the PyInstaller builds (once per session) -----------------------------------------
def _entry_point_dist(where: Path) -> Path:
    """A stand-in dist-info declaring pyproject's pyinstaller40 entry point.

    The installed tasker may be an editable install of another checkout; this
    makes PyInstaller find the hooks of the tasker under test the way a user's
    installed package declares them (importlib.metadata scans sys.path).
    """
    points = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]["pyinstaller40"]
    dist = where / "tasker_frozen_test-0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tasker-frozen-test\nVersion: 0\n")
    lines = "".join(f"{name} = {value}\n" for name, value in points.items())
    (dist / "entry_points.txt").write_text(f"[pyinstaller40]\n{lines}")
    return where


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory, pidns: None) -> dict[str, Path]:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        _need(False, "needs PyInstaller (pip install -e .[dev])")
    root = tmp_path_factory.mktemp("pyinstaller")
    meta = _entry_point_dist(root / "meta")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TASKER_ROOT), str(meta), env.get("PYTHONPATH")) if p)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = {}
    try:
        for mode in ("onedir", "onefile"):  # both at once: two cores
            logs[mode] = root / f"build-{mode}.log"
            with open(logs[mode], "wb") as log:
                procs[mode] = subprocess.Popen(
                    [sys.executable, "-m", "PyInstaller", "--noconfirm", f"--{mode}",
                     "--name", f"app-{mode}", "--distpath", str(root / "dist"),
                     "--workpath", str(root / f"work-{mode}"), "--specpath", str(root),
                     "--paths", str(APP_DIR), str(APP_DIR / "app.py")],
                    cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                )  # fmt: skip
        for mode, proc in procs.items():
            assert proc.wait(timeout=1200) == 0, f"PyInstaller {mode} failed:\n{logs[mode].read_text()[-3000:]}"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    for mode in procs:
        assert "hook-tasker.py" in logs[mode].read_text(), "PyInstaller did not find tasker's hook (entry point)"
    return {"onedir": root / "dist" / "app-onedir" / "app-onedir", "onefile": root / "dist" / "app-onefile"}


# -- the tests -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["onedir", "onefile"])
def test_frozen_app_runs_process_tasks(mode: str, bundles: dict[str, Path], tmp_path: Path) -> None:
    report, output = run_in_pidns([str(bundles[mode])], app_env(tmp_path), tmp_path)
    app_processes = 2 if mode == "onefile" else 1  # onefile: the bootloader's parent + the app
    print(f"\n{mode}: peak {report['peak']} processes, first task after {result_of(output)['first_task_s']} s")
    assert report["stopped"] == "exited", report
    assert report["returncode"] == 0, output
    assert report["peak"] <= WORKERS + app_processes, report["peak_processes"]
    assert report["left_at_exit"] == {}, "processes outlived the app"
    assert len(main_runs(tmp_path)) == 1, "a worker ran the app's main()"
    out = result_of(output)
    assert out["square"] == 49 and out["by_value"] == 42 and out["after"] == 81
    assert out["report"] == ["completed", 5, 1.0] and out["events"] == [0, 1, 2, 3, 4]
    assert out["coop"] == "canceled" and out["stuck"] == "canceled"
    assert out["children_after_shutdown"] == []
    for worker in out["workers"]:
        assert worker["frozen"] and worker["argv"][1] == "--multiprocessing-fork"
        assert worker["marker"] is None, "the boot marker must not reach the task's processes"
        assert worker["meipass"] == out["meipass"], "the worker runs from the app's (unpacked) bundle"
    if mode == "onefile":
        assert len(out["unpacked_dirs"]) == 1, f"workers unpacked the bundle again: {out['unpacked_dirs']}"
    assert os.listdir(tmp_path / "tmp") == [], "the unpacked bundle was not removed"


def test_frozen_app_without_freeze_support_fails_its_tasks_clearly(bundles: dict[str, Path], tmp_path: Path) -> None:
    env = app_env(tmp_path, FROZEN_APP_SKIP_FREEZE_SUPPORT="1")
    report, output = run_in_pidns([str(bundles["onedir"])], env, tmp_path)
    assert report["stopped"] == "exited" and report["returncode"] == 0, output
    assert report["peak"] <= WORKERS + 1, report["peak_processes"]
    assert report["left_at_exit"] == {}
    out = result_of(output)
    assert out["settled"] and out["statuses"] == ["failed"] * 3
    assert all(NOT_BOOTED in error for error in out["errors"]), out["errors"]
    workers = [line for line in main_runs(tmp_path) if "--multiprocessing-fork" in line]
    assert 1 <= len(workers) <= MAX + SPARE, "the app's main() ran in its workers, and they started none"


def _fake_frozen(tmp: Path) -> tuple[list[str], dict[str, str]]:
    launcher = tmp / "app-exe"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{APP_DIR / "fake_frozen.py"}" "$@"\n')
    launcher.chmod(0o755)
    env = app_env(tmp, FAKE_FROZEN_EXE=str(launcher))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TASKER_ROOT), env.get("PYTHONPATH")) if p)
    return [str(launcher)], env


def test_cpython_spawn_freeze_support_boots_workers(pidns: None, tmp_path: Path) -> None:
    cmd, env = _fake_frozen(tmp_path)
    report, output = run_in_pidns(cmd, env, tmp_path)
    assert report["stopped"] == "exited" and report["returncode"] == 0, output
    assert report["peak"] <= WORKERS + 1, report["peak_processes"]
    assert report["left_at_exit"] == {}
    assert len(main_runs(tmp_path)) == 1, "a worker ran the app's main()"
    out = result_of(output)
    print(f"\nfake frozen: first task after {out['first_task_s']} s")
    assert out["square"] == 49 and out["by_value"] == 42 and out["events"] == [0, 1, 2, 3, 4]
    assert out["coop"] == "canceled" and out["stuck"] == "canceled"
    assert all(w["argv"][1:2] == ["--multiprocessing-fork"] and w["marker"] is None for w in out["workers"])


def test_worker_that_runs_the_app_refuses_to_start_workers(pidns: None, tmp_path: Path) -> None:
    cmd, env = _fake_frozen(tmp_path)
    report, output = run_in_pidns(cmd, {**env, "FROZEN_APP_SKIP_FREEZE_SUPPORT": "1"}, tmp_path)
    assert report["stopped"] == "exited" and report["returncode"] == 0, output
    assert report["peak"] <= WORKERS + 1, report["peak_processes"]
    out = result_of(output)
    assert out["statuses"] == ["failed"] * 3 and all(NOT_BOOTED in e for e in out["errors"]), out
    assert "tasker: a tasker worker process of this frozen application ran the application itself" in output


def test_unfrozen_app_baseline(pidns: None, tmp_path: Path) -> None:
    """The same app, not frozen (for the startup figure; freeze_support() does nothing)."""
    env = app_env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TASKER_ROOT), env.get("PYTHONPATH")) if p)
    report, output = run_in_pidns([sys.executable, str(APP_DIR / "app.py")], env, tmp_path)
    assert report["returncode"] == 0, output
    out = result_of(output)
    print(f"\nnot frozen: first task after {out['first_task_s']} s, peak {report['peak']} processes")
    assert out["square"] == 49 and report["peak"] <= WORKERS + 1
    assert report["left_at_exit"] == {}
    assert all(w["argv"][1:2] != ["--multiprocessing-fork"] for w in out["workers"])


def test_pyinstaller_hooks_are_declared() -> None:
    from tasker._pyinstaller import get_hook_dirs

    (hooks,) = get_hook_dirs()
    assert os.path.isfile(os.path.join(hooks, "hook-tasker.py"))
    points = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]["pyinstaller40"]
    assert points == {"hook-dirs": "tasker._pyinstaller:get_hook_dirs"}
