"""A pytest plugin for a lane that is about some kinds of task only (scripts/test-posix).

    TASKER_LANE_KINDS=process,cluster python -m pytest -p lane_kinds ...

deselects the cases of kind-parametrised tests (their ``kind`` parameter) of any
other kind: the posix lane changes only the process engine, so its thread and
coroutine cases would repeat the main lane's. Tests without a ``kind`` run.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kinds = {kind.strip() for kind in os.environ.get("TASKER_LANE_KINDS", "").split(",") if kind.strip()}
    if not kinds:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        kind = callspec.params.get("kind") if callspec is not None else None
        (drop if kind is not None and kind not in kinds else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> str | None:
    kinds = os.environ.get("TASKER_LANE_KINDS")
    return f"lane kinds: {kinds} (other kinds' cases deselected)" if kinds else None
