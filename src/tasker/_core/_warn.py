"""Warnings raised in tasks reach the application's ``warnings`` machinery, naming the task.

* Thread and coroutine tasks warn in the application's own process: its
  filters and registries decide where the warning is raised, as always
  (``"error"`` raises there and fails the task). What is *shown* goes to the
  main thread, with the task's name added to the text, through the
  ``warnings.showwarning`` that was in place: ``install_hook`` puts ``hook``
  in front of it (checked each time such a task starts, so a later
  replacement by the application or ``catch_warnings`` is wrapped again).
  The run template (``runners._inprocess``) sets ``current`` for the call:
  a context variable, so it names the thread task in its thread and the
  coroutine task in its asyncio task (and in the tasks it creates), never
  tasker's loop around them. Code that runs no task passes straight through.
* Process tasks warn in a worker, whose filter shows every warning once per
  location (``"default"``); the worker sends it (``_child``) and the parent
  re-issues it on the main thread with ``warnings.warn_explicit`` — the
  application's filters, registry and ``showwarning`` (``logging.captureWarnings``
  too) then decide; its category is rebuilt by name (``UserWarning`` when it
  cannot be imported here).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextvars import ContextVar
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._task import Task

ShowWarning = Callable[..., object]

#: The task whose function the current thread or asyncio task runs (None: none).
current: ContextVar[Task[Any] | None] = ContextVar("tasker_current_task", default=None)
_next: ShowWarning = warnings.showwarning
_registries: dict[str, dict[Any, Any]] = {}  # per file, as a module's __warningregistry__ would be


def named(text: str, task_name: str | None) -> str:
    return text if task_name is None else f"{text} (in task {task_name!r})"


def _instance(category: type[Warning], text: str) -> Warning | str:
    try:
        return category(text)
    except Exception:  # a category with its own __init__
        return text


# -- thread and coroutine tasks ---------------------------------------------------------
def install_hook() -> None:
    """Put ``hook`` in front of the current ``warnings.showwarning`` (idempotent)."""
    global _next
    shown = warnings.showwarning
    if shown is not hook:
        _next = shown
        warnings.showwarning = hook


def hook(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    task = current.get()
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
