"""tasker's GTK widgets as a screen reader sees them (AT-SPI), and used with the keyboard alone.

Each test runs ``a11y_client.py`` in a PID namespace of its own (``tests/pidns.py``
as its init: whatever the session bus, the AT-SPI bus launcher, the registry
and the app leave behind is killed with it) under ``dbus-run-session`` and the
X display of ``scripts/test`` (Xvfb). The client is a separate process from
the GTK app, as a screen reader is: it walks the app's tree with
``gi.repository.Atspi`` and presses keys with ``xdotool``.

Needs at-spi2-core, gir1.2-atspi-2.0, dbus (``dbus-run-session``) and xdotool
(``scripts/setup`` installs them); a missing one skips, or fails under CI.
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
from gtk_own import not_gtks_own

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PIDNS = HERE.parent / "pidns.py"
CLIENT = HERE / "a11y_client.py"
#: Processes the namespace may hold at once: session bus, a11y bus launcher, its
#: bus, the registry, the client, the app and its tools (xdotool).
CAP = 24

_PROBE = "import gi; gi.require_version('Atspi', '2.0'); from gi.repository import Atspi"


def _need(condition: bool, reason: str) -> None:
    """Skip when a tool is missing; under CI, fail (the suite's one rule: ``test_frozen._need``)."""
    from test_frozen import _need as need

    need(condition, reason)


@pytest.fixture(scope="module")
def a11y_stack() -> None:
    _need(bool(os.environ.get("DISPLAY")), "no X display (scripts/test starts Xvfb)")
    for tool, package in (("dbus-run-session", "dbus-daemon"), ("xdotool", "xdotool"), ("unshare", "util-linux")):
        _need(shutil.which(tool) is not None, f"`{tool}` is missing (Debian: {package})")
    _need(
        any(Path(d, "at-spi-bus-launcher").exists() for d in ("/usr/libexec", "/usr/lib/at-spi2-core")),
        "the AT-SPI bus launcher is missing (Debian: at-spi2-core)",
    )
    probe = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60)
    _need(probe.returncode == 0, f"the Atspi typelib is missing (Debian: gir1.2-atspi-2.0): {probe.stderr[-200:]}")
    unshare = subprocess.run(
        ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "true"], capture_output=True, timeout=30
    )
    _need(unshare.returncode == 0, f"needs `unshare --pid --mount-proc` (root): {unshare.stderr[-200:]!r}")


def run_client(scenario: str, tmp: Path, seconds: float = 150) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "GTK_A11Y", "AT_SPI_BUS")}
    env.pop("PYTEST_CURRENT_TEST", None)
    env["A11Y_APP_LOG"] = str(tmp / "app.log")
    env["NO_AT_BRIDGE"] = "0"
    report = tmp / "pidns.json"
    argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", sys.executable, str(PIDNS)]
    argv += [str(report), str(CAP), str(seconds), "--", "dbus-run-session", "--", sys.executable, str(CLIENT), scenario]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 30)
    output = done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"no RESULT (exit {done.returncode}):\n{output[-6000:]}"
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
    monitor = json.loads(report.read_text())
    assert monitor["returncode"] == 0 and monitor["stopped"] == "exited", monitor  # not over time nor cap
    assert result.get("app_exit", 0) == 0, result.get("app_log")
    noise = ("WARNING", "CRITICAL", "Traceback")
    bad = not_gtks_own(line for line in result.get("app_log", "").splitlines() if any(word in line for word in noise))
    assert not bad, "the app logged:\n" + result["app_log"]
    return result


@pytest.fixture(scope="module")
def tree(a11y_stack: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_client("tree", tmp_path_factory.mktemp("a11y-tree"))


@pytest.mark.timeout(240)
def test_every_widget_has_a_name_a_role_and_its_relations(tree: dict[str, Any]) -> None:
    assert tree["list"]["role"] == "list" and tree["list"]["name"] == "Tasks"
    assert tree["row_bars"] == 1  # the smooth, visible bar is hidden from the tree; its twin is there
    bar = tree["bar"]
    assert bar["role"] == "progress bar" and bar["name"] == "export"  # the row's name labels it
    assert bar["relations"]["labelled-by"] == ["export"] and "described-by" in bar["relations"]
    assert tree["buttons"] == ["Cancel export", "Pause export"]
    assert tree["after_pause"] is True  # pressed through AT-SPI: the button became "Resume export"
    status = tree["status_bar"]
    assert status["name"] == "Overall progress" and status["description"] == "step 3"
    alert = tree["alert"]
    assert alert["role"] == "alert" and alert["name"] == "upload failed"
    assert alert["description"] == "ValueError: disk full"
    assert alert["relations"] == {"labelled-by": ["upload failed"], "described-by": ["ValueError: disk full"]}
    assert alert["buttons"] == ["Dismiss: upload failed"]


@pytest.mark.timeout(240)
def test_the_bars_value_moves_by_steps_and_its_description_is_the_message(tree: dict[str, Any]) -> None:
    first, same_step, new_step = tree["values"]
    assert first == {"shown": 0.05, "value": 0.05, "description": "step 1", "described_by": ["step 1"]}
    # The visible bar moved to 7 %; the accessible value stays within its 10 % step.
    assert same_step == {"shown": 0.07, "value": 0.05, "description": "step 2", "described_by": ["step 2"]}
    assert new_step == {"shown": 0.35, "value": 0.35, "description": "step 3", "described_by": ["step 3"]}
    # Each value event of the row's bar is one published value (0.05, 0.35), never the 7 %.
    values = [e for e in tree["events"] if e["type"].endswith("accessible-value") and e["name"] == "export"]
    assert len(values) <= 2, values


@pytest.mark.timeout(240)
def test_each_ending_reaches_the_screen_reader_once(tree: dict[str, Any]) -> None:
    announced = ["upload failed: ValueError: disk full", "export completed", "scan canceled"]
    assert tree["announced"] == announced
    if tree["announce"]:
        said = [e["text"] for e in tree["events"] if e["type"].startswith("object:announcement")]
    else:  # GTK < 4.14: the list's accessible description carries the last ending
        assert tree["list_description"] == "scan canceled"
        said = [e["text"] for e in tree["events"] if e["type"].endswith("-description") and e["role"] == "list"]
    assert said == announced


@pytest.mark.timeout(240)
def test_endings_are_spoken_with_gtk_accessible_announce(tree: dict[str, Any]) -> None:
    if not tree["announce"]:
        pytest.skip(f"Gtk.Accessible.announce needs GTK >= 4.14; this is GTK {tree['gtk']}")
    said = [e["text"] for e in tree["events"] if e["type"].startswith("object:announcement")]
    assert said == ["upload failed: ValueError: disk full", "export completed", "scan canceled"]


@pytest.mark.timeout(300)
def test_every_action_works_from_the_keyboard_and_the_focus_follows_the_rows(
    a11y_stack: None, tmp_path: Path
) -> None:
    r = run_client("keys", tmp_path)
    buttons = [f for f in r["tab_order"] if not f.startswith("row:")]
    assert buttons == ["pause:alpha", "cancel:alpha", "pause:beta", "cancel:beta", "pause:gamma", "cancel:gamma"]
    assert [f for f in r["tab_order"] if f.startswith("row:")] == ["row:alpha", "row:beta", "row:gamma"]
    # Enter on beta's cancel button: beta ends, the focus goes to the next row's cancel button.
    assert r["after_enter"]["rows"] == ["alpha", "gamma"] and r["after_enter"]["focus"] == "cancel:gamma"
    assert r["after_enter"]["announcements"] == ["beta canceled"]
    assert r["after_space"]["paused"] == ["gamma"] and r["after_space"]["focus"] == "pause:gamma"  # Space pauses
    assert r["after_return"]["paused"] == []  # Enter resumes
    assert r["after_last_row_ended"] == "pause:alpha"  # the last row went: the row before takes the focus
    # Enter on the banner's dismiss button: the banner empties, the focus moves on (not lost).
    assert r["after_dismiss"]["banner"] == [] and r["after_dismiss"]["focus"] == "row:alpha"


# -- themes: the banner's text stays readable in every theme ---------------------------------------------
def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGBA bytes) of an 8-bit RGB/RGBA, non-interlaced PNG (what GDK writes)."""
    import struct
    import zlib

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    channels = 4 if colour == 6 else 3
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        previous = bytearray(line)
        if channels == 3:
            line = bytearray(b for j in range(width) for b in (*line[j * 3:j * 3 + 3], 255))
        rows.append(bytes(line))
    return width, height, rows


def luminance(rgb: tuple[int, int, int]) -> float:
    def linear(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


THEMES = {
    "light": {"GTK_THEME": "Adwaita"},
    "dark": {"GTK_THEME": "Adwaita:dark"},
    "high contrast": {"GTK_THEME": "Default-hc"},
    "high contrast dark": {"GTK_THEME": "Default-hc-dark"},
    "2x": {"GDK_SCALE": "2"},
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("theme", list(THEMES))
def test_the_banners_text_is_readable_in_every_theme(theme: str, tmp_path: Path) -> None:
    """WCAG AA: the error's text against the banner's background, measured in a real screenshot."""
    _need(bool(os.environ.get("DISPLAY")), "no X display (scripts/test starts Xvfb)")
    shot = tmp_path / "shot.png"
    env = {**os.environ, "GTK_A11Y": "none", **THEMES[theme]}
    env.pop("PYTEST_CURRENT_TEST", None)
    done = subprocess.run([sys.executable, str(HERE / "a11y_shots.py"), str(shot)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    # No warning but those GTK logs by itself here (GTK 4.24 under Xvfb: one per popup's
    # frame, with or without tasker: gtk_own.py), and no theme that failed to parse.
    warnings = not_gtks_own(line for line in done.stderr.splitlines() if "WARNING" in line)
    assert not warnings and "Theme parsing error" not in done.stderr, done.stderr
    info = json.loads([line for line in done.stdout.splitlines() if line.startswith("RESULT ")][-1][7:])
    width, height, rows = read_png(shot)
    assert [width, height] == info["size"]
    x, y, w, h = info["banner"]
    assert h > 30 * info["scale"], info  # both lines of the entry are there
    pixels = [tuple(rows[j][i * 4:i * 4 + 3]) for j in range(y, y + h) for i in range(x + w // 10, x + w * 3 // 4)]
    counts: dict[tuple[int, ...], int] = {}
    for p in pixels:
        counts[p] = counts.get(p, 0) + 1
    background = max(counts, key=lambda p: counts[p])
    # The text's core pixels (not its anti-aliased edges): the strongest contrast found in the text area.
    best = max(contrast(background, p) for p in counts)  # type: ignore[arg-type]
    assert best >= 4.5, f"{theme}: banner text contrast {best:.2f} against {background}"


@pytest.mark.timeout(300)
def test_the_gtk_demo_can_be_used_through_at_spi_alone(a11y_stack: None, tmp_path: Path) -> None:
    """``python -m tasker.demo --gtk``: every button named; a task started, read, canceled and
    the window closed through AT-SPI actions, as a screen reader's user would do it."""
    r = run_client("demo", tmp_path, seconds=240)
    assert r["demo_exit"] == 0, r["demo_log"][-2000:]
    assert "Theme parsing error" not in r["demo_log"], r["demo_log"]
    assert not not_gtks_own(line for line in r["demo_log"].splitlines() if "WARNING" in line), r["demo_log"]
    unnamed = [name for name in r["buttons"] if not name or name.startswith("Gtk")]
    assert not unnamed, r["buttons"]
    assert {"Run tour", "Cancel all", "Download maps", "Render image", "Index photos"} <= set(r["buttons"])
    assert r["status_bars"] == ["Overall progress"]
    assert r["rows"] == [{"name": "index photos", "bars": ["index photos"],
                          "buttons": ["Pause index photos", "Cancel index photos"]}]
    assert r["canceling"].startswith("Canceling… (Indexing")  # the bar's description, after "Cancel index photos"
