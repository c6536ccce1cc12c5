"""tasker's Tk widgets keep their own attributes whatever tkinter adds.

A tasker Tk widget is ``class X(ttk.Frame, <toolkit-neutral logic>, ...)``:
tkinter's classes come first in the MRO, so a name that a newer Python adds to
``tkinter.Misc`` would hide the logic's attribute of the same name (Python 3.13
added ``Misc.busy``, which hid ``TaskProgressBar.busy``). Needs no display.
"""

from __future__ import annotations

import pytest

tk = pytest.importorskip("tasker.tk", reason="tkinter is not installed (Debian ships it apart: python3-tk)")
from tasker.tk._list import TaskRow  # noqa: E402

WIDGETS = [tk.TaskErrorBanner, tk.TaskListView, tk.TaskProgressBar, TaskRow]


@pytest.mark.parametrize("cls", WIDGETS, ids=lambda cls: cls.__name__)
def test_no_tasker_attribute_is_hidden_by_tkinter(cls: type) -> None:
    hidden = {}
    for base in cls.__mro__:
        if not base.__module__.startswith("tasker."):
            continue
        for name in vars(base):
            if name.startswith("__") and name.endswith("__"):
                continue
            owner = next(klass for klass in cls.__mro__ if name in vars(klass))
            if not owner.__module__.startswith("tasker."):
                hidden[name] = f"{owner.__module__}.{owner.__qualname__}"
    assert hidden == {}, f"tkinter hides these attributes of tasker's {cls.__name__}: {hidden}"


def test_progress_bar_busy_is_taskers_property() -> None:
    assert isinstance(tk.TaskProgressBar.busy, property)
