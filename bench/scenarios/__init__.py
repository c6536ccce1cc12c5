"""All scenarios, in report order (the issue's list, the floor last)."""

from __future__ import annotations

from bench.scenarios import cluster, control, dispatch, pausing, payload, startup, streams
from bench.scenarios.base import Scenario

_ORDERED = [
    *dispatch.SCENARIOS,  # 1-4
    control.SCENARIOS[0],  # 5 call cost
    *control.SCENARIOS[1:3],  # 6 cancel, stuck cancel
    *payload.SCENARIOS,  # 7
    *control.SCENARIOS[3:],  # 8 flood, 9 death
    *startup.SCENARIOS,  # 10 import, floor
    *pausing.SCENARIOS,  # 11-13 (issue 12): pause, memory cap, recycling checks
    *cluster.SCENARIOS,  # 14 (issue 10): Dask
    *streams.SCENARIOS,  # 15-17 (issue 20): map, stream
]
SCENARIOS: dict[str, Scenario] = {s.name: s for s in _ORDERED}
