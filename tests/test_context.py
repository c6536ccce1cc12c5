"""ExecutionContext: progress arithmetic, sub-contexts, validation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasker import ExecutionContext

pytestmark = pytest.mark.timeout(60)


class Cell:
    def __init__(self) -> None:
        self._progress = 0.0
        self._message: str | None = None
        self._dirty = False
        self.changes = 0
        self.events: list[tuple[str, object]] = []
        self.flushed = 0

    def _changed(self) -> None:
        self._dirty = True
        self.changes += 1

    def _pause_point(self) -> bool:
        return True  # the flag is only ever set to cancel here

    def _send_event(self, name: str, data: object) -> None:
        self.events.append((name, data))

    def _flush(self) -> None:
        self.flushed += 1


def make() -> tuple[ExecutionContext, Cell, bytearray]:
    cell, flag = Cell(), bytearray(1)
    return ExecutionContext(cell, flag), cell, flag


def test_default_total_is_one() -> None:
    ctx, cell, _ = make()
    ctx.set_progress(1.0)
    assert cell._progress == 1.0


def test_total_and_clamping() -> None:
    ctx, cell, _ = make()
    ctx.set_total(50)
    ctx.set_progress(25)
    assert cell._progress == 0.5
    ctx.set_progress(80)
    assert cell._progress == 1.0
    ctx.set_progress(-3)
    assert cell._progress == 0.0
    ctx.set_progress(math.nan)
    assert cell._progress == 0.0
    assert cell.changes == 1, "one change notice until the delivery clears the dirty flag"


@pytest.mark.parametrize("bad", [0, -1, math.nan, "x"])
def test_bad_totals(bad: object) -> None:
    ctx, _, _ = make()
    with pytest.raises((ValueError, TypeError)):
        ctx.set_total(bad)  # type: ignore[arg-type]


def test_sub_contexts_nest() -> None:
    ctx, cell, flag = make()
    stage2 = ctx.sub_context(0.5, 0.5)
    stage2.set_progress(0.5)
    assert cell._progress == pytest.approx(0.75)
    inner = stage2.sub_context(0.0, 0.5, total=10)
    inner.set_progress(10)
    assert cell._progress == pytest.approx(0.75)
    inner.set_message("inner")
    assert cell._message == "inner"
    assert not inner.is_cancelled()
    flag[0] = 1
    assert inner.is_cancelled() and ctx.is_cancelled()
    with pytest.raises(ValueError, match="fractions"):
        ctx.sub_context(1.5, 0.1)


@given(
    st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=5),
    st.floats(allow_nan=True, allow_infinity=True),
)
def test_progress_stays_in_unit_interval(chain: list[tuple[float, float]], value: float) -> None:
    ctx, cell, _ = make()
    for base, span in chain:
        ctx = ctx.sub_context(base, span)
    ctx.set_progress(value)
    assert 0.0 <= cell._progress <= 1.0


def test_property_tests_have_no_deadline() -> None:
    """A deadline is a wall-clock bound: on a loaded machine a correct example can exceed it."""
    from hypothesis import settings

    assert settings().deadline is None


def test_events_and_flush_go_to_the_cell() -> None:
    ctx, cell, _ = make()
    ctx.send_event("preview", {"row": 1})
    ctx.flush()
    ctx.set_message(None)
    assert cell.events == [("preview", {"row": 1})]
    assert cell.flushed == 1
    assert cell._message is None
