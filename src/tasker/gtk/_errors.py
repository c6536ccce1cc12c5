"""``TaskErrorBanner``: tells the user that a task failed, and why."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._widgets import ErrorBannerLogic, describe_error, dismiss_label
from ._a11y import describing, relate
from ._base import Gtk, GtkBinding

if TYPE_CHECKING:
    from .._core._task import Task

__all__ = ["TaskErrorBanner", "describe_error"]

_ELLIPSIZE_END = 3  # Pango.EllipsizeMode.END


class _Entry(Gtk.Box):  # type: ignore[misc]
    __gtype_name__ = "TaskerErrorEntry"

    def __init__(self, title: str, detail: str, task: Task[Any] | None) -> None:
        super().__init__(spacing=10, accessible_role=Gtk.AccessibleRole.ALERT)
        self.task = task
        self.title = title
        self.detail = detail
        icon = Gtk.Image.new_from_icon_name("dialog-error-symbolic")
        icon.add_css_class("tasker-error-icon")
        icon.update_state([Gtk.AccessibleState.HIDDEN], [True])  # decoration: the alert role says it
        icon.set_valign(Gtk.Align.START)
        icon.set_margin_top(2)
        heading = Gtk.Label(label=title, xalign=0.0)
        heading.add_css_class("tasker-error-title")
        heading.set_ellipsize(_ELLIPSIZE_END)
        body = Gtk.Label(label=detail, xalign=0.0, hexpand=True, selectable=True)
        body.set_ellipsize(_ELLIPSIZE_END)
        body.set_tooltip_text(detail)
        describing(body, detail)  # what the entry's described-by gives
        self.title_label, self.detail_label = heading, body
        text = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=2, hexpand=True)
        text.append(heading)
        text.append(body)
        self.dismiss_button = Gtk.Button.new_from_icon_name("window-close-symbolic")
        self.dismiss_button.set_valign(Gtk.Align.CENTER)
        self.dismiss_button.set_tooltip_text("Dismiss")
        self.dismiss_button.update_property([Gtk.AccessibleProperty.LABEL], [dismiss_label(title)])
        self.dismiss_button.add_css_class("flat")
        self.dismiss_button.add_css_class("circular")
        self.dismiss_button.connect("clicked", _dismiss_clicked)
        self.append(icon)
        self.append(text)
        self.append(self.dismiss_button)
        relate(self, Gtk.AccessibleRelation.LABELLED_BY, heading)
        relate(self, Gtk.AccessibleRelation.DESCRIBED_BY, body)


def _dismiss_clicked(button: Any) -> None:
    entry = button.get_ancestor(_Entry)
    banner = button.get_ancestor(TaskErrorBanner)
    if entry is not None and banner is not None:
        banner.dismiss(entry)


class TaskErrorBanner(Gtk.Revealer, ErrorBannerLogic, GtkBinding):  # type: ignore[misc]
    """A dismissible banner listing failed tasks with their error messages.

    Put it at the top of a window's content. It reveals itself when a failure
    is reported and hides when the user has dismissed every entry.

    Failures reach it in two ways (use either):

    * automatically: it follows ``manager.task_ended`` and reports every task
      that ends ``failed``, even one that never showed up in ``tasks_updated``
      (``follow=False`` turns this off);
    * ``banner.report(task)`` or ``banner.report_error(title, error)`` — e.g.
      from a ``when_done`` (``when_done=banner.when_done`` reports failures).

    At most ``max_entries`` are shown; older ones are dropped. A task is shown once.
    Each entry has the alert role, is labelled by its title and described by
    its error; its dismiss button is "Dismiss: ‹title›". Dismissing the entry
    holding the focus moves the focus to the next entry's button.
    """

    __gtype_name__ = "TaskerTaskErrorBanner"

    def __init__(self, manager: Any = None, *, follow: bool = True, max_entries: int = 3) -> None:
        super().__init__(
            transition_type=Gtk.RevealerTransitionType.SLIDE_DOWN,
            transition_duration=200,
            reveal_child=False,
        )
        self._init_banner(follow, max_entries)
        self._box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
        self._box.add_css_class("tasker-error-banner")
        self.set_child(self._box)
        self._bind_manager(manager)

    def do_realize(self) -> None:
        Gtk.Revealer.do_realize(self)
        if self._follow:
            self._binding_realized()

    def do_unrealize(self) -> None:
        self._binding_unrealized()
        Gtk.Revealer.do_unrealize(self)

    def _make_entry(self, title: str, detail: str, task: Task[Any] | None) -> _Entry:
        return _Entry(title, detail, task)

    def _add_entry(self, entry: _Entry) -> None:
        self._box.append(entry)

    def _remove_entry(self, entry: _Entry) -> None:
        root = entry.get_root()
        focus = root.get_focus() if root is not None else None
        had_focus = focus is not None and (focus is entry or focus.is_ancestor(entry))
        after = entry.get_next_sibling() or entry.get_prev_sibling()
        self._box.remove(entry)
        if had_focus and isinstance(after, _Entry):  # keyboard users stay in the banner
            after.dismiss_button.grab_focus()
        elif had_focus and root is not None:  # the last entry: on to what follows the banner
            root.set_focus(None)
            root.child_focus(Gtk.DirectionType.TAB_FORWARD)

    def _reveal(self, shown: bool) -> None:
        self.set_reveal_child(shown)
