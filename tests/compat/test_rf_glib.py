"""The compat layer in a real GLib main loop, scheduled the way Rayforge's app schedules.

Runs ``glib_app.py`` in a subprocess: this pytest process must not import GTK
(tasker's automatic scheduler choice would follow it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.timeout(120)


def test_a_rayforge_shaped_app_on_glib() -> None:
    probe = subprocess.run([sys.executable, "-c", "from gi.repository import GLib"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip("PyGObject (GLib) is not installed")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE.parent.parent / "src"), env.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, str(HERE / "glib_app.py")], capture_output=True, text=True, timeout=100, env=env
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["pending"] == []
    assert seen["coroutine"] == 42 and seen["thread"] == 3 and seen["delayed"] is True and seen["threadsafe"] is True
    assert seen["process"] == ["completed", True, [{"handle": 7}]]
    assert seen["on_main"] == [True] * 5  # every callback on the GLib main thread
    assert seen["shared"] == ["glib"]
    assert "Traceback" not in out.stderr, out.stderr
