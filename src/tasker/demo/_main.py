"""Command line of the demo: picks the GTK, Qt or Tk window or the terminal view."""

from __future__ import annotations

import argparse
import os
import sys


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tasker.demo",
        description=(
            "tasker demo: a download (coroutine), an image job (process) with live "
            "previews, a checksum (thread), a task that fails, one that is canceled, "
            "and a flood of progress from four worker processes."
        ),
    )
    view = parser.add_mutually_exclusive_group()
    view.add_argument("--gtk", action="store_true", help="the GTK 4 window (needs a display); the default with one")
    view.add_argument("--qt", action="store_true", help="the Qt window (PySide6 or PyQt6; QT_QPA_PLATFORM=offscreen)")
    view.add_argument("--tk", action="store_true", help="the Tk window (needs a display)")
    view.add_argument("--terminal", action="store_true", help="the terminal view (rich); the default without a display")
    parser.add_argument(
        "--test-mode",
        action="store_true",
        help="run the tour faster, quit by itself when every task has ended (exit 0), "
        "fail with exit 1 after --time-limit seconds",
    )
    parser.add_argument("--time-limit", type=float, default=90.0, help="seconds (test mode); default 90")
    parser.add_argument(
        "--speed",
        type=float,
        default=None,
        help="scale every pause in the demo tasks (default 1.0; 0.4 in test mode)",
    )
    parser.add_argument(
        "--screenshot",
        metavar="PATH",
        help="windows: save a PNG of the window once tasks are visibly running, then go on "
        "(Tk: needs ImageMagick's 'import')",
    )
    parser.add_argument("--no-tour", action="store_true", help="windows: start nothing until a button is pressed")
    parser.add_argument(
        "--cluster",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="add 'Render on cluster' (also to the tour): the render job with run_on_cluster, on an embedded "
        "Dask LocalCluster, or on the scheduler at ADDRESS (tcp://host:8786); needs tasker-ui[dask]",
    )
    return parser.parse_args(argv)


def display_available() -> bool:
    """A display is configured and GTK 4 can be loaded (imports nothing)."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        from importlib.util import find_spec

        return find_spec("gi") is not None
    except (ImportError, ValueError):
        return False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.speed is None:
        args.speed = 0.4 if args.test_mode else 1.0
    if args.qt:
        from ._qt_app import run_qt

        return run_qt(args)
    if args.tk:
        from ._tk_app import run_tk

        return run_tk(args)
    use_gtk = args.gtk or (not args.terminal and display_available())
    if use_gtk:
        if not display_available():
            print("tasker demo: --gtk needs a display (DISPLAY or WAYLAND_DISPLAY) and PyGObject", file=sys.stderr)
            return 2
        _quiet_accessibility_without_session_bus()
        try:
            from ._gtk_app import run_gtk
        except (ImportError, ValueError) as exc:
            if args.gtk:
                print(f"tasker demo: GTK 4 is not available ({exc})", file=sys.stderr)
                return 2
            print(f"tasker demo: GTK 4 is not available ({exc}); using the terminal view", file=sys.stderr)
        else:
            return run_gtk(args)
    from ._terminal import run_terminal

    return run_terminal(args)


def _quiet_accessibility_without_session_bus() -> None:
    """GTK's accessibility bridge needs a D-Bus session bus; without one (CI,
    Xvfb, containers) it only prints a warning, so turn it off in that case."""
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.exists(os.path.join(runtime, "bus")):
        return
    os.environ.setdefault("GTK_A11Y", "none")
