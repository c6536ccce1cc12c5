"""Every implementation the bench knows, in table order."""

from __future__ import annotations

from bench.adapters.aio import AsyncioAdapter
from bench.adapters.base import Adapter
from bench.adapters.cluster import DaskAdapter
from bench.adapters.floor import FloorAdapter
from bench.adapters.managers import RayforgeAdapter, TaskerAdapter, TaskerBaseAdapter
from bench.adapters.pools import (
    ForkserverPoolAdapter,
    LokyAdapter,
    PebbleProcessAdapter,
    PebbleThreadAdapter,
    SpawnPoolAdapter,
    ThreadPoolExecutorAdapter,
)

ADAPTERS: dict[str, type[Adapter]] = {
    cls.name: cls
    for cls in (
        TaskerAdapter,
        TaskerBaseAdapter,
        RayforgeAdapter,
        ThreadPoolExecutorAdapter,
        ForkserverPoolAdapter,
        SpawnPoolAdapter,
        LokyAdapter,
        PebbleProcessAdapter,
        PebbleThreadAdapter,
        AsyncioAdapter,
        DaskAdapter,
        FloorAdapter,
    )
}
#: rows that are not peers when "best peer" is computed
NOT_PEERS = frozenset({"tasker", "tasker-base", "floor"})
#: planned only with ``--baseline``
BASELINE = "tasker-base"


def resolve(names: str) -> list[str]:
    """Comma-separated names, case-insensitive, to canonical names."""
    lookup = {name.lower(): name for name in ADAPTERS}
    wanted = [part.strip() for part in names.split(",") if part.strip()]
    unknown = [name for name in wanted if name.lower() not in lookup]
    if unknown:
        raise SystemExit(f"unknown implementation(s): {', '.join(unknown)}; "
                         f"known: {', '.join(ADAPTERS)}")
    return [lookup[name.lower()] for name in wanted]
