"""The GTK tests let through a warning only when GTK logs that very message by itself (``gtk_own.py``)."""

from __future__ import annotations

import gtk_own
import pytest
from gtk_own import message_of, not_gtks_own

FRAME = "gdk_frame_timings_submitted() called on submitted frame."


@pytest.fixture
def gtk_logs_frame_timings(monkeypatch: pytest.MonkeyPatch) -> None:
    """As GTK 4.24 under Xvfb: GTK alone logs the frame-timings warning."""
    monkeypatch.setattr(gtk_own, "_own", frozenset({("Gdk", "WARNING", FRAME)}))


def test_a_glib_log_line_is_read_as_domain_level_and_text() -> None:
    line = f"(__main__.py:28680): Gdk-WARNING **: 08:54:57.596: {FRAME}"
    assert message_of(line) == ("Gdk", "WARNING", FRAME)
    assert message_of("(python:4): dbind-WARNING **: 10:41:59.377: AT-SPI: Error") == (
        "dbind", "WARNING", "AT-SPI: Error"
    )
    assert message_of("Traceback (most recent call last):") is None
    assert message_of("DeprecationWarning: something") is None


@pytest.mark.usefixtures("gtk_logs_frame_timings")
def test_only_the_message_gtk_logs_by_itself_is_let_through() -> None:
    ours = [
        f"(scenarios.py:77): Gdk-WARNING **: 11:00:00.000: {FRAME}",  # another program, pid, time: let through
        "(scenarios.py:77): Gtk-WARNING **: 11:00:00.001: Theme parsing error: gtk.css:3:1: bad",
        f"(scenarios.py:77): Gdk-CRITICAL **: 11:00:00.002: {FRAME}",  # the level differs
        f"(scenarios.py:77): Gtk-WARNING **: 11:00:00.003: {FRAME}",  # the domain differs
        "(scenarios.py:77): Gdk-WARNING **: 11:00:00.004: gdk_frame_timings_submitted() called twice",
        "Traceback (most recent call last):",
    ]
    assert not_gtks_own(ours) == ours[1:]


def test_without_a_glib_warning_gtk_alone_is_not_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    def never() -> frozenset[gtk_own.Message]:
        raise AssertionError("gtk_alone.py run for lines without a GLib warning")

    monkeypatch.setattr(gtk_own, "gtks_own", never)
    assert not_gtks_own(["Traceback (most recent call last):", "Warning: x"]) == [
        "Traceback (most recent call last):", "Warning: x"
    ]
