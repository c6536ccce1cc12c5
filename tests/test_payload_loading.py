"""The app unpickles one message at a time across tasker's threads (see ``_payload._LOADING``)."""

from __future__ import annotations

import pickle
import threading
from typing import Any

import pytest

from tasker.runners._remote import _payload


def test_two_of_taskers_threads_never_unpickle_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Concurrent first imports of one package by two unpicklers can hand one of them a
    half-initialised module; the second unpickle must wait for the first."""
    inside = threading.Event()
    release = threading.Event()
    overlapped = threading.Event()
    active: list[int] = []
    most: list[int] = []
    real = pickle.loads

    def slow_loads(data: Any, **kwargs: Any) -> Any:
        active.append(1)
        most.append(len(active))
        if len(active) > 1:
            overlapped.set()
        if not inside.is_set():
            inside.set()
            assert release.wait(30), "hang guard"
        active.pop()
        return real(data, **kwargs)

    monkeypatch.setattr(_payload.pickle, "loads", slow_loads)
    data = pickle.dumps(("result", 1))
    results: list[Any] = []
    first = threading.Thread(target=lambda: results.append(_payload.loads(data, [])))
    first.start()
    assert inside.wait(30), "hang guard"
    second = threading.Thread(target=lambda: results.append(_payload.loads(data, [])))
    second.start()
    # Give the second thread its chance to enter pickle.loads beside the first: with
    # the lock it cannot, and this wait runs out (it bounds no result, only how long
    # the overlap is looked for).
    overlapped.wait(2)
    release.set()
    first.join(30)
    second.join(30)
    assert not first.is_alive() and not second.is_alive()
    assert results == [("result", 1), ("result", 1)]
    assert max(most) == 1, "two threads were inside pickle.loads at once"
