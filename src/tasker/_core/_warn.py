"""Warnings raised in tasks reach the application's ``warnings`` machinery, naming the task.

* Thread tasks warn in the application's own process: its filters and
  registries decide in that thread as always (``"error"`` raises there and
  fails the task). What is *shown* goes to the main thread, with the task's
  name added to the text, through the ``warnings.showwarning`` that was in
  place: ``install_thread_hook`` puts ``_thread_hook`` in front of it
  (checked each time a thread task starts, so a later replacement by the
  application or ``catch_warnings`` is wrapped again). Threads that run no
  task pass straight through.
* Process tasks warn in a worker, whose filter shows every warning once per
  location (``"default"``); the worker sends it (``_child``) and the parent
  re-issues it on the main thread with ``warnings.warn_explicit`` — the
  application's filters, registry and ``showwarning`` (``logging.captureWarnings``
  too) then decide; its category is rebuilt by name (``UserWarning`` when it
  cannot be imported here).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._task import Task

ShowWarning = Callable[..., object]

_local = threading.local()  # .task: the task the current thread runs
_next: ShowWarning = warnings.showwarning
_registries: dict[str, dict[Any, Any]] = {}  # per file, as a module's __warningregistry__ would be


def named(text: str, task_name: str | None) -> str:
    return text if task_name is None else f"{text} (in task {task_name!r})"


def _instance(category: type[Warning], text: str) -> Warning | str:
    try:
        return category(text)
    except Exception:  # a category with its own __init__
        return text


# -- thread tasks -----------------------------------------------------------------------
def install_thread_hook() -> None:
    """Put ``_thread_hook`` in front of the current ``warnings.showwarning`` (idempotent)."""
    global _next
    current = warnings.showwarning
    if current is not _thread_hook:
        _next = current
        warnings.showwarning = _thread_hook


def set_current(task: Task[Any] | None) -> None:
    """The task the calling thread runs from now on (None: none)."""
    _local.task = task


def _thread_hook(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    task: Task[Any] | None = getattr(_local, "task", None)
    show = _next
    if task is None or task.is_final():
        show(message, category, filename, lineno, file, line)
        return
    text = named(str(message), task.name)
    task._lifecycle.delivery.call(show, _instance(category, text), category, filename, lineno, file, line)


# -- process tasks ----------------------------------------------------------------------
def category_named(module: str, qualname: str) -> tuple[type[Warning], str | None]:
    """The warning class ``module.qualname``, or ``(UserWarning, its name)`` when not importable."""
    try:
        found: Any = import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
        if isinstance(found, type) and issubclass(found, Warning):
            return found, None
    except Exception:
        pass
    return UserWarning, f"{module}.{qualname}"


def reissue(task_name: str | None, module: str, qualname: str, text: str, filename: str, lineno: int) -> None:
    """On the main thread: a worker's warning through this process's warnings machinery."""
    category, lost = category_named(module, qualname)
    if lost is not None:
        text = f"{lost}: {text}"
    message = named(text, task_name)
    registry = _registries.setdefault(filename, {})
    warnings.warn_explicit(_instance(category, message), category, filename, lineno, registry=registry)
