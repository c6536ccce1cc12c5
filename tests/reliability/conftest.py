"""Fixtures of the reliability suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tasker.testing import LeakCheck

from .support import RHarness
from conftest import shut_down_and_check_leaks


@pytest.fixture
def make_rh() -> Iterator[Callable[..., RHarness]]:
    """Managers on the manual scheduler; afterwards, nothing of them may be left."""
    check = LeakCheck()
    made: list[RHarness] = []

    def make(**options: Any) -> RHarness:
        h = RHarness(**options)
        made.append(h)
        return h

    yield make
    shut_down_and_check_leaks(made, check)  # type: ignore[arg-type]
