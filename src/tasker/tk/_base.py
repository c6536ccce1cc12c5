"""What every tasker Tk widget shares: the manager binding on Tk, styles, a label.

A widget follows its manager from the moment it is built until it is
destroyed: by ``destroy()`` (its own, its parent's, the root's) or by Tk
itself (a ``<Destroy>`` event, e.g. a ``Toplevel`` closed by the window
manager). Receivers are bound methods held weakly by the manager's signals;
timers are ``after`` calls, canceled on destroy.
"""

from __future__ import annotations

import tkinter
from collections.abc import Callable
from tkinter import font as tkfont
from tkinter import ttk
from typing import Any

from .._widgets import ManagerBinding

__all__ = [
    "ElidedLabel", "TkBinding", "install_styles", "key_button", "mix", "split_master", "theme_colours", "tkinter",
    "ttk",
]

#: The banner's red, laid over the theme's background (the text keeps the theme's colour).
ERROR_RED = "#e01b24"


def mix(widget: tkinter.Misc, a: str, b: str, t: float) -> str:
    """The colour ``t`` of the way from ``a`` to ``b`` (any Tk colour names)."""
    (r1, g1, b1), (r2, g2, b2) = widget.winfo_rgb(a), widget.winfo_rgb(b)
    return "#" + "".join(f"{round((x + (y - x) * t) / 257):02x}" for x, y in ((r1, r2), (g1, g2), (b1, b2)))


def theme_colours(widget: tkinter.Misc) -> tuple[str, str]:
    """The ttk theme's (foreground, background) of labels and frames."""
    style = ttk.Style(widget)
    back = str(style.lookup("TFrame", "background") or style.lookup(".", "background") or "#d9d9d9")
    fore = str(style.lookup("TLabel", "foreground") or style.lookup(".", "foreground") or "black")
    return fore, back


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
    # Every colour comes from the theme's own foreground and background (a dark
    # theme gives light dim text and a dark red banner): none can vanish on it.
    fore, back = theme_colours(root)
    dim_fg, kind_bg = mix(root, back, fore, 0.70), mix(root, back, fore, 0.12)
    error_bg, error_border = mix(root, back, ERROR_RED, 0.16), mix(root, back, ERROR_RED, 0.6)
    style.configure("TaskerName.TLabel", font=bold)
    style.configure("TaskerDim.TLabel", foreground=dim_fg)
    style.configure("TaskerKind.TLabel", font=small, background=kind_bg, padding=(6, 0))
    style.configure("TaskerRow.TFrame", background=back)
    style.configure("TaskerError.TFrame", background=error_bg, bordercolor=error_border)
    style.configure("TaskerError.TLabel", background=error_bg, foreground=fore)
    style.configure("TaskerErrorTitle.TLabel", background=error_bg, foreground=fore, font=bold)
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


def key_button(master: Any, text: str, command: Callable[[], object], **options: Any) -> ttk.Button:
    """A ``ttk.Button`` that Tab reaches and Enter presses (Space does already)."""
    button = ttk.Button(master, text=text, command=command, takefocus=True, **options)
    for key in ("<Return>", "<KP_Enter>"):
        button.bind(key, lambda _event: button.invoke() and None, add="+")
    return button


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
