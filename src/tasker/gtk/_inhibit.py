"""``inhibit_while_busy``: no suspend or logout while visible work runs."""

from __future__ import annotations

from typing import Any

from .._widgets import resolve_manager
from ._base import Gtk

__all__ = ["BusyInhibitor", "inhibit_while_busy"]


class BusyInhibitor:
    """Holds ``Gtk.Application.inhibit`` while any visible task runs; releases it when idle.

    Paused tasks do not count: when every live task is paused the hold is
    released (the user paused the export to let the laptop sleep). A request
    the session refuses (cookie 0, e.g. no session manager) is not repeated
    until the manager has been idle once. ``release()`` (also when the
    application shuts down) stops following the manager and lets go.
    """

    def __init__(self, app: Any, manager: Any = None, *, reason: str = "Background tasks are running",
                 flags: Any = None) -> None:
        self.app = app
        self.reason = reason
        self.flags = flags if flags is not None else (
            Gtk.ApplicationInhibitFlags.SUSPEND | Gtk.ApplicationInhibitFlags.LOGOUT
        )
        self._manager = resolve_manager(manager)
        # Invariant: None while not busy (nothing asked); 0 once asked and refused, until
        # idle again; otherwise the cookie GTK gave, held until idle, release() or shutdown.
        self._cookie: int | None = None
        self._following = True
        self._manager.tasks_updated.connect(self._on_tasks_updated)
        self._shutdown_id = app.connect("shutdown", lambda _app: self.release())
        self.refresh()

    @property
    def inhibited(self) -> bool:
        """True while a hold was granted (a cookie is held)."""
        return bool(self._cookie)

    @property
    def refused(self) -> bool:
        """True when work is running but the session refused the hold: GTK found nothing
        to take it (neither a session manager it talks to nor the desktop portal's
        Inhibit) and returned cookie 0. Asked again once the manager has been idle."""
        return self._cookie == 0

    def refresh(self) -> None:
        """Bring the hold in line with the manager's tasks now."""
        self._apply([t for t in self._manager if t.visible])

    def release(self) -> None:
        """Stop following the manager and release the hold (idempotent)."""
        if self._following:
            self._following = False
            self._manager.tasks_updated.disconnect(self._on_tasks_updated)
            if self._shutdown_id:
                self.app.disconnect(self._shutdown_id)
                self._shutdown_id = 0
        self._let_go()

    def _on_tasks_updated(self, sender: Any, *, tasks: list[Any], **_: Any) -> None:
        if self._following:
            self._apply(tasks)

    def _apply(self, tasks: list[Any]) -> None:
        busy = any(not task.is_paused() for task in tasks)
        if busy and self._cookie is None:
            window = self.app.get_active_window()
            self._cookie = int(self.app.inhibit(window, self.flags, self.reason))
        elif not busy:
            self._let_go()

    def _let_go(self) -> None:
        cookie, self._cookie = self._cookie, None
        if cookie:
            self.app.uninhibit(cookie)


def inhibit_while_busy(app: Any, reason: str = "Background tasks are running", *, manager: Any = None,
                       flags: Any = None) -> BusyInhibitor:
    """Keep the session from suspending or logging out while ``manager``'s visible tasks run.

    ``app`` is the ``Gtk.Application``; ``flags`` default to
    ``SUSPEND | LOGOUT``; ``manager`` to the shared ``task_mgr``. Keep the
    returned ``BusyInhibitor`` to ``release()`` it early; otherwise it
    lasts until the application shuts down.
    """
    return BusyInhibitor(app, manager, reason=reason, flags=flags)
