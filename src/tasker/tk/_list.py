"""``TaskListView``: one row per live task, with progress, ETA and a cancel button (Tk)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._widgets import RowLogic, RowState, TaskListLogic
from ._base import ElidedLabel, TkBinding, fonts, install_styles, key_button, shrink, split_master, tkinter, ttk

if TYPE_CHECKING:
    from .._core._task import Task

_SCALE = 1000.0
#: Two heavy bars, not U+23F8 "⏸": Tk does not fall back to another font for a
#: glyph its font lacks, and DejaVu Sans (Debian's default) has no U+23F8.
_PAUSE, _RESUME = "\u275a\u275a", "\u25b6"


class TaskRow(ttk.Frame, RowLogic):
    """The row of one task: name, kind, message, progress bar, ETA, pause/resume, cancel.

    Keyboard: Tab reaches the buttons in row order, Enter or Space presses them.
    Tk has no accessibility layer on X11: there are no accessible names to give.
    """

    def __init__(
        self,
        master: Any,
        task: Task[Any],
        *,
        cancellable: bool = True,
        show_kind: bool = True,
        pausable: bool = False,
    ) -> None:
        super().__init__(master, padding=(10, 8, 10, 0), style="TaskerRow.TFrame")
        self._init_row(task)
        content = ttk.Frame(self, style="TaskerRow.TFrame")
        top = ttk.Frame(content, style="TaskerRow.TFrame")
        line = ttk.Frame(content, style="TaskerRow.TFrame")
        self.name_label = ElidedLabel(top, task.name, font=fonts(self)["bold"], style="TaskerName.TLabel")
        self.eta_label = ttk.Label(top, style="TaskerDim.TLabel")
        self.kind_label = ttk.Label(top, text=task.kind, style="TaskerKind.TLabel")
        self.message_label = ElidedLabel(content, style="TaskerDim.TLabel")
        self.progress_bar = ttk.Progressbar(line, orient="horizontal", maximum=_SCALE)
        self.percent_label = ttk.Label(line, width=5, anchor="e", style="TaskerDim.TLabel")
        # Created in Tab order (Tk's traversal follows the stacking order): pause, then cancel.
        self.pause_button = key_button(self, _PAUSE, self.toggle_pause, width=2, style="TaskerCancel.TButton")
        self.cancel_button = key_button(self, "✕", self.cancel, width=2, style="TaskerCancel.TButton")
        self._shown_paused = False
        if show_kind:
            self.kind_label.pack(side="right", padx=(8, 0))
        self.eta_label.pack(side="right", padx=(8, 0))
        self.name_label.pack(side="left", fill="x", expand=True)
        self.percent_label.pack(side="right", padx=(8, 0))
        self.progress_bar.pack(side="left", fill="x", expand=True)
        top.pack(fill="x")
        self.message_label.pack(fill="x", pady=(2, 2))
        line.pack(fill="x")
        self.columnconfigure(0, weight=1)
        content.grid(row=0, column=0, sticky="ew")
        if pausable:
            self.pause_button.grid(row=0, column=1, padx=(10, 0))
        if cancellable:
            self.cancel_button.grid(row=0, column=2, padx=(6 if pausable else 10, 0))
        ttk.Separator(self, orient="horizontal").grid(row=1, column=0, columnspan=3, sticky="ew", pady=(8, 0))
        self.sync()

    @property
    def fraction(self) -> float:
        if str(self.progress_bar.cget("mode")) == "indeterminate":
            return self._state.fraction
        return float(self.progress_bar.cget("value")) / _SCALE

    @property
    def cancel_enabled(self) -> bool:
        return not self.cancel_button.instate(["disabled"])

    @property
    def pause_text(self) -> str:
        """What the pause button shows: ❚❚ (pause) or ▶ (resume)."""
        return str(self.pause_button.cget("text"))

    def focused_button(self) -> str | None:
        """``"cancel"`` or ``"pause"`` when that button of this row has the focus."""
        try:
            focus = self.focus_get()
        except (KeyError, tkinter.TclError):  # the focus is in a window Tk does not know
            return None
        return "cancel" if focus is self.cancel_button else "pause" if focus is self.pause_button else None

    def take_focus(self, button: str | None) -> None:
        """Focus this row's ``"cancel"`` or ``"pause"`` button where it can (else its first one)."""
        shown = [b for b in (self.pause_button, self.cancel_button) if b.winfo_manager()]
        wanted = {"cancel": self.cancel_button, "pause": self.pause_button}.get(button or "")
        for candidate in ([wanted] if wanted in shown else []) + shown:
            if not candidate.instate(["disabled"]):
                candidate.focus_set()
                return

    def _show(self, state: RowState) -> None:
        if state.canceling:
            self.cancel_button.state(["disabled"])
            self.pause_button.state(["disabled"])
        if state.paused != self._shown_paused:
            self._shown_paused = state.paused
            self.pause_button.configure(text=_RESUME if state.paused else _PAUSE)
        self.message_label.set_full_text(state.message)
        if state.percent:
            if str(self.progress_bar.cget("mode")) != "determinate":
                self.progress_bar.configure(mode="determinate")
            self.progress_bar.configure(value=state.fraction * _SCALE)
        self.percent_label.configure(text=state.percent)
        self.eta_label.configure(text=state.eta)

    def _show_pulse(self) -> None:
        if str(self.progress_bar.cget("mode")) != "indeterminate":
            self.progress_bar.configure(mode="indeterminate", value=0)
        self.progress_bar.step(_SCALE / 20)


class TaskListView(ttk.Frame, TaskListLogic, TkBinding):
    """A scrolling list of the manager's live tasks, one ``TaskRow`` each.

    Rows appear when tasks are added and disappear when they end. Each row has
    the task's name and kind, its message, a ``ttk.Progressbar`` (pulsing while
    the task has reported no progress), an estimate of the time left once
    progress allows one, and a cancel button (``cancellable=False`` hides it);
    ``pausable=True`` adds a pause/resume button (❚❚ / ▶), ``show_after=seconds``
    shows a task only once it has been live that long.

    ``task_ended`` and ``task_failed`` are hooks: ``view.task_failed.connect(fn)``
    calls ``fn(task)`` for every task that ends ``failed`` (``task_ended``: every task).
    """

    def __init__(
        self,
        manager: Any = None,
        master: Any = None,
        *,
        cancellable: bool = True,
        show_kind: bool = True,
        placeholder: str | None = "No tasks running",
        height: int = 240,
        pausable: bool = False,
        show_after: float = 0.0,
    ) -> None:
        manager, master = split_master(manager, master)
        super().__init__(master)
        self._init_list(cancellable, show_kind, pausable)
        install_styles(self)
        self.task_ended = Hook()
        self.task_failed = Hook()
        back = str(ttk.Style(self).lookup("TFrame", "background") or "#d9d9d9")
        self._canvas = tkinter.Canvas(self, height=height, highlightthickness=0, borderwidth=0, background=back)
        self._scrollbar = ttk.Scrollbar(self, orient="vertical", command=self._canvas.yview)
        self._canvas.configure(yscrollcommand=self._scrollbar.set)
        self._inner = ttk.Frame(self._canvas)
        self._window = self._canvas.create_window(0, 0, anchor="nw", window=self._inner)
        self._inner.columnconfigure(0, weight=1)
        self._placeholder = ttk.Label(self._inner, text=placeholder or "", style="TaskerDim.TLabel", anchor="center")
        self._has_placeholder = bool(placeholder)
        self.columnconfigure(0, weight=1)
        self.rowconfigure(0, weight=1)
        self._canvas.grid(row=0, column=0, sticky="nsew")
        self._scrollbar.grid(row=0, column=1, sticky="ns")
        self._inner.bind("<Configure>", self._on_inner_configure, add="+")
        self._canvas.bind("<Configure>", self._on_canvas_configure, add="+")
        self._rows_changed()
        self._bind_tk(manager, show_after)

    def get_row(self, task: Task[Any]) -> TaskRow | None:
        row: TaskRow | None = self._rows.get(task.id)
        return row

    def _make_row(self, task: Task[Any]) -> TaskRow:
        return TaskRow(
            self._inner, task, cancellable=self._cancellable, show_kind=self._show_kind, pausable=self._pausable
        )

    def _add_row(self, row: TaskRow) -> None:
        row.grid(row=len(self._rows) + 1, column=0, sticky="ew")

    def _remove_row(self, row: TaskRow) -> None:
        button = row.focused_button()
        place = int(row.grid_info().get("row", 0))
        row.destroy()
        if button is not None:  # the focus stays in the list: the next row, else the one before
            rows = list(self._rows.values())  # in list order; not yet renumbered
            after = [r for r in rows if int(r.grid_info().get("row", 0)) > place][:1] or rows[-1:]
            if after:
                after[0].take_focus(button)

    def _rows_changed(self) -> None:
        for index, row in enumerate(self._rows.values()):
            row.grid_configure(row=index + 1)
        if self._has_placeholder and not self._rows:
            self._placeholder.grid(row=0, column=0, sticky="ew", pady=18)
        else:
            self._placeholder.grid_remove()
            if not self._rows:
                shrink(self._inner)

    def _emit_ended(self, task: Task[Any]) -> None:
        self.task_ended.emit(task)

    def _emit_failed(self, task: Task[Any]) -> None:
        self.task_failed.emit(task)

    def _on_inner_configure(self, event: Any) -> None:
        self._canvas.configure(scrollregion=self._canvas.bbox("all"))

    def _on_canvas_configure(self, event: Any) -> None:
        self._canvas.itemconfigure(self._window, width=event.width)


class Hook:
    """A tiny signal: ``connect(fn)``, ``disconnect(fn)``; ``emit(task)`` calls each ``fn(task)``."""

    def __init__(self) -> None:
        self._receivers: list[Any] = []

    def connect(self, fn: Any) -> Any:
        self._receivers.append(fn)
        return fn

    def disconnect(self, fn: Any) -> None:
        self._receivers.remove(fn)

    def emit(self, task: Task[Any]) -> None:
        for fn in list(self._receivers):
            fn(task)
