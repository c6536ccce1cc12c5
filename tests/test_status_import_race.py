"""A task ends whatever state ``asyncio``'s import is in on another thread.

Seen on Debian 13 (Python 3.13) under load: a thread task concluded while the
main thread was importing ``asyncio``; reading ``asyncio.CancelledError`` from
the half-initialised package raised AttributeError in the pool thread, and the
task never ended.
"""

from __future__ import annotations

import asyncio
import sys
import types
from typing import Any

import pytest

from tasker import TaskStatus
from tasker._core._status import final_status


class _Stopped:
    """What final_status reads of a task that stopped by itself."""

    _timed_out = False
    _cancel_requested = False
    timeout = None
    name = "stopped"


TASK: Any = _Stopped()


def test_a_half_imported_asyncio_package_does_not_break_the_ending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncio", types.ModuleType("asyncio"))  # no attributes bound yet
    error = ValueError("boom")
    assert final_status(TASK, error) == (TaskStatus.FAILED, error)
    assert final_status(TASK, asyncio.CancelledError()) == (TaskStatus.CANCELED, None)


def test_a_half_imported_exceptions_module_does_not_break_the_ending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncio.exceptions", types.ModuleType("asyncio.exceptions"))
    error = ValueError("boom")
    assert final_status(TASK, error) == (TaskStatus.FAILED, error)


def test_without_asyncio_a_failure_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "asyncio.exceptions")
    error = RuntimeError("no asyncio")
    assert final_status(TASK, error) == (TaskStatus.FAILED, error)
