"""``TaskProgressBar``: overall progress of a manager, for a status bar (Tk)."""

from __future__ import annotations

from typing import Any

from .._widgets import StatusBarLogic
from ._base import ElidedLabel, TkBinding, install_styles, shrink, split_master, tkinter, ttk

_SCALE = 1000.0


class TaskProgressBar(ttk.Frame, StatusBarLogic, TkBinding):
    """A status-bar strip: the newest task's message, a task count and a ``ttk.Progressbar``.

    * While tasks run, the bar shows the manager's overall progress and the
      label the newest task's message (or its name when it has none yet).
    * When no live task has reported any progress (work of unknown length), the
      bar pulses (indeterminate mode) instead.
    * When idle the label shows ``idle_text`` and the bar goes away
      ``fade_ms`` after the last task (``idle_mode="fade"``, the default; Tk has
      no transparency, so it leaves rather than fades; its space is kept); with
      ``idle_mode="hide"`` the whole strip folds to nothing.
    * ``show_after=seconds``: a task counts once it has been live that long.

    ``manager`` defaults to the shared ``task_mgr``; ``master`` is the Tk parent
    (``TaskProgressBar(parent)`` works too).
    """

    fade_ms = 400
    PADDING = (8, 2)

    # Python 3.13 gave every Tk widget a ``busy`` method (``tk busy hold``),
    # which comes before ``StatusBarLogic.busy`` in this class's MRO: restate
    # tasker's property here so ``bar.busy`` is the same on every Python
    # (Tk's command stays reachable as ``tk_busy_hold``).
    busy = StatusBarLogic.busy

    def __init__(
        self,
        manager: Any = None,
        master: Any = None,
        *,
        idle_text: str = "",
        idle_mode: str = "fade",
        show_count: bool = True,
        pulse_after: float = 0.3,
        bar_length: int = 180,
        show_after: float = 0.0,
    ) -> None:
        manager, master = split_master(manager, master)
        super().__init__(master, padding=0 if idle_mode == "hide" else self.PADDING)
        self._init_status(idle_text, idle_mode, show_count, pulse_after)
        install_styles(self)
        self._label = ElidedLabel(self, idle_text)
        self._count = ttk.Label(self, style="TaskerDim.TLabel")
        self._bar = ttk.Progressbar(self, orient="horizontal", length=bar_length, maximum=_SCALE)
        self.columnconfigure(0, weight=1)
        self.columnconfigure(2, minsize=bar_length)
        self._fade_id: str | None = None
        self._bar_shown = False
        self._folded = idle_mode == "hide"
        if not self._folded:
            self._label.grid(row=0, column=0, sticky="ew", padx=(0, 10))
            if show_count:
                self._count.grid(row=0, column=1, padx=(0, 10))
        self._bind_tk(manager, show_after)

    # -- read back (tests, accessibility) ---------------------------------------------
    @property
    def fraction(self) -> float:
        if str(self._bar.cget("mode")) == "indeterminate":
            return self._fraction
        return float(self._bar.cget("value")) / _SCALE

    @property
    def text(self) -> str:
        return self._label.full_text()

    @property
    def progress_bar(self) -> ttk.Progressbar:
        return self._bar

    @property
    def bar_shown(self) -> bool:
        """True while the bar is on screen (it leaves ``fade_ms`` after the last task)."""
        return self._bar_shown

    # -- drawing (StatusBarLogic decides) ----------------------------------------------
    def _show_idle(self) -> None:
        self._label.set_full_text(self._text)
        self._count.configure(text="")
        self._show_fraction(self._fraction)
        if self._idle_mode == "hide":
            self._fold(True)
        elif self._bar_shown and self._fade_id is None:
            self._fade_id = self.after(self.fade_ms, self._hide_bar)

    def _show_busy(self) -> None:
        self._label.set_full_text(self._text)
        self._count.configure(text=self._count_text)
        if self._fade_id is not None:
            self.after_cancel(self._fade_id)
            self._fade_id = None
        self._fold(False)
        if not self._bar_shown:
            self._bar.grid(row=0, column=2, sticky="ew")
            self._bar_shown = True

    def _show_fraction(self, fraction: float) -> None:
        if str(self._bar.cget("mode")) != "determinate":
            self._bar.configure(mode="determinate")
        self._bar.configure(value=fraction * _SCALE)

    def _show_pulse(self) -> None:
        if str(self._bar.cget("mode")) != "indeterminate":
            self._bar.configure(mode="indeterminate", value=0)
        self._bar.step(_SCALE / 25)

    def _hide_bar(self) -> None:
        self._fade_id = None
        if not self._busy and self._alive():
            self._bar.grid_remove()
            self._bar_shown = False

    def _fold(self, folded: bool) -> None:
        if folded == self._folded:
            return
        self._folded = folded
        self.configure(padding=0 if folded else self.PADDING)
        if folded:
            for child in (self._label, self._count, self._bar):
                child.grid_remove()
            self._bar_shown = False
            shrink(self)
        else:
            self._label.grid(row=0, column=0, sticky="ew", padx=(0, 10))
            if self._show_count:
                self._count.grid(row=0, column=1, padx=(0, 10))

    def _close(self) -> None:
        if self._fade_id is not None:
            try:
                self.after_cancel(self._fade_id)
            except tkinter.TclError:
                pass
            self._fade_id = None
        super()._close()
