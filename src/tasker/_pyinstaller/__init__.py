"""PyInstaller support, found by PyInstaller through the ``pyinstaller40`` entry point.

tasker loads most of itself lazily (``importlib``; the worker's main module is
only named in a string), which PyInstaller's analysis cannot see: the hooks in
this directory name those modules. Nothing here is imported at run time.
"""

from __future__ import annotations

import os


def get_hook_dirs() -> list[str]:
    return [os.path.dirname(os.path.abspath(__file__))]
