"""Which GLib warnings in a GTK test's log are GTK's own, not tasker's.

A GTK test fails on any warning its GTK process logs, except a message that
GTK logs by itself on this GTK and this display: ``gtk_alone.py`` (GTK without
tasker: a window, a moving bar, a popup) runs once per test session, and
exactly the messages it logs (domain, level and text; not the program, pid or
time) are let through. On a GTK that logs nothing by itself (GTK 4.8, 4.18
here) nothing is; on GTK 4.24 under Xvfb it is one message, which GTK logs for
every popup surface (a tooltip, a popover) on an X server without a compositor::

    (prog:pid): Gdk-WARNING **: 10:52:04.182: gdk_frame_timings_submitted() called on submitted frame.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: A GLib log line: ``(program:pid): Domain-LEVEL **: [time: ]text``.
GLIB_LOG = re.compile(
    r"^\([^()]*:\d+\): (?P<domain>[\w-]+)-(?P<level>WARNING|CRITICAL) \*\*: (?:\d\d:\d\d:\d\d\.\d+: )?(?P<text>.*)$"
)

Message = tuple[str, str, str]  # (domain, level, text)

_own: frozenset[Message] | None = None


def message_of(line: str) -> Message | None:
    """A GLib log line's domain, level and text; ``None`` for any other line."""
    found = GLIB_LOG.match(line.strip())
    return (found["domain"], found["level"], found["text"].strip()) if found else None


def gtk_alone() -> tuple[dict[str, object], frozenset[Message]]:
    """Run ``gtk_alone.py`` on this display: its RESULT and the GLib warnings it logged.

    Without the accessibility bridge (``GTK_A11Y=none``): what it would say depends on
    the session bus each test has, not on GTK's drawing.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env["GTK_A11Y"] = "none"
    proc = subprocess.run(
        [sys.executable, str(HERE / "gtk_alone.py")], env=env, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"gtk_alone.py: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, object] = json.loads(lines[-1][len("RESULT ") :])
    assert result["tasker_imported"] is False and result["popup_mapped"] is True, result
    logged = frozenset(m for m in map(message_of, proc.stderr.splitlines()) if m is not None)
    return result, logged


def gtks_own() -> frozenset[Message]:
    """The warnings GTK logs by itself here (``gtk_alone.py``, run once per process)."""
    global _own
    if _own is None:
        _own = gtk_alone()[1]
    return _own


def not_gtks_own(lines: Iterable[str]) -> list[str]:
    """``lines`` without the GLib warnings that GTK logs by itself here."""
    lines = list(lines)
    if not any(message_of(line) for line in lines):
        return lines  # no GLib warning to compare: GTK alone is not run
    own = gtks_own()
    return [line for line in lines if message_of(line) not in own]
