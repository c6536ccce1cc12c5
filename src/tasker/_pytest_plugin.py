"""tasker's pytest plugin: fixtures for testing applications that use tasker.

Installed with ``tasker-ui`` as the ``pytest11`` entry point ``tasker``, so pytest
loads it by itself (``-p no:tasker`` turns it off; ``-p tasker._pytest_plugin``
loads it where entry points are not read, e.g. with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``).
pytest imports it in every run of every project that has tasker installed, so
it imports nothing of tasker until a test asks for one of its fixtures. The
tools themselves are in ``tasker.testing`` (usable without pytest).

Fixtures (see docs/testing.md):

* ``task_manager`` — a new ``TaskManager`` on the manual scheduler: its
  callbacks run when the test pumps it (``tasker.testing.pump``, ``pump_until``,
  ``wait_settled``). At teardown it is shut down, and the test fails if it left
  a task running (unless marked ``tasker_allow_live_tasks``), a process, a
  tasker thread or a shared-memory payload behind.
* ``manual_task_mgr`` — the same, built with the options given to
  ``task_mgr.initialize`` so far, and put behind the shared ``tasker.task_mgr``
  for the test (the application's own code then uses it); the proxy is as
  before afterwards.
* ``fake_clock`` — a ``tasker.testing.FakeClock``; a test that asks for it gets
  it wired into its ``task_manager`` / ``manual_task_mgr``.
* ``tasker_options`` — ``{}``: the options those managers are built with;
  override it (in a ``conftest.py``, a module, or with
  ``@pytest.mark.parametrize("tasker_options", [{...}])``) to change them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tasker import TaskManager
    from tasker.testing import FakeClock

MARKER = "tasker_allow_live_tasks"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: tasker's fixtures shut down the tasks still running at the end of "
        "this test instead of failing it",
    )


@pytest.fixture
def tasker_options() -> dict[str, Any]:
    """Options of the managers ``task_manager`` and ``manual_task_mgr`` build (override it)."""
    return {}


@pytest.fixture
def fake_clock() -> Iterator[FakeClock]:
    """Time that moves only on ``advance(seconds)``; wired into this test's tasker managers."""
    from tasker.testing import FakeClock

    clock = FakeClock()
    yield clock
    clock.stop()


@pytest.fixture
def task_manager(request: pytest.FixtureRequest, tasker_options: dict[str, Any]) -> Iterator[TaskManager]:
    """A new ``TaskManager`` on the manual scheduler, shut down and checked for leaks after."""
    with _managed(request, tasker_options) as manager:
        yield manager


@pytest.fixture
def manual_task_mgr(request: pytest.FixtureRequest, tasker_options: dict[str, Any]) -> Iterator[TaskManager]:
    """The manager behind ``tasker.task_mgr`` for this test: as ``task_manager``, with the app's options."""
    from tasker import task_mgr

    options = {**task_mgr.initialized_options(), **tasker_options}
    with _managed(request, options) as manager, task_mgr.swapped(manager):
        yield manager


@contextmanager
def _managed(request: pytest.FixtureRequest, options: dict[str, Any]) -> Iterator[TaskManager]:
    from tasker import testing

    check = testing.LeakCheck()
    if "fake_clock" in request.fixturenames:
        options = {**options, "clock": request.getfixturevalue("fake_clock")}
    manager = testing.manual_task_manager(**options)
    yield manager
    allowed = request.node.get_closest_marker(MARKER) is not None
    try:
        testing.shut_down_and_check([manager], check, live_tasks_ok=allowed)
    except testing.LeftBehindError as error:
        failure = f"tasker: {error}"
    else:
        return
    pytest.fail(failure, pytrace=False)  # outside the except: no "during handling" chain
