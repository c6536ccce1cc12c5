"""Accessibility of tasker's GTK widgets: names, relations, the bar's value, announcements.

What a screen reader gets from GTK 4 comes from each widget's accessible role,
properties and relations (``Gtk.Accessible``); GTK exports them over AT-SPI.
This module holds what the widgets need beyond plain properties:

* ``relate(widget, relation, *targets)`` — ``labelled-by`` / ``described-by``;
  ``describing(label, text)`` keeps a ``described-by`` target's description
  equal to its text (what the relation yields on every GTK).
  PyGObject can pass a list of widgets only where GTK has
  ``Gtk.AccessibleList`` (GTK >= 4.14); on older GTK the C function
  ``gtk_accessible_update_relation`` is called through ``ctypes``.
* ``AccessibleBar`` — a progress bar in two layers: the visible bar (moves
  smoothly, hidden from assistive technology) and an invisible twin of the same
  size that carries the *accessible* value, changed only by the rate rule of
  ``tasker._widgets.AccessibleValue`` (GTK sets a bar's accessible value on
  every ``set_fraction``; a screen reader reading each change would never stop).
* ``announce(widget, text)`` — ``Gtk.Accessible.announce`` (GTK >= 4.14);
  older GTK has no way to make a screen reader speak, so the text goes into the
  widget's accessible description (read when the user reaches it) instead.

::

    Overlay (role: group)
      ├─ visible ProgressBar   (role: none)       set_fraction on every update
      └─ twin ProgressBar      (role: progress bar, opacity 0)
             name ← labelled-by the row's name label
             description ← described-by the row's message label
             value ← AccessibleValue.offer / .due (at most ~1/s, on 10 % steps)
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

from ._base import Gtk

__all__ = ["HAS_ANNOUNCE", "AccessibleBar", "announce", "describing", "gtk_version", "relate"]

#: ``Gtk.Accessible.announce`` exists (GTK >= 4.14).
HAS_ANNOUNCE = hasattr(Gtk.Accessible, "announce")


def gtk_version() -> str:
    return f"{Gtk.get_major_version()}.{Gtk.get_minor_version()}.{Gtk.get_micro_version()}"


_libgtk: Any = None


def _c_pointer(obj: Any) -> int:
    capsule = obj.__gpointer__
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype = ctypes.c_void_p
    get.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return int(get(capsule, None))


def _gtk_library() -> Any:
    global _libgtk
    if _libgtk is None:
        name = ctypes.util.find_library("gtk-4") or "libgtk-4.so.1"
        _libgtk = ctypes.CDLL(name)
    return _libgtk


def relate(widget: Any, relation: Any, *targets: Any) -> None:
    """Set ``relation`` (e.g. ``Gtk.AccessibleRelation.LABELLED_BY``) of ``widget`` to ``targets``."""
    accessible_list = getattr(Gtk, "AccessibleList", None)
    if accessible_list is not None:  # GTK >= 4.14
        widget.update_relation([relation], [accessible_list.new_from_list(list(targets))])
        return
    # GTK < 4.14: a relation to widgets is a NULL-terminated vararg list in C only.
    args: list[Any] = [ctypes.c_void_p(_c_pointer(widget)), ctypes.c_int(int(relation))]
    args += [ctypes.c_void_p(_c_pointer(target)) for target in targets]
    args += [ctypes.c_void_p(None), ctypes.c_int(-1)]
    _gtk_library().gtk_accessible_update_relation(*args)


def describing(label: Any, text: str) -> None:
    """Make ``text`` what ``label`` gives the widgets ``described-by`` it; call on every change.

    A ``described-by`` relation yields the target's accessible *description*,
    not its text. GTK 4.8 makes a widget's tooltip its description, GTK 4.18
    does not, and neither uses a label's text there: without this the
    described widget's description is empty on GTK 4.18.
    """
    label.update_property([Gtk.AccessibleProperty.DESCRIPTION], [text])


def announce(widget: Any, text: str, *, assertive: bool = False) -> bool:
    """Have a screen reader speak ``text`` now (GTK >= 4.14); returns whether it could.

    On older GTK the text becomes ``widget``'s accessible description (what a
    screen reader reads when the user reaches it), and False is returned.
    """
    if HAS_ANNOUNCE:
        priority = Gtk.AccessibleAnnouncementPriority
        widget.announce(text, priority.HIGH if assertive else priority.MEDIUM)
        return True
    widget.update_property([Gtk.AccessibleProperty.DESCRIPTION], [text])
    return False


class AccessibleBar(Gtk.Overlay):  # type: ignore[misc]
    """A progress bar whose accessible value moves by the rate rule, while the visible bar moves smoothly.

    ``bar`` is the visible ``Gtk.ProgressBar`` (hidden from assistive
    technology); ``twin`` the accessible one (drawn at opacity 0, same size).
    The owner calls ``show_fraction`` / ``pulse`` for the picture and
    ``publish(value)`` for what a screen reader gets.
    """

    __gtype_name__ = "TaskerAccessibleBar"

    def __init__(self, **props: Any) -> None:
        # A group, presented: a role of "none" would hide the twin too.
        super().__init__(accessible_role=Gtk.AccessibleRole.GROUP, **props)
        self.bar = Gtk.ProgressBar(hexpand=True, valign=Gtk.Align.CENTER, accessible_role=Gtk.AccessibleRole.NONE)
        self.twin = Gtk.ProgressBar(hexpand=True, valign=Gtk.Align.CENTER, can_target=False, opacity=0.0)
        self.set_child(self.bar)
        self.add_overlay(self.twin)
        self.set_measure_overlay(self.twin, False)
        self.published: float | None = None  # the accessible value (None: busy, no value)

    # -- picture ----------------------------------------------------------------------
    def show_fraction(self, fraction: float) -> None:
        self.bar.set_fraction(fraction)

    def pulse(self) -> None:
        self.bar.pulse()

    def get_fraction(self) -> float:
        return float(self.bar.get_fraction())

    def set_pulse_step(self, step: float) -> None:
        self.bar.set_pulse_step(step)

    # -- what a screen reader gets ----------------------------------------------------------
    def publish(self, value: float) -> None:
        """Set the accessible value (0..1) and its text (``"40 %"``)."""
        self.published = value
        self.twin.set_fraction(value)
        self.twin.update_property(
            [Gtk.AccessibleProperty.VALUE_NOW, Gtk.AccessibleProperty.VALUE_TEXT], [value, f"{value:.0%}"]
        )

    def publish_busy(self) -> None:
        """No value: the work's length is unknown (the visible bar pulses)."""
        self.published = None
        self.twin.set_fraction(0.0)
        self.twin.update_property([Gtk.AccessibleProperty.VALUE_TEXT], ["busy"])
