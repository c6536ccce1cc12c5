"""The error banner (``TaskErrorBanner``): which failures it shows, toolkit-neutral."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._binding import ManagerBinding
from ._text import describe_error

if TYPE_CHECKING:
    from .._core._task import Task

__all__ = ["ErrorBannerLogic", "describe_error"]


class ErrorBannerLogic(ManagerBinding):
    """Mixin: one entry per failure, each task once, at most ``max_entries``.

    Failures come from ``manager.task_ended`` (so a task that failed within one
    throttle interval, never listed by ``tasks_updated``, is reported too) and
    from ``report`` / ``report_error``. The toolkit implements
    ``_make_entry(title, detail, task)`` (a widget with ``title``, ``detail`` and
    ``task`` attributes), ``_add_entry(entry)``, ``_remove_entry(entry)`` and
    ``_reveal(shown)``.
    """

    _entries: list[Any]

    def _init_banner(self, follow: bool, max_entries: int) -> None:
        self._follow = follow
        self._max_entries = max(1, max_entries)
        self._shown: set[int] = set()
        self._entries = []

    # -- read back -------------------------------------------------------------------------
    @property
    def failures(self) -> list[tuple[str, str]]:
        """``(title, detail)`` of every entry shown, oldest first."""
        return [(entry.title, entry.detail) for entry in self._entries]

    @property
    def entries(self) -> list[Any]:
        return list(self._entries)

    # -- reporting ----------------------------------------------------------------------------
    def when_done(self, task: Task[Any]) -> None:
        """A ``when_done`` callback: reports the task if it failed."""
        if task.get_status() == "failed":
            self.report(task)

    def report(self, task: Task[Any]) -> None:
        """Show the failure of ``task`` (once per task)."""
        if task.id in self._shown or not self._alive():
            return
        self._shown.add(task.id)
        self._add(self._make_entry(f"{task.name} failed", describe_error(task.exception()), task))

    def report_error(self, title: str, error: BaseException | str) -> None:
        """Show any error: ``title`` in bold, the error below it."""
        if not self._alive():
            return
        detail = error if isinstance(error, str) else describe_error(error)
        self._add(self._make_entry(title, detail, None))

    def dismiss(self, entry: Any) -> None:
        """Remove one entry; the banner hides after the last one."""
        if entry in self._entries:
            self._entries.remove(entry)
            self._remove_entry(entry)
        if not self._entries:
            self._reveal(False)

    def clear(self) -> None:
        """Dismiss every entry."""
        for entry in list(self._entries):
            self.dismiss(entry)

    def _add(self, entry: Any) -> None:
        self._entries.append(entry)
        self._add_entry(entry)
        while len(self._entries) > self._max_entries:
            self.dismiss(self._entries[0])
        self._reveal(True)

    def _update(self, tasks: list[Task[Any]], progress: float) -> None:
        pass  # failures come from manager.task_ended (see _ended)

    def _ended(self, task: Task[Any]) -> None:
        if task.get_status() == "failed":
            self.report(task)

    def _make_entry(self, title: str, detail: str, task: Task[Any] | None) -> Any:
        raise NotImplementedError

    def _add_entry(self, entry: Any) -> None:
        raise NotImplementedError

    def _remove_entry(self, entry: Any) -> None:
        raise NotImplementedError

    def _reveal(self, shown: bool) -> None:
        raise NotImplementedError
