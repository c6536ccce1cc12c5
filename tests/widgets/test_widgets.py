"""tasker's widgets on GTK, Qt (PySide6 and PyQt6) and Tk: one list of scenarios, each toolkit in its real loop.

Every scenario of ``scenarios.py`` runs in a subprocess per toolkit (this pytest
process never imports a toolkit, or tasker's automatic scheduler choice would
change for the rest of the suite): GTK and Tk under the X display that
``scripts/test`` provides (Xvfb), Qt in a real ``QApplication`` with
``QT_QPA_PLATFORM=offscreen``. A test fails if the subprocess logged a warning,
a critical or a traceback. ``qt`` is ``tasker.qt`` on PySide6, ``pyqt6`` the same
scenarios on PyQt6 (``TASKER_QT_API=pyqt6``); a process never loads both bindings.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCENARIOS = HERE / "scenarios.py"
TOOLKITS = ["gtk", "qt", "pyqt6", "tk"]
#: What each runs in its subprocess: the driver (``scenarios.py``'s TOOLKIT) and TASKER_QT_API.
DRIVER = {"pyqt6": "qt"}
QT_API = {"qt": "pyside6", "pyqt6": "pyqt6"}

#: Toolkit warnings and criticals, Python warnings, tracebacks, Qt's "already deleted".
WARNING = re.compile(r"(\w+-)?(WARNING|CRITICAL)\b|Warning:|Traceback|already deleted|invalid command", re.I)


def toolkit_env(toolkit: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTEST_CURRENT_TEST", None)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.pop("TASKER_QT_API", None)
    if toolkit in QT_API:
        env["TASKER_QT_API"] = QT_API[toolkit]
    runtime = env.get("XDG_RUNTIME_DIR", "")
    if not env.get("DBUS_SESSION_BUS_ADDRESS") and not (runtime and os.path.exists(f"{runtime}/bus")):
        env["GTK_A11Y"] = "none"  # no session bus: GTK's accessibility bridge would only warn
    return env


def need(toolkit: str) -> None:
    module = {"gtk": "gi", "qt": "PySide6", "pyqt6": "PyQt6", "tk": "tkinter"}[toolkit]
    if find_spec(module) is None:
        pytest.skip(f"{module} is not installed")
    if toolkit not in QT_API and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        pytest.skip("no display (scripts/test provides Xvfb)")


def run(toolkit: str, name: str, *args: str, timeout: float = 90) -> dict[str, Any]:
    need(toolkit)
    proc = subprocess.run(
        [sys.executable, str(SCENARIOS), DRIVER.get(toolkit, toolkit), name, *args],
        cwd=ROOT,
        env=toolkit_env(toolkit),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :]) if lines else {}
    if "skip" in result:
        pytest.skip(result["skip"])
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert lines, f"no RESULT line\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    bad = [line for line in proc.stderr.splitlines() if WARNING.search(line)]
    assert not bad, f"warnings in the {toolkit} process's log:\n" + "\n".join(bad)
    return result


toolkits = pytest.mark.parametrize("toolkit", TOOLKITS)


@pytest.mark.timeout(120)
@toolkits
@pytest.mark.parametrize("which", ["custom", "shared"])
def test_widgets_follow_the_tasks(toolkit: str, which: str) -> None:
    r = run(toolkit, "follow", which)
    assert r["idle_before"] == {"text": "Idle", "busy": False}
    # One row per task, in start order, with name and kind tag.
    assert r["rows"] == [["alpha", "thread"], ["beta", "coroutine"], ["gamma", "process"], ["delta", "thread"]]
    assert r["alpha"] == {"fraction": 0.25, "message": "quarter way"}
    assert r["beta_pulsing"] is True  # no progress reported: the row pulses
    bar = r["bar_busy"]
    assert bar["busy"] and bar["text"] == "about to fail" and bar["count"] == "4 tasks"
    assert 0.0 < bar["fraction"] < 1.0
    assert r["gamma"]["eta"].endswith(" left") and r["gamma"]["message"].startswith("step ")
    # Clicking the cancel button cancels.
    assert r["alpha_canceling"] == {"message": "Canceling… (quarter way)", "enabled": False}
    assert r["alpha_status"] == "canceled"
    assert r["rows_after_cancel"] == ["beta", "gamma", "delta"]
    after = r["after"]
    assert after["statuses"] == {"alpha": "canceled", "beta": "completed", "gamma": "completed", "delta": "failed"}
    # The failure is shown, the list is empty, the status strip is idle again.
    assert after["banner"] == [["delta failed", "ValueError: boom: the gate opened onto a wall"]]
    assert after["revealed"] is True
    assert after["bar"] == {"text": "Idle", "busy": False, "count": ""}
    assert "failed:delta" in after["signals"] and "failed:alpha" not in after["signals"]
    assert {"ended:alpha", "ended:beta", "ended:gamma", "ended:delta"} <= set(after["signals"])
    # Failures within one throttle interval (never listed) are shown too.
    assert sorted(r["quick"]) == ["delta failed", "quick automatic failed", "quick when_done failed"]
    assert r["after_dismiss"] == 2  # by clicking the entry's dismiss button
    assert r["after_clear"] == {"entries": 0, "revealed": False}


@pytest.mark.timeout(120)
@toolkits
def test_status_strip_fades_or_hides_when_idle(toolkit: str) -> None:
    r = run(toolkit, "idle")
    assert r["before"] == {"fade_gone": True, "hide_shown": False}
    busy = r["busy"]
    assert busy["fade_gone"] is False and busy["hide_shown"] is True
    assert busy["count"] == "1 task" and busy["hide_count"] == "" and busy["text"].startswith("step ")
    assert r["after"] == {"fade_gone": True, "text": "Ready", "hide_shown": False, "fraction": 1.0}


@pytest.mark.timeout(120)
@toolkits
def test_invisible_tasks_are_not_shown(toolkit: str) -> None:
    r = run(toolkit, "invisible")
    assert r["rows"] == ["shown"]
    assert r["count"] == "1 task" and r["text"] == "shown work"
    assert r["banner"] == [] and r["hidden_failure"] == "failed"
    assert r["ended_signals"] == ["shown"]


@pytest.mark.timeout(120)
@toolkits
def test_destroyed_widgets_are_freed(toolkit: str) -> None:
    r = run(toolkit, "destroy")
    assert r["receivers_shown"] == 3
    assert r["receiving_after_destroy"] == [False, False, False]
    assert r["alive_after_gc"] == [False, False, False, False]  # banner, list, strip, a row
    assert r["receivers_after"] == 0
    assert r["task_after"] == "completed"


@pytest.mark.timeout(120)
@toolkits
def test_a_task_ending_after_its_window_closed_touches_nothing(toolkit: str) -> None:
    """silx#647: a signal delivered to a widget whose native object is gone."""
    r = run(toolkit, "late_end")
    assert r["receiving"] == [False, False, False]
    assert r["statuses"] == ["completed", "failed"]
    assert r["logged"] == []  # no receiver raised (e.g. "Internal C++ object already deleted")
    assert r["ended_signals"] == []
    assert r["receivers"] == 0


@pytest.mark.timeout(120)
@toolkits
def test_a_row_pauses_and_resumes_its_task(toolkit: str) -> None:
    r = run(toolkit, "pause")
    assert r["before"] == {"button": "pause", "plain": "hidden"}  # pausable=True only
    assert r["paused"] == {
        "button": "resume",
        "message": "Paused",
        "status": "running",
        "count": "1 task, 1 paused",
        "eta": "",
        "plain": "Paused",  # every list shows the paused row
    }
    assert r["resumed"] == {"button": "pause", "count": "1 task", "paused": False}
    assert r["canceled"] == "canceled"


@pytest.mark.timeout(120)
@toolkits
def test_show_after_keeps_quick_tasks_out_of_view(toolkit: str) -> None:
    r = run(toolkit, "show_after")
    assert r["quick"] == {"rows": 0, "busy": 0, "bar": "Idle"}  # never flickered into view
    assert r["slow"] == {"waited_at_least": True, "rows_30s": 0, "busy_30s": 0, "message": "slow work"}


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("first", "forced", "expected"),
    [
        ("", "", "pyside6 PySide6"),  # nothing imported yet: PySide6, installed
        ("PyQt6.QtWidgets", "", "pyqt6 PyQt6"),  # the binding the application imported
        ("PySide6.QtWidgets", "", "pyside6 PySide6"),
        ("", "PyQt6", "pyqt6 PyQt6"),  # TASKER_QT_API forces one (any case)
        ("", "qt5", "ImportError: tasker.qt: TASKER_QT_API='qt5'; expected one of pyside6, pyqt6"),
    ],
)
def test_tasker_qt_chooses_its_binding(first: str, forced: str, expected: str) -> None:
    need("qt")
    need("pyqt6")
    code = (
        "import importlib, sys\n"
        f"if {first!r}: importlib.import_module({first!r})\n"
        "try:\n"
        "    from tasker.qt._binding import API, QtCore\n"
        "except ImportError as exc:\n"
        "    print('ImportError:', exc); raise SystemExit(0)\n"
        "loaded = [p for p in ('PySide6', 'PyQt6') if p + '.QtCore' in sys.modules]\n"
        "assert QtCore.__name__ == loaded[0] + '.QtCore', (QtCore, loaded)\n"
        "print(API, *loaded)\n"
    )
    env = toolkit_env("gtk")  # no TASKER_QT_API
    if forced:
        env["TASKER_QT_API"] = forced
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.stdout.strip() == expected


@pytest.mark.timeout(240)
@pytest.mark.parametrize("toolkit", ["qt", "pyqt6", "tk"])
def test_demo_runs_its_tour_and_quits(toolkit: str, tmp_path: Path) -> None:
    """``python -m tasker.demo --qt|--tk --test-mode``: the GTK demo's tour, in that toolkit (Qt: both bindings)."""
    need(toolkit)
    shot = tmp_path / "demo.png"
    args = ["-m", "tasker.demo", f"--{DRIVER.get(toolkit, toolkit)}", "--test-mode", "--time-limit", "150"]
    if toolkit in QT_API or shutil.which("import"):  # Tk's screenshot needs ImageMagick
        args += ["--screenshot", str(shot)]
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=toolkit_env(toolkit), capture_output=True, text=True, timeout=200
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    bad = [line for line in proc.stderr.splitlines() if WARNING.search(line)]
    assert not bad, "\n".join(bad)
    out = proc.stdout
    assert "demo finished" in out
    for line in (
        "outcome: download maps: completed",
        "outcome: render image: completed",
        "outcome: checksum: completed",
        "outcome: load settings: failed — ValueError",
        "outcome: index photos: canceled",
    ):
        assert line in out, out
    assert out.count("progress updates") == 4  # the four flood workers
    assert "tour: index photos paused at" in out and "tour: index photos resumed" in out
    assert "heartbeat during flood:" in out
    if "--screenshot" in args:
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert width >= 800 and height >= 600, (width, height)
