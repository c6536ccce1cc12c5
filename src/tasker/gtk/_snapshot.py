"""Save what a widget shows as a PNG (screenshots in tests and docs)."""

from __future__ import annotations

from typing import Any

from ._base import Gtk


def save_png(widget: Any, path: str) -> tuple[int, int]:
    """Render ``widget`` (e.g. a window) as it is now to a PNG file at ``path``.

    Uses the widget's own GSK renderer, so it works under Xvfb and Wayland
    alike; returns the image size in pixels: the widget's size times its scale
    factor (``GDK_SCALE=2`` gives a picture twice as wide). The widget must be
    realized and have been laid out (shown for at least one frame).
    """
    import gi

    gi.require_version("Graphene", "1.0")
    from gi.repository import Graphene

    width, height = widget.get_width(), widget.get_height()
    if not widget.get_mapped():
        raise RuntimeError("save_png: the widget is not shown (mapped) yet")
    if width <= 0 or height <= 0:
        raise RuntimeError("save_png: the widget has no size yet (show it and let a frame pass)")
    scale = max(1, int(widget.get_scale_factor()))
    paintable = Gtk.WidgetPaintable.new(widget)
    snapshot = Gtk.Snapshot()
    if scale > 1:
        snapshot.scale(scale, scale)
    paintable.snapshot(snapshot, width, height)
    node = snapshot.to_node()
    if node is None:
        raise RuntimeError("save_png: the widget drew nothing (try again after its next frame)")
    renderer = widget.get_native().get_renderer()
    bounds = Graphene.Rect().init(0, 0, width * scale, height * scale)
    texture = renderer.render_texture(node, bounds)
    if not texture.save_to_png(path):
        raise OSError(f"save_png: could not write {path}")
    return width * scale, height * scale
