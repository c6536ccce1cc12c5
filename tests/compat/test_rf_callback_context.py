"""``CallbackProgressContext`` and the ``schedule_*`` calls, as Rayforge 1.13.1 has them.

The context is checked call by call against Rayforge's own class (the ``rayforge``
package that scripts/setup installs as a benchmark peer): the same calls give the
same callback values. The scheduler tests are those of Rayforge's
``test_scheduler_receives_correct_arguments``: a plain-callable
``main_thread_scheduler`` receives the callback and its arguments.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import tasker.compat.rayforge.progress as progress
from tasker.compat.rayforge import TaskManager
from tasker.compat.rayforge.progress import CallbackProgressContext, ProgressContext
from tasker.testing import FakeClock

pytestmark = pytest.mark.timeout(60)


class Recorder:
    """The three callables of a CallbackProgressContext, recording what they got."""

    def __init__(self) -> None:
        self.progress: list[float] = []
        self.messages: list[str] = []
        self.asked = 0
        self.cancelled = False

    def is_cancelled(self) -> bool:
        self.asked += 1
        return self.cancelled

    def context(self, cls: type[Any], *args: Any) -> Any:
        return cls(self.is_cancelled, self.progress.append, self.messages.append, *args)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(progress, "_monotonic", fake)
    return fake


def drive(ctx: Any) -> None:
    """A pipeline stage's calls: totals, progress past the total, sub-contexts, messages."""
    ctx.set_progress(25)
    ctx.set_message("stage one")
    ctx.set_total(10)
    ctx.set_progress(5)
    ctx.set_progress(20)  # past the total: not clamped
    ctx.set_total(0)  # <= 0: already normalized
    ctx.set_progress(0.5)
    sub = ctx.sub_context(0.5, 0.25, 4)
    sub.set_progress(2)
    sub.set_message("stage two")
    subsub = sub.sub_context(0.1, 0.5, 2)
    subsub.set_progress(1)
    ctx.flush()
    sub.flush()


@pytest.mark.parametrize("where", [(), (0.2, 0.5), (0.2, 0.5, 50.0)], ids=["defaults", "sub-range", "total"])
def test_reports_exactly_what_rayforges_does(where: tuple[float, ...]) -> None:
    theirs_module = pytest.importorskip(
        "rayforge.shared.tasker.progress", reason="rayforge (a benchmark peer) is installed by scripts/setup"
    )
    ours, theirs = Recorder(), Recorder()
    drive(ours.context(CallbackProgressContext, *where))
    drive(theirs.context(theirs_module.CallbackProgressContext, *where))
    assert ours.progress == theirs.progress
    assert ours.messages == theirs.messages == ["stage one", "stage two"]


def test_progress_arithmetic() -> None:
    rec = Recorder()
    ctx = rec.context(CallbackProgressContext, 0.2, 0.5, 10)
    assert isinstance(ctx, ProgressContext)
    ctx.set_progress(5)
    ctx.set_progress(20)
    sub = ctx.sub_context(0.5, 0.25, 4)  # Rayforge's rule: base and range are absolute
    sub.set_progress(2)
    assert isinstance(sub, CallbackProgressContext)
    assert rec.progress == pytest.approx([0.45, 1.2, 0.625])


def test_cancellation_is_asked_at_most_every_50ms(clock: Clock) -> None:
    rec = Recorder()
    ctx = rec.context(CallbackProgressContext)
    assert ctx.is_cancelled() is False and rec.asked == 1
    rec.cancelled = True
    clock.now += 0.04
    assert ctx.is_cancelled() is False and rec.asked == 1  # too soon: not asked
    clock.now += 0.02
    assert ctx.is_cancelled() is True and rec.asked == 2
    assert ctx.is_cancelled() is False and rec.asked == 2
    # A sub-context keeps its own time of last check.
    assert ctx.sub_context(0, 1, 1).is_cancelled() is True and rec.asked == 3


def test_installed_as_rayforges_progress_module() -> None:
    import sys
    import types

    from tasker.compat.rayforge import install_as

    package = types.ModuleType("fake_rayforge_tasker")
    sys.modules["fake_rayforge_tasker"] = package
    try:
        install_as("fake_rayforge_tasker")
        from fake_rayforge_tasker.progress import CallbackProgressContext as Imported  # type: ignore[import-not-found]

        assert Imported is CallbackProgressContext
    finally:
        for name in [n for n in sys.modules if n == "fake_rayforge_tasker" or n.startswith("fake_rayforge_tasker.")]:
            del sys.modules[name]


# -- the application's scheduler receives the callback and its arguments ----------------------------
class Scheduler:
    """A plain-callable main_thread_scheduler that records (and never runs) what it is handed."""

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]] = []
        self._cv = threading.Condition()

    def __call__(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        with self._cv:
            self.calls.append((fn, args, kwargs))
            self._cv.notify_all()

    def of(self, fn: Callable[..., object]) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        with self._cv:
            return [(a, k) for f, a, k in self.calls if f is fn]

    def wait_for(self, fn: Callable[..., object], timeout: float = 20.0) -> bool:
        with self._cv:
            return self._cv.wait_for(lambda: any(f is fn for f, _, _ in self.calls), timeout)


@pytest.fixture
def plain() -> Iterator[tuple[TaskManager, Scheduler, FakeClock]]:
    scheduler = Scheduler()
    mgr = TaskManager(main_thread_scheduler=scheduler)
    fake = FakeClock()
    mgr._core.configure(clock=fake)
    yield mgr, scheduler, fake
    mgr.shutdown()


def callback(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("the recording scheduler never runs what it is handed")


def test_scheduler_receives_correct_arguments(plain: tuple[TaskManager, Scheduler, FakeClock]) -> None:
    mgr, scheduler, _ = plain
    mgr.schedule_on_main_thread(callback, 1, 2, key="value")
    assert scheduler.of(callback) == [((1, 2), {"key": "value"})]


def test_delayed_scheduler_receives_correct_arguments(plain: tuple[TaskManager, Scheduler, FakeClock]) -> None:
    mgr, scheduler, clock = plain
    handle = mgr.schedule_delayed_on_main_thread(100, callback, "a", kwarg1="c")
    assert hasattr(handle, "cancel")
    clock.advance(0.099)
    assert scheduler.of(callback) == []  # not yet due
    clock.advance(0.001)
    assert scheduler.of(callback) == [(("a",), {"kwarg1": "c"})]
    handle.cancel()  # after it was handed over: nothing changes
    clock.advance(1)
    assert scheduler.of(callback) == [(("a",), {"kwarg1": "c"})]


def test_cancelled_delayed_call_is_never_handed_over(plain: tuple[TaskManager, Scheduler, FakeClock]) -> None:
    mgr, scheduler, clock = plain
    mgr.schedule_delayed_on_main_thread(20, callback, "cancelled").cancel()
    kept = mgr.schedule_delayed_on_main_thread(30, callback, "kept")
    clock.advance(1)
    assert scheduler.of(callback) == [(("kept",), {})]
    assert hasattr(kept, "cancel")
    with pytest.raises(TypeError, match="callable"):
        mgr.schedule_delayed_on_main_thread(10, "print")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        mgr.schedule_on_main_thread("print")  # type: ignore[arg-type]


def test_real_clock_hands_over_from_its_thread() -> None:
    scheduler = Scheduler()
    mgr = TaskManager(main_thread_scheduler=scheduler)
    try:
        mgr.schedule_delayed_on_main_thread(0, callback, 7)
        assert scheduler.wait_for(callback)
        assert scheduler.of(callback) == [((7,), {})]
    finally:
        mgr.shutdown()
