"""The toolkit-neutral widget model (``tasker._widgets``), driven by hand: show_after,
paused rows, the paused count — no toolkit, no event loop, no wall clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fake_task import FakeTask

from tasker._widgets import RowLogic, RowState, ShowAfter, StatusBarLogic, TaskListLogic, count_text, paused_text


class FakeManager:
    def __init__(self) -> None:
        self.tasks: list[FakeTask] = []

    def __iter__(self) -> Any:
        return iter(self.tasks)

    def get_overall_progress(self) -> float:
        return 0.5 if self.tasks else 1.0


class Row(RowLogic):
    def __init__(self, task: FakeTask) -> None:
        self._init_row(task)  # type: ignore[arg-type]

    def _show(self, state: RowState) -> None: ...
    def _show_pulse(self) -> None: ...


class ListModel(TaskListLogic):
    """A TaskListLogic with a clock and a timer the test moves by hand."""

    def __init__(self, manager: FakeManager, show_after: float) -> None:
        self._init_list(cancellable=True, show_kind=True)
        self._bind_manager(manager, show_after)
        self._receiving = True
        self.clock = 0.0
        self.timer: Callable[[], bool] | None = None
        self.added: list[int] = []

    def _now(self) -> float:
        return self.clock

    def _start_timer(self, ms: int, fn: Callable[[], bool]) -> Any:
        self.timer = fn
        return fn

    def _cancel_timer(self, handle: Any) -> None:
        self.timer = None

    def fire(self) -> None:
        assert self.timer is not None
        if not self.timer():
            self.timer = None

    def _make_row(self, task: Any) -> Row:
        return Row(task)

    def _add_row(self, row: Row) -> None:
        self.added.append(row.task.id)

    def _remove_row(self, row: Row) -> None:
        pass


def test_show_after_picks_tasks_once_they_are_old_enough() -> None:
    delay = ShowAfter(2.0)
    a, b = FakeTask(1), FakeTask(2)
    assert delay.pick([a], 10.0) == ([], 2.0)
    assert delay.pick([a, b], 11.0) == ([], 1.0)
    assert delay.pick([a, b], 12.0) == ([a], 1.0)
    assert delay.pick([a, b], 13.0) == ([a, b], None)
    assert delay.pick([b], 14.0) == ([b], None) and delay.first_seen(a) is None  # a ended: forgotten
    assert ShowAfter(0).pick([a], 0.0) == ([a], None)


@pytest.mark.parametrize("bad", [-1, "1", None, True])
def test_show_after_must_be_seconds(bad: Any) -> None:
    with pytest.raises(ValueError, match="show_after"):
        ShowAfter(bad)


def test_a_list_with_show_after_adds_a_row_when_it_is_due_and_never_for_a_quick_task() -> None:
    manager = FakeManager()
    model = ListModel(manager, show_after=1.0)
    quick, slow = FakeTask(1), FakeTask(2)
    manager.tasks = [quick, slow]
    model.refresh()
    assert model.added == [] and model.timer is not None  # waiting: the timer brings them in
    model.clock = 0.5
    manager.tasks = [slow]  # the quick one ended
    model.fire()
    model.clock = 1.0
    model.fire()
    assert model.added == [2] and model.timer is not None  # ticking: no progress yet (pulsing)
    slow.progress = 0.5
    model.fire()
    assert model.timer is None and model.added == [2]


def test_a_paused_row_says_so_shows_no_eta_and_does_not_pulse() -> None:
    task = FakeTask(1, progress=0.0, message="exporting")
    state = RowState(task, now=0.0)  # type: ignore[arg-type]
    state.compute(now=5.0)
    assert state.pulsing and not state.paused
    task.paused = True
    state.compute(now=6.0)
    assert state.paused and not state.pulsing and state.message == "Paused — exporting" and state.eta == ""
    task.paused, task.progress = False, 0.5
    state.compute(now=7.0)
    state.compute(now=9.0)
    assert state.eta == "" and state.message == "exporting"  # the estimate starts again after a pause
    task.progress = 0.6
    state.compute(now=10.0)
    assert state.eta.endswith(" left")


def test_the_status_strip_counts_paused_tasks_and_does_not_pulse_for_them() -> None:
    class Strip(StatusBarLogic):
        def __init__(self) -> None:
            self._init_status("Idle", "fade", True, 0.0)
            self._bind_manager(FakeManager())
            self.ticks = 0

        def _show_idle(self) -> None: ...
        def _show_busy(self) -> None: ...
        def _show_fraction(self, fraction: float) -> None: ...
        def _show_pulse(self) -> None: ...

        def _want_ticks(self) -> None:
            self.ticks += 1

    strip = Strip()
    a, b = FakeTask(1), FakeTask(2)
    b.paused = True
    strip._update([a, b], 0.0)  # type: ignore[list-item]
    assert strip.count_text == "2 tasks, 1 paused" and strip.ticks == 1
    a.paused = True
    strip._update([a, b], 0.0)  # type: ignore[list-item]
    assert strip.count_text == "2 tasks, 2 paused" and not strip.pulsing and strip.ticks == 1


def test_texts() -> None:
    assert count_text(1) == "1 task" and count_text(3, 2) == "3 tasks, 2 paused"
    assert paused_text(None) == "Paused" and paused_text("step 3") == "Paused — step 3"
