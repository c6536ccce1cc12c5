"""``TaskErrorBanner``: tells the user that a task failed, and why (Tk)."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from .._widgets import ErrorBannerLogic
from ._base import ElidedLabel, TkBinding, fonts, install_styles, key_button, shrink, split_master, tkinter, ttk

if TYPE_CHECKING:
    from .._core._task import Task


class _Entry(ttk.Frame):
    def __init__(self, master: Any, title: str, detail: str, task: Task[Any] | None, banner: Any) -> None:
        super().__init__(master, style="TaskerError.TFrame")
        self.task = task
        self.title = title
        self.detail = detail
        self.icon = ttk.Label(self, text="✖", style="TaskerError.TLabel")
        self.title_label = ElidedLabel(self, title, font=fonts(self)["bold"], style="TaskerErrorTitle.TLabel")
        self.detail_label = ElidedLabel(self, detail, style="TaskerError.TLabel")
        ref = weakref.ref(banner)
        self.dismiss_button = key_button(self, "✕", lambda: _dismiss(ref, self), width=2, style="TaskerError.TButton")
        self.columnconfigure(1, weight=1)
        self.icon.grid(row=0, column=0, rowspan=2, sticky="n", padx=(0, 8))
        self.title_label.grid(row=0, column=1, sticky="ew")
        self.detail_label.grid(row=1, column=1, sticky="ew")
        self.dismiss_button.grid(row=0, column=2, rowspan=2, padx=(8, 0))


def _dismiss(banner: weakref.ref[TaskErrorBanner], entry: _Entry) -> None:
    found = banner()
    if found is not None:
        found.dismiss(entry)


class TaskErrorBanner(ttk.Frame, ErrorBannerLogic, TkBinding):
    """A dismissible banner listing failed tasks with their error messages (Tk).

    It follows ``manager.task_ended`` (``follow=True``) and ``report(task)`` /
    ``report_error(title, error)`` / ``when_done=banner.when_done``; see
    ``tasker._widgets.ErrorBannerLogic`` for what it shows, and docs/tk.md.
    """

    def __init__(self, manager: Any = None, master: Any = None, *, follow: bool = True, max_entries: int = 3) -> None:
        manager, master = split_master(manager, master)
        super().__init__(master)
        self._init_banner(follow, max_entries)
        install_styles(self)
        self._box = ttk.Frame(self, style="TaskerError.TFrame", padding=(10, 6))
        self._box.columnconfigure(0, weight=1)
        self._revealed = False
        self._bind_manager(manager)
        self._after_id = None
        self._tick_fn = None
        self._closed = False
        if follow:
            self._bind_tk(manager)

    @property
    def revealed(self) -> bool:
        """True while the banner shows at least one entry."""
        return self._revealed

    def _make_entry(self, title: str, detail: str, task: Task[Any] | None) -> _Entry:
        return _Entry(self._box, title, detail, task, self)

    def _add_entry(self, entry: _Entry) -> None:
        entry.grid(row=len(self._entries), column=0, sticky="ew", pady=2)

    def _remove_entry(self, entry: _Entry) -> None:
        try:
            had_focus = entry.focus_get() is entry.dismiss_button
        except (KeyError, tkinter.TclError):
            had_focus = False
        entry.destroy()
        if had_focus and self._entries:  # keyboard users stay in the banner
            self._entries[0].dismiss_button.focus_set()

    def _reveal(self, shown: bool) -> None:
        if shown == self._revealed:
            return
        self._revealed = shown
        if shown:
            self._box.pack(fill="x")
        else:
            self._box.pack_forget()
            shrink(self)
