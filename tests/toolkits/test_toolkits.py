"""Each scheduler in its toolkit's real event loop (subprocesses: no toolkit in pytest itself)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(90)

SCENARIO = Path(__file__).with_name("scenario.py")


def run(toolkit: str, **env: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, str(SCENARIO), toolkit],
        capture_output=True,
        text=True,
        timeout=80,
        env={**os.environ, **env},
    )
    assert out.returncode == 0, out.stderr
    report: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return report


def check(report: dict[str, object], scheduler: str) -> None:
    assert report["scheduler"] == scheduler
    assert report["off_main"] == [], "every callback runs on the main thread"
    assert sorted(report["done"]) == [  # type: ignore[call-overload]
        ["coroutine", "completed", 5],
        ["process", "completed", 5],
        ["thread", "completed", 5],
    ]
    assert report["events"] == 15
    assert report["scheduled"] == 1
    assert report["updates"] >= 1


def test_qt_application_gets_callbacks_on_gui_thread() -> None:
    pytest.importorskip("PySide6")
    check(run("qt", QT_QPA_PLATFORM="offscreen"), "QtScheduler")


def test_pyqt6_application_gets_callbacks_on_gui_thread() -> None:
    pytest.importorskip("PyQt6")
    check(run("pyqt6", QT_QPA_PLATFORM="offscreen"), "QtScheduler")


def test_tk_application_gets_callbacks_on_main_thread() -> None:
    pytest.importorskip("tkinter")
    if not os.environ.get("DISPLAY"):
        pytest.skip("Tk needs a display (scripts/test provides Xvfb)")
    check(run("tk"), "TkScheduler")


def test_asyncio_application() -> None:
    report = run("asyncio")
    check(report, "AsyncioScheduler")
    assert report["awaited"] == 42


def test_toolkit_schedulers_need_their_application_first() -> None:
    """A clear error instead of callbacks that would never run."""
    tkinter = pytest.importorskip("tkinter")
    from tasker.schedulers import TkScheduler

    if getattr(tkinter, "_default_root", None) is None:
        with pytest.raises(RuntimeError, match="Tk root window"):
            TkScheduler()
    qt_core = pytest.importorskip("PySide6.QtCore")
    from tasker.schedulers import QtScheduler

    if qt_core.QCoreApplication.instance() is None:
        with pytest.raises(RuntimeError, match="QApplication"):
            QtScheduler()


PRESTART = Path(__file__).with_name("prestart_idle.py")


@pytest.mark.parametrize("toolkit", ["gtk", "qt", "tk"])
def test_prestart_when_idle_warms_the_pool_from_the_main_loop(toolkit: str) -> None:
    env = dict(os.environ)
    if toolkit == "qt":
        pytest.importorskip("PySide6")
        env["QT_QPA_PLATFORM"] = "offscreen"
    elif not os.environ.get("DISPLAY"):
        pytest.skip(f"{toolkit} needs a display (scripts/test provides Xvfb)")
    if toolkit == "gtk":
        env.setdefault("GTK_A11Y", "none")
    out = subprocess.run([sys.executable, str(PRESTART), toolkit], capture_output=True, text=True, timeout=80, env=env)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    calls = [[True, {"processes": True, "cluster": False, "preload": []}]]
    assert report["prestart_calls"] == calls, "once, from the main loop"
    assert report["ran_on_ready_worker"] is True, "the first task ran on the prestarted worker"
    assert report["left"] == [], "shutdown leaves no worker process"
