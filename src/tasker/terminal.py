"""A live terminal view of a manager's tasks, for scripts (needs ``rich``).

For example:

    from tasker import task_mgr
    from tasker.terminal import show_progress

    with show_progress():            # live bars until every task has ended
        task_mgr.run_process(render, 50)
        task_mgr.run_thread(checksum, "big.iso")

``TerminalView`` is the renderable itself (a ``rich`` object) for use in your own
``rich.live.Live`` layout. Ended tasks stay listed with how they ended.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ._core._task import Task
from ._widgets._binding import clock_now

__all__ = ["TerminalView", "show_progress"]

_GLYPHS = {"completed": "[green]✔[/]", "failed": "[red]✖[/]", "canceled": "[yellow]⊘[/]"}


@dataclass
class _Row:
    name: str
    kind: str
    started: float
    progress: float = 0.0
    message: str = ""
    status: str = "pending"


class TerminalView:
    """Follows ``tasks_updated`` and ``task_ended``; renders one row per task.

    Safe to render from rich's refresh thread. ``close()`` disconnects it.
    """

    def __init__(self, manager: Any = None, *, keep_ended: int = 20) -> None:
        if manager is None:
            from . import task_mgr

            manager = task_mgr
        self.manager = manager
        self._now = clock_now(manager)  # the manager's clock (``clock=``: a FakeClock in tests)
        self._keep_ended = keep_ended
        self._lock = threading.Lock()
        self._rows: dict[int, _Row] = {}
        self._progress = 1.0
        self._live = 0
        manager.tasks_updated.connect(self._on_update, weak=False)
        manager.task_ended.connect(self._on_ended, weak=False)

    def close(self) -> None:
        self.manager.tasks_updated.disconnect(self._on_update)
        self.manager.task_ended.disconnect(self._on_ended)

    def _row(self, task: Task[Any]) -> _Row:
        row = self._rows.get(task.id)
        if row is None:
            row = self._rows[task.id] = _Row(task.name, task.kind, self._now())
        return row

    def _on_update(self, sender: Any, *, tasks: list[Task[Any]], progress: float, **_: Any) -> None:
        with self._lock:
            self._progress = progress
            self._live = len(tasks)
            for task in tasks:
                row = self._row(task)
                row.progress = task.get_progress()
                row.message = task.get_message() or ""
                row.status = "canceling" if task.is_cancelled() else str(task.get_status())

    def _on_ended(self, sender: Any, *, task: Task[Any], **_: Any) -> None:
        if not task.visible:
            return
        status = str(task.get_status())
        error = task.exception()
        if status == "failed" and error is not None:
            text = f"{type(error).__name__}: {error}"
        elif status == "completed":
            text = task.get_message() or "done"
        else:
            text = status
        with self._lock:
            row = self._row(task)
            row.status = status
            row.message = f"{text}  ({self._now() - row.started:.1f} s)"
            if status == "completed":
                row.progress = 1.0
            ended = [key for key, r in self._rows.items() if r.status in _GLYPHS]
            for key in ended[: max(0, len(ended) - self._keep_ended)]:
                del self._rows[key]

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


@contextmanager
def show_progress(
    manager: Any = None, *, wait: bool = True, timeout: float | None = None, console: Any = None
) -> Iterator[TerminalView]:
    """Show live progress bars while the block runs (and, with ``wait``, until settled).

    On Ctrl-C inside the block every task is canceled before the exception
    goes on.
    """
    from rich.live import Live

    view = TerminalView(manager)
    try:
        with Live(view, console=console, refresh_per_second=12, transient=False) as live:
            try:
                yield view
                if wait:
                    view.manager.wait_until_settled(timeout)
            except KeyboardInterrupt:
                for task in list(view.manager):
                    task.cancel()
                raise
            finally:
                live.refresh()
    finally:
        view.close()
