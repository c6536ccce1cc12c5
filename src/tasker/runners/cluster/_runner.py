"""Cluster tasks: the same task functions on a Dask cluster (the app's side).

    caller thread          control thread (tasker-cluster-control)      Dask worker
    ─────────────          ───────────────────────────────────────      ───────────
    run_on_cluster:
      prepare: pickle the call (in band, by value where needed)
      submit ──────────────► connect (first time: the embedded
                              LocalCluster starts here, not in the UI)
      (connected: in the     client.submit(_worker.run, …) ────────────► run(func, ctx)
       caller's thread)
    cancel: interrupt ─────► client.run(cancel, workers=[its worker]) ─► the control byte
    grace over: abandon ───► client.run(kill_worker_process, nanny=True) SIGKILL; the
                                                                          nanny restarts it
                           events thread (_forward) ◄── topic events, future done

A runner of the ``_core._runner.Runner`` kind: the lifecycle owns every status
change; this runner calls ``begin`` when the function starts on a worker (not
when Dask queues it), ``report``, ``post_event``, ``post_question`` and
``conclude`` (``_forward``). Nothing here blocks a caller: the lifecycle calls
``interrupt`` with its lock held and ``abandon`` from its clock thread, so both
only queue work for the control thread, which makes every blocking Dask call.

``release`` does nothing: Dask gives a worker's thread to the next task only
when the function stopped — or when its process was killed after the grace period.
``pause``/``resume`` set the task's control byte on its worker (``PAUSE``): the
function waits at its next context call, still holding that worker's thread.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from ..._core._errors import TaskError
from .._remote import _payload
from . import _worker
from ._connect import Connection, subscribe, unsubscribe
from ._events import WINDOW, Seen
from ._forward import Forwarder, Slot

if TYPE_CHECKING:
    from ..._core._options import Options
    from ..._core._runner import Lifecycle
    from ..._core._task import Task

logger = logging.getLogger("tasker")

#: Workers report progress at most this often (s), and at most ``update_rate`` per second.
REPORT_INTERVAL_MAX_S = 0.05
#: Seconds one call to a worker (cancel, ack, answer, kill) may take; less when closing.
CONTROL_TIMEOUT_S = 10.0
CLOSING_TIMEOUT_S = 2.0
#: Seconds shutdown waits for the control thread (its queued cancels and kills first).
SHUTDOWN_JOIN_S = 20.0
#: Tasks that ended whose keys are kept: a late begin event of one is still verified (then canceled).
ENDED_KEPT = 256
#: Killed workers remembered (``killed``): more than a cluster has at once.
KILLED_KEPT = 64


class _Serial:
    """One thread that runs queued calls in order, started on first use."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.queue: queue.SimpleQueue[tuple[Callable[..., object], tuple[Any, ...]] | None] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def put(self, fn: Callable[..., object], *args: Any) -> None:
        if self.thread is None:
            with self.lock:
                if self.thread is None:
                    self.thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                    self.thread.start()
        self.queue.put((fn, args))

    def stop(self, timeout: float) -> None:
        self.queue.put(None)
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _loop(self) -> None:
        while (item := self.queue.get()) is not None:
            fn, args = item
            try:
                fn(*args)
            except Exception:
                logger.exception("tasker: %s failed in %s", getattr(fn, "__name__", fn), self.name)


class ClusterRunner:
    """Runs ``run_on_cluster`` tasks on the cluster the ``cluster`` option names."""

    kind = "cluster"

    def __init__(self, lifecycle: Lifecycle, options: Options) -> None:
        # The embedded cluster: max_processes one-thread workers, no more than the CPUs.
        workers = min(options.max_processes, os.cpu_count() or 1)
        self.connection = Connection(  # ImportError without dask
            options.cluster, workers, options.cluster_dashboard, options.cluster_security
        )
        self.lifecycle = lifecycle
        self.prefix = uuid.uuid4().hex[:12]
        self.topic = f"tasker-{self.prefix}"  # this runner's events, from every worker
        rate = float(options.update_rate)
        self.interval = min(REPORT_INTERVAL_MAX_S, 1.0 / rate) if rate > 0 else 0.0
        #: token -> task, from submit until its Dask future is done (or it ended unsubmitted).
        self.tasks: dict[str, Task[Any]] = {}
        #: token -> slot of the last ``ENDED_KEPT`` tasks forgotten (their keys check late messages).
        self.ended: OrderedDict[str, Slot] = OrderedDict()
        #: whether the scheduler may run a task again after its worker died (asked once per client).
        self.reruns = True
        self.control = _Serial("tasker-cluster-control")
        self.forwarder = Forwarder(self)
        self.subscribed: Any = None  # the client whose topics the forwarder hears
        self.watched: dict[str, Callable[[Any], object]] = {}  # worker address -> its topic's handler
        #: Addresses of the workers tasker killed (a stuck task's), the last ``KILLED_KEPT``: a task
        #: that dies unstarted on one of them is sent again without counting (``Forwarder._again``).
        self.killed: OrderedDict[str, None] = OrderedDict()
        self.closed = False

    # -- Runner interface ---------------------------------------------------------------------
    def prepare(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
        """Pickle the call now, so a bad argument fails at the call, by name."""
        try:
            return _worker.to_bytes((func, args, kwargs))
        except Exception as error:
            raise _payload.explain_unpicklable(func, args, kwargs, error, "run_on_cluster") from error

    def submit(self, task: Task[Any]) -> None:
        token = f"{self.prefix}-{task.id}"
        name = re.sub(r"[^\w.-]+", "_", task.name)[:60]
        task.handle = Slot(token, f"{name}-tasker-{token}", WINDOW)
        self.tasks[token] = task
        client = self.subscribed
        if client is not None and client is self.connection.client and client.status == "running":
            self._send(task)  # connected: Client.submit only queues a message (no thread hop)
        else:
            self.control.put(self._send, task)  # the first one connects, off the caller's thread

    def prestart(self, preload: list[str]) -> None:
        """Connect now, on the control thread (``TaskManager.prestart``: the embedded cluster starts)."""
        self.control.put(self._client)

    def interrupt(self, task: Task[Any]) -> None:
        if isinstance(task.handle, Slot):  # the lifecycle's lock is held: only queue
            self.control.put(self._cancel, task)

    def release(self, task: Task[Any]) -> None:
        pass  # see the module doc

    def abandon(self, task: Task[Any]) -> None:
        if isinstance(task.handle, Slot):
            self.control.put(self._kill, task)

    def pause(self, task: Task[Any]) -> None:
        """Bring the worker's control byte in line with ``task.is_paused()`` (a pending task: at its begin)."""
        if isinstance(task.handle, Slot):
            self.control.put(self._sync_pause, task)

    resume = pause

    def restart(self) -> None:
        pass  # the cluster's workers are Dask's to restart

    def shutdown(self) -> None:
        self.closed = True
        self.control.put(self._close)  # after the cancels and kills already queued
        self.control.stop(SHUTDOWN_JOIN_S)
        self.forwarder.stop(5.0)

    # -- for the events thread (any thread; never blocks) ----------------------------------------
    def cancel_on(self, address: str, token: str) -> None:
        self.control.put(self._run_on, address, _worker.cancel, token)

    def ack(self, slot: Slot, seq: int) -> None:
        if slot.worker is not None:
            self.control.put(self._run_on, slot.worker, _worker.ack, {slot.token: seq})

    def answer(self, slot: Slot, number: int, value: Any, error: BaseException | None) -> None:
        """The main thread's answer to a worker's ask (or a cancel's): sent to its worker."""
        try:
            payload = _worker.to_bytes((value, error))
        except Exception as problem:
            what = f"the answer ({type(value).__name__})" if error is None else f"the error {error!r}"
            unsent = TaskError(f"{what} cannot be sent to the Dask worker: {problem}; answer with picklable data")
            payload = _worker.to_bytes((None, unsent))
        if slot.worker is not None:
            self.control.put(self._run_on, slot.worker, _worker.answer, slot.token, number, payload)

    def watch(self, address: str) -> None:
        """Hear of that worker's removal (the scheduler logs it on the worker's own topic)."""
        if address not in self.watched:
            self.watched[address] = partial(self.forwarder.on_worker_event, address)
            self.control.put(self._subscribe, address, self.watched[address])

    def _subscribe(self, address: str, handler: Callable[[Any], object]) -> None:
        client = self.subscribed
        if client is not None and client.status == "running":
            subscribe(client, address, handler)

    def confirm_gone(self, address: str, expected: bool) -> None:
        """A worker's topic says it was removed: believe it once the scheduler has no such worker
        (any client of the scheduler can write on that topic)."""
        self.control.put(self._confirm_gone, address, expected)

    def _confirm_gone(self, address: str, expected: bool) -> None:
        client = self.connection.client
        try:
            present = address in client.nthreads()
        except Exception as error:  # a lost scheduler: its tasks end with the connection
            logger.debug("tasker: asking the scheduler for the workers: %s", error)
            return
        if present:
            logger.warning("tasker: the topic of Dask worker %s says it was removed, but the scheduler has it", address)
        else:
            self.forwarder.queue.put(("gone-confirmed", address, expected))

    def resubmit(self, task: Task[Any]) -> None:
        """Its worker died before the function started: Dask gave up on it, tasker does not."""
        slot: Slot = task.handle
        slot.attempt += 1
        slot.run, slot.seen = None, Seen()  # the next run names itself
        slot.future = None
        logger.debug("tasker: cluster task %r goes to another worker (attempt %d)", task.name, slot.attempt + 1)
        self.control.put(self._send, task)

    def forget(self, task: Task[Any]) -> None:
        slot: Slot = task.handle
        if self.tasks.pop(slot.token, None) is not None:
            self.ended[slot.token] = slot
            if len(self.ended) > ENDED_KEPT:
                self.ended.popitem(last=False)
        slot.future = None  # Dask forgets the key (and its result) once no future holds it

    # -- the control thread ----------------------------------------------------------------------
    def _client(self) -> Any:
        client = self.connection.get()
        if client is not self.subscribed:
            subscribe(client, self.topic, self.forwarder.on_event)
            self.subscribed = client
            self.watched = {}
            self.reruns = scheduler_reruns(client)
            self.forwarder.start()
        return client

    def _send(self, task: Task[Any]) -> None:
        if task.is_final() or self.closed:
            self.forget(task)
            return
        try:
            client = self._client()
        except TaskError as error:  # every task waiting to be sent fails alike (no retry each)
            for waiting in [t for t in list(self.tasks.values()) if t.handle.future is None and not t.handle.began]:
                self.lifecycle.conclude(waiting, error=error)
                self.forget(waiting)
            return
        slot: Slot = task.handle
        key = slot.key if not slot.attempt else f"{slot.key}-{slot.attempt}"
        settings = {
            "window": WINDOW, "interval": self.interval, "log_level": logging.getLogger().getEffectiveLevel(),
            "secret": slot.secret, "claim": self.reruns, "dask_key": key,
        }
        try:
            future = client.submit(
                _worker.run, slot.token, self.topic, task.payload, settings,
                key=key, pure=False, priority=task.priority,
            )
        except Exception as error:  # e.g. the client closed just now
            problem = TaskError(f"cannot submit to {self.connection.describe()}: {type(error).__name__}: {error}")
            self.lifecycle.conclude(task, error=problem)
            self.forget(task)
            return
        slot.future = future
        future.add_done_callback(partial(self.forwarder.on_done, task))

    def _cancel(self, task: Task[Any]) -> None:
        slot: Slot = task.handle
        if slot.worker is not None:
            self._run_on(slot.worker, _worker.cancel, slot.token)
        elif slot.future is not None and task.is_final():  # ended while queued on the cluster
            try:
                slot.future.cancel()
            except Exception as error:
                logger.debug("tasker: canceling the Dask future of %r: %s", task.name, error)

    def _sync_pause(self, task: Task[Any]) -> None:
        slot: Slot = task.handle
        if slot.worker is not None and not task.is_final():
            self._run_on(slot.worker, _worker.set_paused, slot.token, task.is_paused())

    def _kill(self, task: Task[Any]) -> None:
        slot: Slot = task.handle
        if slot.worker is None:
            return  # it never started: nothing runs
        logger.debug("tasker: killing Dask worker %s (task %r did not stop)", slot.worker, task.name)
        self.killed[slot.worker] = None
        while len(self.killed) > KILLED_KEPT:
            self.killed.popitem(last=False)
        try:
            self._run_on(slot.worker, _worker.kill_worker_process, nanny=True, quiet=False)
        except Exception as error:
            logger.warning(
                "tasker: cluster task %r did not stop within the grace period and cannot be stopped: "
                "its Dask worker %s has no nanny to kill and restart it (%s: %s); that worker thread "
                "stays busy until the function returns (start workers with --nanny)",
                task.name, slot.worker, type(error).__name__, error,
            )

    def _run_on(
        self, address: str, fn: Callable[..., Any], *args: Any, nanny: bool = False, quiet: bool = True
    ) -> None:
        """``fn(*args)`` on one worker (or its nanny), in its event loop; bounded."""
        client = self.connection.client
        if client is None or client.status != "running":
            if quiet:
                return
            raise TaskError(f"no connection to {self.connection.describe()}")
        timeout = CLOSING_TIMEOUT_S if self.closed else CONTROL_TIMEOUT_S
        try:
            client.run(fn, *args, workers=[address], nanny=nanny, callback_timeout=timeout)
        except Exception as error:
            if not quiet:
                raise
            logger.debug("tasker: %s on Dask worker %s failed: %s", fn.__name__, address, error)

    def _close(self) -> None:
        self.ended.clear()
        client = self.subscribed
        if client is not None:
            unsubscribe(client, self.topic, self.forwarder.on_event)
            for address, handler in list(self.watched.items()):
                unsubscribe(client, address, handler)
            futures = [t.handle.future for t in list(self.tasks.values()) if t.handle.future is not None]
            if futures and client.status == "running":
                try:
                    client.cancel(futures)
                except Exception as error:
                    logger.debug("tasker: canceling the last Dask futures: %s", error)
        self.tasks.clear()
        self.connection.close()


def scheduler_reruns(client: Any) -> bool:
    """Whether the scheduler runs a task again after its worker died (``allowed-failures`` > 0);
    True when it cannot tell (each run then asks the scheduler before it starts: ``_worker.run``)."""
    try:
        return bool(client.run_on_scheduler(_worker.ON_SCHEDULER["allowed_failures"]) > 0)
    except Exception as error:
        logger.debug("tasker: asking the scheduler for its allowed-failures: %s", error)
        return True
