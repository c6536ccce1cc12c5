"""Save what a Qt widget shows as a PNG (screenshots in tests and docs)."""

from __future__ import annotations

from ._binding import QtWidgets


def save_png(widget: QtWidgets.QWidget, path: str) -> tuple[int, int]:
    """Grab ``widget`` (e.g. a window) as it is now to a PNG at ``path``; returns its size.

    Works with ``QT_QPA_PLATFORM=offscreen``. The widget should have been shown.
    """
    pixmap = widget.grab()
    if pixmap.isNull():
        raise RuntimeError("save_png: the widget has no size yet (show it first)")
    if not pixmap.save(path, "PNG"):
        raise OSError(f"save_png: could not write {path}")
    return pixmap.width(), pixmap.height()
