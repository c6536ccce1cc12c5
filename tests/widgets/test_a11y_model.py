"""What a screen reader gets, toolkit-neutral (``tasker._widgets``): the rate rule of
the accessible value, the ending announced once, the buttons' names — all on the
manager's clock (``FakeClock``), so every step is exact."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fake_task import FakeTask

from tasker import TaskManager
from tasker._widgets import (
    AccessibleValue,
    RowLogic,
    RowState,
    StatusBarLogic,
    TaskListLogic,
    cancel_label,
    clock_now,
    dismiss_label,
    ending_text,
    pause_label,
)
from tasker.schedulers import ManualScheduler
from tasker.testing import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def manager(clock: FakeClock) -> Iterator[TaskManager]:
    mgr = TaskManager(main_thread_scheduler=ManualScheduler(), clock=clock)
    yield mgr
    mgr.shutdown(timeout=5)


def test_the_accessible_value_moves_on_new_steps_at_most_once_a_second() -> None:
    value = AccessibleValue()
    assert value.offer(0.02, 0.0) == 0.02  # the first value at once
    assert value.offer(0.05, 0.1) is None  # same 10 % step: nothing
    assert value.offer(0.09, 5.0) is None  # however long it took
    assert value.offer(0.12, 5.2) == 0.12  # a new step, a second after the last one
    assert value.offer(0.25, 5.4) is None and value.holding  # a new step too soon: held
    assert value.due(6.1) is None  # not yet a second
    assert value.offer(0.28, 6.15) is None and value.holding  # still held, the newer value kept
    assert value.due(6.2) == 0.28 and not value.holding  # its second is over: the value as it is now
    assert value.offer(0.29, 6.3) is None
    assert value.offer(0.99, 6.4) is None and value.holding  # seven steps at once: one value, later
    assert value.offer(1.0, 6.5) == 1.0 and not value.holding  # the end: at once
    assert value.offer(1.0, 6.6) is None
    assert value.offer(0.0, 6.7) == 0.0  # back to the start (a new task): at once
    assert value.value == 0.0


def test_a_held_step_is_dropped_when_the_bar_goes_back_into_the_published_step() -> None:
    value = AccessibleValue()
    value.offer(0.31, 0.0)
    assert value.offer(0.41, 0.5) is None and value.holding
    assert value.offer(0.35, 0.6) is None and not value.holding
    assert value.due(5.0) is None


def test_a_hundred_updates_a_second_give_at_most_one_value_a_second_and_every_step() -> None:
    value = AccessibleValue()
    published: list[tuple[float, float]] = []
    for i in range(1001):  # 0 .. 100 % over 10 s, an update every 10 ms
        now, fraction = i / 100, i / 1000
        got = value.offer(fraction, now)
        if got is None:
            got = value.due(now)
        if got is not None:
            published.append((now, got))
    times = [t for t, _ in published]
    gaps = [b - a for a, b in itertools.pairwise(times[:-1])]  # the end may come sooner
    assert min(gaps) >= AccessibleValue.INTERVAL
    assert [int(v * 10 + 1e-9) for _, v in published] == list(range(11))  # each 10 % step once
    assert published[-1] == (10.0, 1.0)


def test_widget_time_is_the_managers_clock(clock: FakeClock, manager: TaskManager) -> None:
    assert clock_now(manager) == clock.now
    task = manager.run_thread(lambda context: None)
    assert clock_now(task) == clock.now
    assert clock_now(object()).__name__ == "monotonic"


class Strip(StatusBarLogic):
    def __init__(self, manager: Any) -> None:
        self._init_status("Idle", "fade", True, 0.3)
        self._bind_manager(manager)
        self.values: list[float | None] = []
        self.pulses = 0

    def _show_idle(self) -> None: ...
    def _show_busy(self) -> None: ...
    def _show_fraction(self, fraction: float) -> None: ...

    def _show_pulse(self) -> None:
        self.pulses += 1

    def _want_ticks(self) -> None: ...

    def _publish_value(self, value: float | None) -> None:
        self.values.append(value)


def test_the_status_strip_pulses_after_pulse_after_on_the_managers_clock(
    clock: FakeClock, manager: TaskManager
) -> None:
    """Widget time is the manager's clock, and 0.0 is a time like any other: a
    FakeClock starting at 0 makes the strip pulse (0.0 must not read "not busy")."""
    strip = Strip(manager)
    task = FakeTask(1, clock)
    strip._update([task], 0.0)  # type: ignore[list-item]
    assert not strip.pulsing
    clock.advance(0.2)
    strip._update([task], 0.0)  # type: ignore[list-item]
    assert not strip.pulsing
    clock.advance(0.2)
    strip._tick()
    assert strip.pulsing and strip.pulses == 1
    assert strip.values == [0.0, None]  # a value while it showed one, none while it pulses


def test_the_status_strips_accessible_value_follows_the_rate_rule(clock: FakeClock, manager: TaskManager) -> None:
    strip = Strip(manager)
    task = FakeTask(1, clock, progress=0.05)
    for progress in (0.05, 0.07, 0.15, 0.18):
        strip._update([task], progress)  # type: ignore[list-item]
        clock.advance(0.1)
    assert strip.values == [0.05] and strip._ticking()  # 15 % came too soon: held, the timer runs
    clock.advance(0.6)
    strip._tick()
    assert strip.values == [0.05, 0.18] and not strip._ticking()
    strip._update([], 1.0)
    assert strip.values == [0.05, 0.18, 1.0] and strip.accessible_value == 1.0  # idle: the end, at once


class Row(RowLogic):
    def __init__(self, task: FakeTask) -> None:
        self._init_row(task)  # type: ignore[arg-type]
        self.values: list[float] = []

    def _show(self, state: RowState) -> None: ...
    def _show_pulse(self) -> None: ...

    def _publish_value(self, value: float) -> None:
        self.values.append(value)


class ListModel(TaskListLogic):
    def __init__(self, manager: Any, show_after: float = 0.0) -> None:
        self._init_list(cancellable=True, show_kind=True)
        self._bind_manager(manager, show_after)
        self._receiving = True
        self.spoken: list[str] = []

    def _make_row(self, task: Any) -> Row:
        return Row(task)

    def _add_row(self, row: Row) -> None: ...
    def _remove_row(self, row: Row) -> None: ...
    def _emit_ended(self, task: Any) -> None: ...
    def _emit_failed(self, task: Any) -> None: ...
    def _want_ticks(self) -> None: ...

    def _announce(self, text: str) -> None:
        self.spoken.append(text)


def test_a_rows_accessible_value_follows_the_rate_rule_and_the_lists_timer_publishes_a_held_step(
    clock: FakeClock, manager: TaskManager
) -> None:
    model = ListModel(manager)
    task = FakeTask(1, clock, progress=0.0, name="export")
    model._update([task], 0.0)  # type: ignore[list-item]
    row = model.get_row(task)  # type: ignore[arg-type]
    assert row.values == [] and row.accessible_value is None  # no progress yet: no value
    for progress in (0.01, 0.04, 0.11):
        clock.advance(0.3)
        task.progress = progress
        model._update([task], progress)  # type: ignore[list-item]
    assert row.values == [0.01] and row.value_held and model._ticking()
    clock.advance(0.5)  # over a second after 0.01
    model._tick()
    assert row.values == [0.01, 0.11] and not model._ticking()


def test_the_end_of_a_task_is_announced_once_with_its_status(clock: FakeClock, manager: TaskManager) -> None:
    model = ListModel(manager)
    done, failed, stopped = (FakeTask(i, clock, name=n) for i, n in enumerate(("export", "upload", "scan")))
    model._update([done, failed, stopped], 0.0)  # type: ignore[list-item]
    done.status, failed.status, stopped.status = "completed", "failed", "canceled"
    failed.error = ValueError("disk full\nmore")
    for task in (done, failed, stopped):
        model._ended(task)  # type: ignore[arg-type]
    assert model.spoken == ["export completed", "upload failed: ValueError: disk full", "scan canceled"]
    assert model.announcements == model.spoken


def test_with_show_after_a_task_that_never_had_a_row_is_announced_only_when_it_failed(
    clock: FakeClock, manager: TaskManager
) -> None:
    model = ListModel(manager, show_after=1.0)
    quick, broken = FakeTask(1, clock, name="quick"), FakeTask(2, clock, name="broken")
    model._deliver([quick, broken], 0.0)  # type: ignore[list-item]
    quick.status, broken.status = "completed", "failed"
    model._ended(quick)  # type: ignore[arg-type]
    model._ended(broken)  # type: ignore[arg-type]
    assert model.spoken == ["broken failed: unknown error"]


def test_the_buttons_names_say_what_they_do_to_which_task() -> None:
    assert cancel_label("export") == "Cancel export"
    assert pause_label("export", False) == "Pause export" and pause_label("export", True) == "Resume export"
    assert dismiss_label("export failed") == "Dismiss: export failed"
    task = SimpleNamespace(name="export", get_status=lambda: "completed")
    assert ending_text(task) == "export completed"  # type: ignore[arg-type]
