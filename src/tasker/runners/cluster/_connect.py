"""Reaching the cluster the ``cluster`` option names, and Dask's event topics.

    None / "local"     a LocalCluster tasker starts (on first use) and closes
    "tcp://host:port"  a Client tasker opens and closes
    a Client           used as it is: tasker never closes it

Only this package imports dask, and only once a cluster task is submitted
(``import tasker`` never does). The embedded ``LocalCluster`` has one thread per
worker process (a forced stop kills one task only), listens on 127.0.0.1 only,
speaks TLS with mutual authentication from credentials made in memory for it
(``Security.temporary()``: a process without them cannot connect to its
scheduler, workers or nannies), has no dashboard unless ``cluster_dashboard``
asks for one, and fails a task whose worker died instead of re-running it
(``allowed-failures: 0``); see ``LOCAL_CONFIG``.

Dask keeps one event handler per topic and client; ``subscribe`` multiplexes a
topic among the runners (managers) sharing one client, and keeps a handler
that was already there (the app's own, on ``"all"``).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from ..._core._errors import TaskError

logger = logging.getLogger("tasker")

INSTALL_HINT = "pip install tasker-ui[dask]"
#: Seconds to reach a scheduler (a Client's ``timeout``).
CONNECT_TIMEOUT_S = 10.0
#: Seconds closing a client or the embedded cluster may take.
CLOSE_TIMEOUT_S = 10.0
#: Config of the embedded cluster: a killed worker's task fails instead of re-running
#: elsewhere; a worker slow to restart under load is not closed for good; and no
#: statistical profiler (it samples every task thread each 10 ms, for a dashboard
#: the embedded cluster does not have: ~30 % of a tight is_cancelled() loop).
LOCAL_CONFIG = {
    "distributed.scheduler.allowed-failures": 0,
    "distributed.deploy.lost-worker-timeout": "300s",
    "distributed.worker.profile.enabled": False,
}


#: Dask config that leaves the HTTP servers of the embedded cluster without a page to serve.
NO_HTTP_ROUTES: dict[str, list[str]] = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}


def stop_http(dask_scheduler: Any = None, dask_worker: Any = None) -> None:
    """On the embedded cluster's scheduler or a worker (in its event loop): close its HTTP listener."""
    server = getattr(dask_scheduler or dask_worker, "http_server", None)
    if server is not None:
        server.stop()


def require_dask() -> None:
    """Raise a clear ImportError if dask.distributed is not installed (imports nothing)."""
    try:
        found = find_spec("distributed") is not None and find_spec("dask") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ImportError(
            f"run_on_cluster() needs Dask's distributed scheduler, which is not installed: {INSTALL_HINT}",
            name="distributed",
        )


class Connection:
    """The client of one runner, made on first use (in the runner's control thread)."""

    def __init__(self, spec: Any, workers: int, dashboard: bool | str = False, security: Any = None) -> None:
        require_dask()
        self.spec = "local" if spec is None else spec
        self.workers = workers
        self.dashboard = dashboard  # the embedded cluster's: False, True or an address
        self.security = security  # a Security for the Client of an address (None: Dask's config)
        self.client: Any = None
        self.cluster: Any = None
        self.owned = isinstance(self.spec, str)

    def describe(self) -> str:
        if self.spec == "local":
            address = getattr(self.cluster, "scheduler_address", None)
            return f"the embedded LocalCluster ({address})" if address else "the embedded LocalCluster"
        if isinstance(self.spec, str):
            return f"the Dask scheduler at {self.spec}"
        return f"the Dask scheduler of the given Client ({getattr(self.spec, 'scheduler', None)})"

    def get(self) -> Any:
        """The client, connected; raises ``TaskError`` saying why it cannot be had."""
        client = self.client
        if client is not None and client.status in ("running", "connecting", "newly-created"):
            return client
        if client is not None and not self.owned:
            raise TaskError(f"the Dask Client given as cluster= is {client.status}; tasker cannot use it")
        if client is not None:  # ours, and lost: start afresh
            self.close()
        try:
            self.client = self._open()
        except TaskError:
            raise
        except Exception as error:
            self.close()
            raise TaskError(f"cannot reach {self.describe()}: {type(error).__name__}: {error}") from error
        return self.client

    def _open(self) -> Any:
        if not self.owned:
            return self.spec
        distributed: Any = import_module("distributed")  # Any: dask's types are partial
        if self.spec != "local":
            return distributed.Client(
                self.spec, timeout=CONNECT_TIMEOUT_S, set_as_default=False, security=self.security
            )
        dask: Any = import_module("dask")
        dask.config.set(LOCAL_CONFIG)
        # Private: TLS both ways with a CA, certificate and key made in memory for this cluster
        # (handed to its workers and nannies, never written to disk).
        security = import_module("distributed.security").Security.temporary()
        dashboard = self.dashboard
        # Dask gives its scheduler and each worker an HTTP server whatever the options (the
        # scheduler's on 8787 or a free port): without a dashboard they serve nothing and the
        # ones running now stop listening (``stop_http``); a worker its nanny restarts serves nothing.
        # Without a dashboard, the scheduler's server still binds: on a free loopback port, never
        # Dask's default 8787 (another cluster on the machine may hold it: Dask then warns
        # "Port 8787 is already in use" into the application's stderr).
        quiet = {} if dashboard is not False else NO_HTTP_ROUTES
        with dask.config.set(quiet):
            self.cluster = distributed.LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                protocol="tls://",
                security=security,
                dashboard_address="127.0.0.1:0" if dashboard is True or dashboard is False else dashboard,
                scheduler_kwargs={"dashboard": False} if dashboard is False else None,
                worker_dashboard_address=None,
            )
        client = distributed.Client(self.cluster, security=security, set_as_default=False)
        if dashboard is False:
            try:
                client.run_on_scheduler(stop_http)
                client.run(stop_http)
            except Exception:
                client.close()
                raise
        return client

    def close(self) -> None:
        """Close what tasker opened (never a Client it was given)."""
        client, cluster = self.client, self.cluster
        self.client = self.cluster = None
        if not self.owned:
            return
        if cluster is not None and client is not None:
            quiet_workers(client)
        nanny_log = logging.getLogger("distributed.nanny")
        slow_exits = SlowExitToDebug()
        if cluster is not None:
            nanny_log.addFilter(slow_exits)
        try:
            for thing in (client, cluster):
                if thing is None:
                    continue
                try:
                    thing.close(timeout=CLOSE_TIMEOUT_S)
                except Exception as error:  # a lost scheduler: nothing more to close
                    logger.debug("tasker: closing %r: %s", thing, error)
        finally:
            nanny_log.removeFilter(slow_exits)


#: How Dask's nanny starts the warning it logs when a worker it closes is still alive after its
#: grace period (``timeout * 0.8``: 4 s for a cluster's close), before it kills that worker.
SLOW_EXIT = "Worker process still alive after"


class SlowExitToDebug(logging.Filter):
    """While tasker closes its embedded cluster: the nanny's warning that a worker outlived
    its grace period becomes a debug record of tasker's, every other record passes.

    Closing is what ends those workers: a kill after the grace period ends them too, and
    loses nothing tasker still waits for (its tasks ended or were canceled first). Only
    the time decides whether the warning appears: on a loaded machine, where a worker gets
    a small share of a CPU, an idle worker's exit outlasts the 4 s, and the warning landed
    in the app's stderr at each quit. The filter sits on the ``distributed.nanny`` logger
    for the length of tasker's close of its own cluster only (a nanny of another cluster
    of the app that gives up on a worker at that very moment is logged as debug too).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and str(record.msg).startswith(SLOW_EXIT):
            logger.debug("tasker: closing the embedded cluster: Dask's nanny: %s", record.getMessage())
            return False
        return True


def quiet_workers(client: Any) -> None:
    """Before the embedded cluster closes: its workers do not log the heartbeat that meets
    the closing scheduler as an error, with a traceback (``_worker.quiet_closing``)."""
    from . import _worker  # (the workers' module: imported here only when a cluster closes)

    try:
        client.run(_worker.quiet_closing, on_error="ignore")
    except Exception as error:  # a lost scheduler: it has no workers left to quiet
        logger.debug("tasker: quieting the embedded cluster's workers: %s", error)


# -- topics ------------------------------------------------------------------------------------
Handler = Callable[[Any], object]

_mux_lock = threading.Lock()
_muxes: weakref.WeakKeyDictionary[Any, dict[str, list[Handler]]] = weakref.WeakKeyDictionary()


def subscribe(client: Any, topic: str, handler: Handler) -> None:
    """Call ``handler(event)`` (in the client's event loop) for each event on ``topic``."""
    with _mux_lock:
        topics = _muxes.setdefault(client, {})
        handlers = topics.get(topic)
        if handlers is not None:
            handlers.append(handler)
            return
        handlers = topics[topic] = [handler]
        existing = getattr(client, "_event_handlers", {}).get(topic)
        if existing is not None:
            handlers.insert(0, existing)

    def dispatch(event: Any) -> None:
        for each in list(handlers):
            try:
                each(event)
            except Exception:
                logger.exception("tasker: a handler of the Dask topic %r failed", topic)

    client.subscribe_topic(topic, dispatch)


def unsubscribe(client: Any, topic: str, handler: Handler) -> None:
    with _mux_lock:
        topics = _muxes.get(client, {})
        handlers = topics.get(topic, [])
        if handler in handlers:
            handlers.remove(handler)
        if handlers:
            return
        topics.pop(topic, None)
    try:
        client.unsubscribe_topic(topic)
    except Exception as error:  # a closed client
        logger.debug("tasker: unsubscribing %r: %s", topic, error)
