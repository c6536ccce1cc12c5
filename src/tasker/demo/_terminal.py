"""The demo without a display: ``tasker.terminal``'s live view of every task."""

from __future__ import annotations

import argparse
import threading

from ..terminal import TerminalView
from ._app import configure_manager
from ._script import DemoScript, DemoTasks


def run_terminal(args: argparse.Namespace) -> int:
    """Run the tour in the terminal; returns the exit status."""
    from rich.console import Console
    from rich.live import Live

    from .. import task_mgr

    test_mode = bool(args.test_mode)
    configure_manager(args.cluster)
    console = Console()
    view = TerminalView(task_mgr)
    finished = threading.Event()
    tasks = DemoTasks(
        task_mgr,
        speed=args.speed,
        flood_seconds=1.5 if test_mode else 3.0,
        cluster=args.cluster is not None,
    )
    script = DemoScript(tasks, on_finished=finished.set, on_note=lambda text: console.print(f"[dim]{text}[/]"))
    console.print(
        "[bold]tasker demo[/] — a coroutine, threads and processes side by side; "
        "'index photos' is paused, resumed and canceled, 'load settings' fails on purpose, then four "
        "processes flood progress."
    )
    ok = False
    try:
        with Live(view, console=console, refresh_per_second=12, transient=False) as live:
            task_mgr.schedule_on_main_thread(script.start)
            ok = finished.wait(args.time_limit if test_mode else None)
            task_mgr.wait_until_settled(5.0)  # the last (idle) tasks_updated is shown too
            live.refresh()
        console.print()
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: canceling every task")
    finally:
        task_mgr.shutdown(timeout=2.0)
        view.close()
    for outcome in script.outcomes:
        console.print(f"{outcome.name}: {outcome.status} — {outcome.text}", highlight=False)
    if not ok:
        console.print(f"[red]tour did not finish within {args.time_limit:.0f} s[/]")
        return 1
    console.print("[green]demo finished[/]")
    return 0
