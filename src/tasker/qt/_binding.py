"""The Qt binding of ``tasker.qt``: PySide6 or PyQt6, chosen once, at import.

* ``TASKER_QT_API=pyside6`` or ``TASKER_QT_API=pyqt6`` in the environment forces one;
* otherwise the binding the application has already imported (PySide6 first,
  as ``tasker.schedulers.QtScheduler`` does);
* otherwise PySide6 if it is installed, else PyQt6.

Every other module of ``tasker.qt`` (and the Qt demo) imports Qt from here
only. Typed against PySide6; PyQt6's modules have the same names and classes.
"""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec
from typing import TYPE_CHECKING

__all__ = ["API", "QtCore", "QtGui", "QtWidgets", "Signal", "is_alive"]

#: The names ``TASKER_QT_API`` accepts, and the package of each.
APIS = {"pyside6": "PySide6", "pyqt6": "PyQt6"}


def choose_api() -> str:
    """``"pyside6"`` or ``"pyqt6"``: the binding ``tasker.qt`` uses (see the module's docstring)."""
    forced = os.environ.get("TASKER_QT_API", "").strip().lower()
    if forced:
        if forced not in APIS:
            raise ImportError(f"tasker.qt: TASKER_QT_API={forced!r}; expected one of {', '.join(APIS)}")
        return forced
    for api, package in APIS.items():
        if f"{package}.QtCore" in sys.modules:
            return api
    for api, package in APIS.items():
        if find_spec(package) is not None:
            return api
    raise ImportError("tasker.qt needs PySide6 or PyQt6: pip install 'tasker-ui[qt]' (or 'tasker-ui[pyqt6]')")


#: ``"pyside6"`` or ``"pyqt6"``.
API = choose_api()

if TYPE_CHECKING:
    from PySide6 import QtCore, QtGui, QtWidgets

    Signal = QtCore.Signal

    def is_alive(obj: object) -> bool:
        """True while ``obj``'s C++ object exists."""

elif API == "pyside6":
    import shiboken6
    from PySide6 import QtCore, QtGui, QtWidgets

    Signal = QtCore.Signal
    is_alive = shiboken6.isValid
else:
    from PyQt6 import QtCore, QtGui, QtWidgets, sip

    Signal = QtCore.pyqtSignal

    def is_alive(obj: object) -> bool:
        """True while ``obj``'s C++ object exists."""
        return not sip.isdeleted(obj)
