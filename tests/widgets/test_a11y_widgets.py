"""Qt's and Tk's widgets for screen readers and the keyboard (see a11y_scenarios.py).

Qt: what its accessibility layer reports in-process (PySide6's ``QAccessible``;
PyQt6 does not bind it, so there the widgets' accessible names are read) and
real key events from ``QTest``. Tk: real key events from ``xdotool`` under Xvfb
(Tk has no accessibility layer on X11). The GTK widgets are tested over AT-SPI
with a separate client process: ``tests/gtk/test_a11y.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_widgets import WARNING, need, toolkit_env

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def run(toolkit: str) -> dict[str, Any]:
    need(toolkit)
    driver = "qt" if toolkit == "pyqt6" else toolkit
    proc = subprocess.run(
        [sys.executable, str(HERE / "a11y_scenarios.py"), driver],
        cwd=ROOT, env=toolkit_env(toolkit), capture_output=True, text=True, timeout=150,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
    if "skip" in result:
        pytest.skip(result["skip"])
    bad = [line for line in proc.stderr.splitlines() if WARNING.search(line)]
    assert not bad, "\n".join(bad)
    return result


@pytest.mark.timeout(200)
@pytest.mark.parametrize("toolkit", ["qt", "pyqt6"])
def test_qt_widgets_have_names_values_by_steps_and_work_from_the_keyboard(toolkit: str) -> None:
    r = run(toolkit)
    assert r["qaccessible"] is (toolkit == "qt")  # PyQt6 does not bind QAccessible
    assert r["list"]["name"] == "Tasks" and r["row"]["name"] == "export"
    assert [b["name"] for b in r["buttons"]] == ["Pause export", "Cancel export"]
    first, same_step, new_step = r["values"]
    assert (first["shown"], first["value"], first["description"]) == (0.05, 0.05, "step 1")
    assert (same_step["shown"], same_step["value"], same_step["description"]) == (0.07, 0.05, "step 2")
    assert (new_step["shown"], new_step["value"], new_step["description"]) == (0.35, 0.35, "step 3")
    assert first["name"] == "export"
    assert r["status_bar"] == {**r["status_bar"], "name": "Overall progress", "description": "step 3"}
    if r["qaccessible"]:
        assert first["role"] == "ProgressBar" and r["buttons"][0]["role"] == "Button"
    # Keyboard: Tab in row order, Enter cancels, Space pauses, Enter resumes; the focus follows the rows.
    buttons = [f for f in r["tab_order"] if not f.startswith("row:")]
    assert buttons == ["pause:alpha", "cancel:alpha", "pause:beta", "cancel:beta", "pause:gamma", "cancel:gamma"]
    assert r["after_enter"] == {"rows": ["alpha", "gamma"], "focus": "cancel:gamma"}
    assert r["after_space"]["paused"] == ["gamma"] and r["after_space"]["name"]["name"] == "Resume gamma"
    assert r["after_last_row_ended"] == "pause:alpha"
    alert = r["alert"]
    assert (alert["name"], alert["description"]) == ("delta failed", "ValueError: disk full")
    assert alert["dismiss"]["name"] == "Dismiss: delta failed"
    said = ["export completed", "beta canceled", "gamma completed", "delta failed: ValueError: disk full"]
    assert r["announcements"] == said
    assert r["list_description"] == said[-1]


@pytest.mark.timeout(200)
def test_tk_widgets_work_from_the_keyboard(tmp_path: Path) -> None:
    if shutil.which("xdotool") is None:
        if os.environ.get("CI"):
            pytest.fail("xdotool is missing (required in CI)")
        pytest.skip("xdotool is missing (Debian: xdotool)")
    r = run("tk")
    assert r["tab_order"][-6:] == [
        "pause:alpha", "cancel:alpha", "pause:beta", "cancel:beta", "pause:gamma", "cancel:gamma"
    ]
    assert r["after_enter"] == {"rows": ["alpha", "gamma"], "focus": "cancel:gamma"}
    assert r["after_space"] == {"paused": ["gamma"], "text": "\u25b6"}
    assert r["after_last_row_ended"] == "pause:alpha"
    assert r["announcements"] == ["beta canceled", "gamma completed", "delta failed: ValueError: disk full"]
