"""The demo without a display: live progress bars for every task with ``rich``."""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass
from typing import Any

from .._core._task import Task
from ._main import configure_manager
from ._script import DemoScript, DemoTasks, Outcome

_GLYPHS = {"completed": "[green]✔[/]", "failed": "[red]✖[/]", "canceled": "[yellow]⊘[/]"}


@dataclass
class _Row:
    name: str
    kind: str
    progress: float = 0.0
    message: str = ""
    status: str = "pending"
    started: float = 0.0


class TerminalView:
    """Follows a manager's ``tasks_updated`` and renders a table of all tasks.

    Live tasks show a progress bar and their message; ended tasks stay in the
    table with how they ended. Safe to render from rich's refresh thread.
    """

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self._lock = threading.Lock()
        self._rows: dict[str, _Row] = {}
        self._progress = 1.0
        self._live = 0
        manager.tasks_updated.connect(self._on_update, weak=False)

    def close(self) -> None:
        self.manager.tasks_updated.disconnect(self._on_update)

    def _on_update(self, sender: Any, tasks: list[Task[Any]], progress: float, **_: Any) -> None:
        now = time.monotonic()
        with self._lock:
            self._progress = progress
            self._live = len(tasks)
            for task in tasks:
                row = self._rows.get(task.name)
                if row is None or row.status in _GLYPHS:
                    row = self._rows[task.name] = _Row(task.name, task.kind, started=now)
                row.progress = task.get_progress()
                row.message = task.get_message() or ""
                row.status = "cancelling" if task.is_cancelled() else str(task.get_status())

    def record(self, outcome: Outcome) -> None:
        """Show how a task ended (call from its ``when_done``)."""
        with self._lock:
            row = self._rows.setdefault(outcome.name, _Row(outcome.name, outcome.kind))
            row.status = outcome.status
            row.message = f"{outcome.text}  ({outcome.seconds:.1f} s)"
            if outcome.status == "completed":
                row.progress = 1.0

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, expand=True, show_header=True, header_style="bold", padding=(0, 1))
        table.add_column("", width=1)
        table.add_column("task", no_wrap=True, min_width=14)
        table.add_column("kind", style="dim", no_wrap=True)
        table.add_column("progress", width=28)
        table.add_column("", justify="right", width=5)
        table.add_column("message", ratio=1, no_wrap=True, overflow="ellipsis")
        with self._lock:
            rows = list(self._rows.values())
            progress, live = self._progress, self._live
        for row in rows:
            ended = row.status in _GLYPHS
            glyph = _GLYPHS.get(row.status, "[cyan]•[/]" if row.status == "running" else "[dim]…[/]")
            style = {"failed": "red", "canceled": "yellow"}.get(row.status, "")
            pulse = not ended and row.progress <= 0.0
            bar = ProgressBar(total=1.0, completed=row.progress, width=28, pulse=pulse)
            percent = "" if pulse or row.status == "canceled" else f"{row.progress:.0%}"
            table.add_row(glyph, row.name, row.kind, bar, percent, Text(row.message, style=style))
        summary = Table.grid(expand=True, padding=(0, 1))
        summary.add_column(no_wrap=True)
        summary.add_column(width=40)
        summary.add_column(justify="right", width=5)
        label = f"{live} task{'s' if live != 1 else ''} running" if live else "idle"
        summary.add_row(
            Text(f"overall — {label}", style="bold"),
            ProgressBar(total=1.0, completed=progress, width=40),
            f"{progress:.0%}",
        )
        return Group(table, Text(""), summary)


def run_terminal(args: argparse.Namespace) -> int:
    """Run the tour in the terminal; returns the exit status."""
    from rich.console import Console
    from rich.live import Live

    from .. import task_mgr

    test_mode = bool(args.test_mode)
    configure_manager()
    console = Console()
    view = TerminalView(task_mgr)
    finished = threading.Event()
    tasks = DemoTasks(
        task_mgr,
        speed=args.speed,
        flood_seconds=1.5 if test_mode else 3.0,
        on_outcome=view.record,
    )
    script = DemoScript(tasks, on_finished=finished.set)
    console.print(
        "[bold]tasker demo[/] — a coroutine, threads and processes side by side; "
        "'index photos' is cancelled, 'load settings' fails on purpose, then four "
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
        console.print("[yellow]interrupted[/]: cancelling every task")
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
