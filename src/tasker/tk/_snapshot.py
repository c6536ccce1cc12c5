"""A PNG of a Tk window (X11 only: Tk cannot read back its own pixels)."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any


def save_png(widget: Any, path: str) -> tuple[int, int]:
    """Save what ``widget``'s window shows now to ``path``; returns its size.

    Uses ImageMagick's ``import -window ID`` (Debian: ``apt install imagemagick``),
    so it needs an X11 display (Xvfb is fine). The window must be mapped.
    """
    tool = shutil.which("import")
    if tool is None:
        raise RuntimeError("save_png needs ImageMagick's 'import' (apt install imagemagick)")
    widget.update_idletasks()
    if not widget.winfo_ismapped():
        raise RuntimeError("save_png: the window is not shown yet")
    window_id = widget.winfo_toplevel().winfo_id()
    subprocess.run([tool, "-window", str(window_id), path], check=True, capture_output=True, timeout=30)
    return int(widget.winfo_toplevel().winfo_width()), int(widget.winfo_toplevel().winfo_height())
