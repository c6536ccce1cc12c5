"""What a scenario is, and the measuring loops several of them share.

A scenario runs inside one fresh interpreter (``bench._one``) for one
implementation and returns a ``Measured``: numbers per metric, and for a
metric it could not measure, the reason (n/a). Timing is always taken on
the main thread: from the submitting call to the done callback run by the
main loop.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from bench.adapters.base import PROCESS, Adapter, Config
from bench.mainloop import MainLoop, Tracker
from bench.registry import ADAPTERS

TASK_TIMEOUT = 30.0  # seconds for one task or one burst to finish
SETTLE_S = 0.1  # after a burst, let trailing UI updates arrive (they count)


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    better: str = "lower"  # "lower", "higher" or "" (informational)
    ratio: bool = True  # show ×reference for this metric
    reference: str | None = None  # instead of the scenario's reference


@dataclass
class Measured:
    metrics: dict[str, float | None] = field(default_factory=dict)
    na: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunCtx:
    """What a scenario gets: the implementation's name, the loop, the size."""

    impl: str
    quick: bool
    loop: MainLoop
    adapters: list[Adapter] = field(default_factory=list)

    def adapter(self, **cfg: Any) -> Adapter:
        """Build the implementation; it is shut down by ``bench._one``."""
        made = ADAPTERS[self.impl](self.loop, Config(**cfg))
        self.adapters.append(made)
        return made

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full


Applies = Callable[[type[Adapter]], str | None]


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    what: str
    reference: str
    metrics: tuple[Metric, ...]
    run: Callable[[RunCtx], Measured]
    applies: Applies
    #: if set, only these implementations are planned (others not listed)
    only: frozenset[str] | None = None
    #: the machine floor has a row in this scenario
    floor: bool = False
    #: remarks printed under the table, by implementation
    notes: Mapping[str, str] = field(default_factory=dict)
    #: with ``only`` holding tasker: ``tasker-base`` (``--baseline``) runs it too
    baseline: bool = True


def needs_kinds(*kinds: str, ctx: bool = False) -> Applies:
    """Applicable when the implementation runs any of ``kinds``."""

    def applies(cls: type[Adapter]) -> str | None:
        have = cls.ctx_kinds if ctx else cls.kinds
        if set(kinds) & have:
            return None
        if ctx:
            return "no ExecutionContext (no cancel flag or progress API)"
        return f"no {'/'.join(kinds)} tasks"

    return applies


def median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def latencies(ad: Adapter, loop: MainLoop, kind: str, fn: Callable[..., Any], n: int,
              *args: Any) -> list[float]:
    """Sequential tasks: submit one, run the loop until its callback, repeat."""
    tracker = Tracker()
    out = []
    for i in range(n):
        start = perf_counter()
        ad.submit(kind, fn, *args, on_done=tracker)
        tracker.wait(loop, i + 1, TASK_TIMEOUT)
        out.append(tracker.last - start)
    tracker.check()
    return out


def burst(ad: Adapter, loop: MainLoop, kind: str, fn: Callable[..., Any], n: int,
          *args: Any) -> dict[str, float]:
    """``n`` tasks submitted at once from the main thread, then drained."""
    tracker = Tracker()
    calls0 = loop.calls
    start = perf_counter()
    for _ in range(n):
        ad.submit(kind, fn, *args, on_done=tracker)
    submitted = perf_counter()
    tracker.wait(loop, n, TASK_TIMEOUT * 2)
    elapsed = tracker.last - start
    loop.run_for(SETTLE_S)
    tracker.check()
    return {
        "tasks_per_s": n / elapsed,
        "callbacks_per_task": (loop.calls - calls0) / n,
        "submit_us_per_task": (submitted - start) / n * 1e6,
    }


def warm_processes(ad: Adapter, loop: MainLoop, fn: Callable[..., Any] | None = None) -> None:
    """Start every worker and have it run something before timing begins."""
    from bench.workloads import noop

    burst(ad, loop, PROCESS, fn or noop, 4 * ad.process_workers)
