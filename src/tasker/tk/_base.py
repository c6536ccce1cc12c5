"""What every tasker Tk widget shares: the manager binding on Tk, styles, a label.

A widget follows its manager from the moment it is built until it is
destroyed: by ``destroy()`` (its own, its parent's, the root's) or by Tk
itself (a ``<Destroy>`` event, e.g. a ``Toplevel`` closed by the window
manager). Receivers are bound methods held weakly by the manager's signals;
timers are ``after`` calls, cancelled on destroy.
"""

from __future__ import annotations

import tkinter
from collections.abc import Callable
from tkinter import font as tkfont
from tkinter import ttk
from typing import Any

from .._widgets import ManagerBinding

__all__ = ["ElidedLabel", "TkBinding", "install_styles", "split_master", "tkinter", "ttk"]

ERROR_BG, ERROR_FG, ERROR_BORDER = "#fbe3e4", "#6f1016", "#e6a0a5"
DIM_FG = "#5f6368"
KIND_BG = "#e3e5e8"


def split_master(manager: Any, master: Any) -> tuple[Any, Any]:
    """Accept ``Widget(parent)`` too: a Tk widget given as the manager is the master."""
    if master is None and isinstance(manager, tkinter.Misc):
        return None, manager
    return manager, master


def install_styles(widget: tkinter.Misc) -> None:
    """tasker's ttk styles and fonts, once per Tk interpreter."""
    root = widget._root()  # type: ignore[attr-defined]
    if getattr(root, "_tasker_styled", False):
        return
    base = tkfont.nametofont("TkDefaultFont", root=root)
    bold = base.copy()
    bold.configure(weight="bold")
    small = base.copy()
    small.configure(size=max(7, int(base.cget("size") * 0.85)) if base.cget("size") > 0 else base.cget("size"))
    root._tasker_fonts = {"bold": bold, "small": small}  # keep them alive
    style = ttk.Style(root)
    back = style.lookup("TFrame", "background") or "#d9d9d9"
    style.configure("TaskerName.TLabel", font=bold)
    style.configure("TaskerDim.TLabel", foreground=DIM_FG)
    style.configure("TaskerKind.TLabel", font=small, background=KIND_BG, padding=(6, 0))
    style.configure("TaskerRow.TFrame", background=back)
    style.configure("TaskerError.TFrame", background=ERROR_BG, bordercolor=ERROR_BORDER)
    style.configure("TaskerError.TLabel", background=ERROR_BG, foreground=ERROR_FG)
    style.configure("TaskerErrorTitle.TLabel", background=ERROR_BG, foreground=ERROR_FG, font=bold)
    style.configure("TaskerError.TButton", padding=(2, 0))
    style.configure("TaskerCancel.TButton", padding=(2, 0))
    root._tasker_styled = True


class ElidedLabel(ttk.Label):
    """A one-line ``ttk.Label`` that ends in "…" when it is too narrow.

    ``font`` is the font its style draws with (the default font otherwise).
    """

    def __init__(self, master: Any, text: str = "", *, font: Any = None, **options: Any) -> None:
        super().__init__(master, width=1, **options)
        self._font = font if font is not None else tkfont.nametofont("TkDefaultFont", root=self)
        self._full = ""
        self._shown_width = 0
        self.bind("<Configure>", self._on_configure, add="+")
        self.set_full_text(text)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        if text != self._full:
            self._full = text
            self._elide(self.winfo_width())

    def _on_configure(self, event: Any) -> None:
        if event.width != self._shown_width:
            self._elide(event.width)

    def _elide(self, width: int) -> None:
        self._shown_width = width
        text, measure = self._full, self._font.measure
        if width > 1 and text and measure(text) > width:
            lo, hi = 0, len(text)
            while lo < hi:  # the longest prefix that fits with "…"
                mid = (lo + hi + 1) // 2
                if measure(text[:mid] + "…") <= width:
                    lo = mid
                else:
                    hi = mid - 1
            text = text[:lo].rstrip() + "…"
        self.configure(text=text)


def fonts(widget: tkinter.Misc) -> dict[str, Any]:
    """tasker's fonts for ``widget``'s interpreter (``bold``, ``small``)."""
    install_styles(widget)
    found: dict[str, Any] = widget._root()._tasker_fonts  # type: ignore[attr-defined]
    return found


class TkBinding(ManagerBinding):
    """``ManagerBinding`` on Tk: follows the manager until destroyed; ``after`` timers."""

    _after_id: str | None
    _tick_fn: Callable[[], bool] | None
    _tick_every: int
    _closed: bool

    def _bind_tk(self, manager: Any, show_after: float = 0.0) -> None:
        assert isinstance(self, tkinter.Misc)
        self._bind_manager(manager, show_after)
        self._after_id = None
        self._tick_fn = None
        self._tick_every = self.tick_ms
        self._closed = False
        self.bind("<Destroy>", self._on_tk_destroy, add="+")
        self._connect()

    # No ``destroy`` override here: tkinter's class comes first in every widget's
    # MRO, so it would never run; the <Destroy> binding closes the widget.

    def _on_tk_destroy(self, event: Any) -> None:
        if event.widget is self:
            self._close()

    def _close(self) -> None:
        self._closed = True
        self._disconnect()

    def _alive(self) -> bool:
        return not self._closed

    def _start_timer(self, ms: int, fn: Callable[[], bool]) -> Any:
        assert isinstance(self, tkinter.Misc)
        self._tick_fn, self._tick_every = fn, ms
        self._after_id = self.after(ms, self._tk_tick)
        return ms

    def _tk_tick(self) -> None:
        self._after_id = None
        fn = self._tick_fn
        if fn is not None and fn() and not self._closed:
            assert isinstance(self, tkinter.Misc)
            self._after_id = self.after(self._tick_every, self._tk_tick)

    def _cancel_timer(self, handle: Any) -> None:
        self._tick_fn = None
        after_id, self._after_id = self._after_id, None
        if after_id is not None:
            assert isinstance(self, tkinter.Misc)
            try:
                self.after_cancel(after_id)
            except tkinter.TclError:
                pass


def shrink(frame: tkinter.Misc) -> None:
    """Make a frame whose last child was just removed give its space back
    (Tk keeps the old size of a master left without slaves)."""
    frame.configure(height=2)  # type: ignore[call-arg]
    frame.configure(height=1)  # type: ignore[call-arg]
