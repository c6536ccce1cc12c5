"""``Options``: a manager's settings, validated once, frozen.

``TaskManager(**options)`` and ``TaskManager.configure(**options)`` (which
``task_mgr.initialize`` calls) build one; runners read typed fields, never a
dict. An unknown name or a bad value fails at once with a message that says
what is allowed.
"""

from __future__ import annotations

import os
from collections.abc import Callable

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    from typing import Any

    from ._clock import Clock

_CPUS = os.cpu_count() or 1

#: Every option, in order, with its default (``main_thread_scheduler`` is the manager's own).
_DEFAULTS: dict[str, Any] = {
    "max_threads": min(32, _CPUS + 4),
    "max_processes": _CPUS,
    "spare_processes": 1,
    "start_method": "spawn",
    "worker_initializer": None,
    "worker_initargs": (),
    "worker_nice": 0,
    "max_tasks_per_worker": None,
    "worker_max_memory": None,
    "worker_memory_limit": None,
    "update_rate": 20.0,
    "cancel_grace_period": 2.0,
    "max_pending_events": 1000,
    "clock": None,
    "cluster": None,
    "cluster_dashboard": False,
    "cluster_security": None,
}
#: Options left out of ``==`` (objects compared by identity would make equal settings differ).
_NOT_COMPARED = frozenset({"clock", "cluster", "cluster_security"})


class Options:
    """Every option of a ``TaskManager`` except ``main_thread_scheduler`` (frozen).

    A plain class with slots rather than a dataclass: building the class is
    part of ``TaskManager()``'s cost in a fresh process, and a dataclass's
    generated methods cost a millisecond there.
    """

    __slots__ = tuple(_DEFAULTS)

    #: threads running thread tasks at once.
    max_threads: int
    #: worker processes running process tasks at once.
    max_processes: int
    #: idle workers kept warm beyond ``max_processes`` (a dead or canceled one is replaced at once).
    spare_processes: int
    #: how workers start: ``"spawn"``, a fresh interpreter that never imports ``__main__``.
    start_method: str
    #: run once in every worker process, as ``worker_initializer(*worker_initargs)``.
    worker_initializer: Callable[..., object] | None
    worker_initargs: tuple[Any, ...]
    #: CPU priority of workers below the app's (0–19); 10 keeps a desktop smooth on few cores.
    worker_nice: int
    #: replace a worker after this many tasks (None: never).
    max_tasks_per_worker: int | None
    #: replace a worker whose resident memory is above this (bytes) after a task (None: never).
    worker_max_memory: int | None
    #: a hard cap (bytes): a task that pushes its worker's resident memory past it is stopped
    #: (its worker killed) and fails with ``WorkerMemoryError`` (None: no cap).
    worker_memory_limit: int | None
    #: ``tasks_updated`` emissions per second at most (0: no throttle).
    update_rate: float
    #: seconds a canceled task may take to stop before it is ended anyway.
    cancel_grace_period: float
    #: events queued for the main thread before their senders wait (back-pressure).
    max_pending_events: int
    #: time for the throttle, grace periods, timeouts and delayed calls (None: the real one).
    clock: Clock | None
    #: where ``run_on_cluster`` runs: ``None``/``"local"`` (a ``LocalCluster`` started on
    #: first use), a scheduler address (``"tcp://host:8786"``), or a ``dask.distributed.Client``.
    cluster: Any
    #: the embedded cluster's dashboard: ``False`` (none), ``True`` (127.0.0.1, a free port)
    #: or an address such as ``"127.0.0.1:8787"``; only with ``cluster="local"``.
    cluster_dashboard: bool | str
    #: a ``distributed.security.Security`` for the Client tasker opens to a scheduler address
    #: (``tls://``: certificates, mutual authentication); only with an address as ``cluster``.
    cluster_security: Any

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - _DEFAULTS.keys()
        if unknown:
            raise TypeError(
                f"unknown TaskManager option(s): {', '.join(sorted(unknown))}; "
                f"known: main_thread_scheduler, {', '.join(_DEFAULTS)}"
            )
        setter = object.__setattr__
        for name, default in _DEFAULTS.items():
            setter(self, name, values.get(name, default))
        self._validate()
        setter(self, "worker_initargs", tuple(self.worker_initargs))

    def _validate(self) -> None:
        for name in ("max_threads", "max_processes", "max_pending_events"):
            self._check(name, lambda v: _is_int(v) and v >= 1, "an int >= 1")
        self._check("spare_processes", lambda v: _is_int(v) and v >= 0, "an int >= 0")
        if self.start_method != "spawn":
            raise ValueError(
                f"start_method must be 'spawn' (workers are fresh interpreters), got "
                f"{self.start_method!r}; 'fork' is unsafe next to GUI threads"
            )
        for name in ("update_rate", "cancel_grace_period"):
            self._check(name, lambda v: _is_number(v) and v >= 0, "a number >= 0")
        self._check("worker_nice", lambda v: _is_int(v) and 0 <= v <= 19, "an int from 0 to 19")
        self._check("max_tasks_per_worker", lambda v: v is None or (_is_int(v) and v >= 1), "None or an int >= 1")
        for name in ("worker_max_memory", "worker_memory_limit"):
            self._check(name, lambda v: v is None or (_is_int(v) and v >= 1 << 20), "None or bytes >= 1 MiB")
        if self.worker_initializer is not None and not callable(self.worker_initializer):
            raise TypeError(f"worker_initializer must be callable or None, got {self.worker_initializer!r}")
        if self.clock is not None and not all(callable(getattr(self.clock, m, None)) for m in _CLOCK_METHODS):
            raise TypeError(f"clock must provide now(), call_later() and stop() (a tasker Clock), got {self.clock!r}")
        _check_cluster(self.cluster)
        _check_cluster_extras(self.cluster, self.cluster_dashboard, self.cluster_security)

    @classmethod
    def build(cls, base: Options | None = None, **changes: Any) -> Options:
        """``base`` (default: the defaults) with ``changes``; unknown names raise ``TypeError``."""
        if base is None:
            return cls(**changes)
        return cls(**{**base.as_dict(), **changes})

    def as_dict(self) -> dict[str, Any]:
        """Every option by name."""
        return {name: getattr(self, name) for name in _DEFAULTS}

    def _check(self, name: str, ok: Callable[[Any], bool], what: str) -> None:
        value = getattr(self, name)
        if not ok(value):
            raise ValueError(f"{name} must be {what}, got {value!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Options are frozen: cannot set {name!r} (use TaskManager.configure)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Options are frozen: cannot delete {name!r}")

    def _compared(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _DEFAULTS if name not in _NOT_COMPARED)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Options)
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())

    def __repr__(self) -> str:
        return f"Options({', '.join(f'{name}={getattr(self, name)!r}' for name in _DEFAULTS)})"


_CLOCK_METHODS = ("now", "call_later", "stop")


_CLIENT_METHODS = ("submit", "run", "subscribe_topic")


def _check_cluster(value: Any) -> None:
    """None, "local", an address string, or an object with a Dask Client's methods (dask not imported)."""
    if value is None or value == "local":
        return
    if isinstance(value, str):
        scheme, sep, rest = value.partition("://")
        address = rest if sep else value
        host, colon, port = address.rpartition(":")
        if (not sep or scheme.isidentifier()) and colon and host and port.isdigit():
            return
        raise ValueError(
            f"cluster must be 'local', a Dask scheduler address such as 'tcp://host:8786', "
            f"or a dask.distributed.Client; got the string {value!r}"
        )
    if all(callable(getattr(value, name, None)) for name in _CLIENT_METHODS):
        return
    raise TypeError(
        f"cluster must be None, 'local', a Dask scheduler address ('tcp://host:8786') "
        f"or a dask.distributed.Client, got {type(value).__name__}: {value!r}"
    )


def _check_cluster_extras(cluster: Any, dashboard: Any, security: Any) -> None:
    """The dashboard is the embedded cluster's; the security, a Client's that tasker opens."""
    local = cluster is None or cluster == "local"
    if not isinstance(dashboard, bool | str) or (isinstance(dashboard, str) and ":" not in dashboard):
        raise ValueError(
            f"cluster_dashboard must be False, True or an address such as '127.0.0.1:8787', got {dashboard!r}"
        )
    if dashboard is not False and not local:
        raise ValueError(
            "cluster_dashboard is for the embedded cluster (cluster='local'); a scheduler you start "
            "has its own dashboard option (dask scheduler --dashboard-address)"
        )
    if security is None:
        return
    if not callable(getattr(security, "get_connection_args", None)):
        raise TypeError(
            f"cluster_security must be a distributed.security.Security, got {type(security).__name__}: {security!r}"
        )
    if local:
        raise ValueError(
            "cluster_security is for a scheduler address (cluster='tls://host:8786'); the embedded "
            "cluster makes its own temporary TLS credentials"
        )
    if not isinstance(cluster, str):
        raise ValueError("cluster_security is for a scheduler address; a Client given as cluster= has its own")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


from ._public import public  # noqa: E402

public(Options)
