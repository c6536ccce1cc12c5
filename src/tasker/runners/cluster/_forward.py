"""The app's side of cluster tasks: what the workers and Dask report, to the lifecycle.

One thread, ``tasker-cluster-events``, takes everything in arrival order from a
queue that Dask's threads only append to (they never wait on tasker):

    topic event  not signed with the task's key, or a number seen before ─► dropped
                 unread (logged once per task, naming who it claims to be from)
                 signed by another run of the task ─► WorkerDiedError; that run canceled
                 not one of the kit's shapes (``_remote._messages.decode``) ─► dropped, logged
                 B ─► lifecycle.begin (False: cancel it on its worker)
                 P ─► Relay.progress ─► lifecycle.report
                 E, Q ─► Inbox: in order ─► Relay.event / Relay.question
                         (these wait while the UI is behind: back-pressure),
                         then an ack every half window
                 W ─► Relay.withdraw      L ─► Relay.log      N ─► Relay.warning
    a worker's topic  remove-worker ─► (the scheduler confirms it has no such worker)
                          its running tasks fail with WorkerDiedError
    future done  value ─► (once every event up to its last number arrived)
                          [begin, if it ended before its begin event] conclude(result | error)
                          (the result travels as tasker's pickle: ``_payload.loads`` here,
                          never Dask's unpickling in its own thread)
                          (in the thread that fetched the value when nothing of the task
                          is on its way)
                 SECOND_RUN (a run that stopped before the function) or another run's
                 value, KilledWorker ─► never began: submitted again (``_again``); began: WorkerDiedError
                 canceled by Dask (scheduler lost) ─► TaskError naming the scheduler

Values are fetched by a second thread, ``tasker-cluster-results``, while other
tasks are in flight: Dask's callback thread only queues the done future, and
that thread takes every future queued meanwhile and fetches their values in one
``client.gather`` (one round trip through the scheduler for a whole burst of
endings, where ``future.result()`` in each callback costs one per task; a future
that did not finish, or a gather that fails, is asked on its own). The only task
in flight is fetched in Dask's callback thread (no thread hop: its latency).

    Dask's callback thread ── on_done ──┬─ alone: fetch, settle (here)
                                        └─ else: results queue
    tasker-cluster-results: everything queued ─► one gather per client ─► settle each

A result whose events have not all arrived waits up to ``GAP_WAIT_S``; then
the task fails with a ``TaskError`` naming the missing event numbers (events
are never dropped silently).
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from ..._core._errors import TaskError, WorkerDiedError
from .._remote import _payload
from .._remote._messages import Kind, MessageError, decode
from .._remote._relay import Relay
from ._events import KEY_BYTES, Inbox, Seen, authentic, unpack

if TYPE_CHECKING:
    from ..._core._ask import Question
    from ..._core._task import Task
    from ._runner import ClusterRunner

logger = logging.getLogger("tasker")

#: Seconds a task's result waits for events still on their way before a gap is reported.
GAP_WAIT_S = 5.0
#: A task whose worker died before it began is submitted again this many times at most,
#: besides the times that worker was one tasker killed itself (``ClusterRunner.killed``:
#: another task's stuck run), which are not the task's doing: when the workers are killed
#: together, the task sent next can meet one dying worker after another before the
#: scheduler knows of their deaths.
RESUBMITS = 1
#: Where the outcome ``_worker.run`` returns holds the number of the task's last event, its run.
LAST = 4
RUN = 7


class Slot:
    """The runner's notes on one cluster task (``task.handle``)."""

    def __init__(self, token: str, key: str, window: int) -> None:
        self.token = token
        self.key = key
        self.secret = secrets.token_bytes(KEY_BYTES)  # signs its messages; goes to its worker only
        self.run: str | None = None  # Invariant: set by its first authentic message or its outcome
        self.seen = Seen()  # message numbers of that run already accepted
        self.refused = False  # a refused message was logged (once per task)
        self.attempt = 0  # submissions after the first (each under its own Dask key)
        # Invariant: attempt - len(excused) of them count against RESUBMITS.
        self.excused: set[str] = set()  # workers tasker killed that this task died unstarted on
        self.future: Any = None
        self.worker: str | None = None  # where it began
        self.pid: int | None = None
        self.began = False
        self.inbox = Inbox(window)
        self.posted = 0  # events handed to the lifecycle (``inbox.delivered`` counts them a moment earlier)
        self.questions: dict[int, Question] = {}
        self.outcome: tuple[Any, ...] | None = None  # a result waiting for its last events
        self.deadline = 0.0


class Forwarder:
    """The ``tasker-cluster-events`` thread (see the module doc)."""

    def __init__(self, runner: ClusterRunner) -> None:
        self.runner = runner
        self.lifecycle = runner.lifecycle
        self.relay = Relay(runner.lifecycle)
        self.queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name="tasker-cluster-events", daemon=True)
        #: (task, its ended future) from Dask's callback thread; None stops the results thread.
        self.results: queue.SimpleQueue[tuple[Task[Any], Any] | None] = queue.SimpleQueue()
        self.fetcher = threading.Thread(target=self._fetch_loop, name="tasker-cluster-results", daemon=True)
        self.waiting: set[Task[Any]] = set()  # results waiting for events (a gap)
        self.unacked: set[Slot] = set()  # tasks with events delivered but not acknowledged

    # -- from Dask's threads (never block) --------------------------------------------------
    def on_event(self, event: Any) -> None:
        self.queue.put(("event", event[1] if isinstance(event, tuple | list) and len(event) == 2 else event))

    def on_worker_event(self, address: str, event: Any) -> None:
        """An event on a worker's own topic: the scheduler logs its removal there."""
        msg = event[1]
        if isinstance(msg, dict) and msg.get("action") == "remove-worker":
            self.queue.put(("gone", address, msg.get("expected")))

    def on_done(self, task: Task[Any], future: Any) -> None:
        """A Dask future ended (in Dask's callback thread).

        The only task in flight is fetched and settled right here (no one to share
        a round trip with: one thread hop less); with others in flight, its value
        is fetched by the results thread, together with theirs.
        """
        if len(self.runner.tasks) > 1:
            self.results.put((task, future))
            return
        ((value, error),) = fetch([future])
        self._settle_safely(task, future, value, error)

    def _fetch_loop(self) -> None:
        """The results thread: what ended since the last pass, fetched together, then settled."""
        while self._fetch_pass(self.results.get()):
            pass

    def _fetch_pass(self, first: tuple[Task[Any], Any] | None) -> bool:
        """One pass: ``first`` and everything queued behind it; False once told to stop.

        (Its own frame: no done future outlives the pass, which would keep its key, and
        its result, on the cluster.)
        """
        if first is None:
            return False
        batch, going = [first], True
        while going:
            try:
                item = self.results.get_nowait()
            except queue.Empty:
                break
            if item is None:
                going = False
            else:
                batch.append(item)
        try:
            outcomes = fetch([future for _, future in batch])
        except Exception as fault:  # (a bug of tasker's: the tasks still end, the thread goes on)
            logger.exception("tasker: fetching the values of %d cluster tasks failed", len(batch))
            outcomes = [(None, TaskError(f"tasker could not fetch the task's value: {fault!r}")) for _ in batch]
        for (task, future), (value, error) in zip(batch, outcomes, strict=True):
            self._settle_safely(task, future, value, error)
        return going

    def _settle_safely(self, task: Task[Any], future: Any, value: Any, error: BaseException | None) -> None:
        """``_settle``; a fault of tasker's own there still ends the task, and the thread goes on."""
        try:
            self._settle(task, future, value, error)
        except Exception as problem:
            logger.exception("tasker: ending cluster task %r failed", task.name)
            try:
                self.lifecycle.conclude(task, error=problem)
                self.runner.forget(task)
            except Exception:
                logger.exception("tasker: concluding cluster task %r failed", task.name)

    def _settle(self, task: Task[Any], future: Any, value: Any, error: BaseException | None) -> None:
        """A future's value or error (the results thread; Dask's callback thread for a lone task).

        The common case ends the task right here (one thread hop less): it began
        and every event it sent is with the lifecycle already. Anything else goes
        through the events thread, in order.
        """
        slot: Slot = task.handle
        settled = (
            error is None and future is slot.future and slot.outcome is None and value[0] != Kind.SECOND_RUN
            and slot.posted >= value[LAST] and slot.run in (None, value[RUN])
        )
        if settled and (slot.began or value[LAST] == 0):  # nothing of it is on its way to the events thread
            self._finish(task, value)
            return
        self.queue.put(("done", task, future, value, error, future.cancelled()))

    def start(self) -> None:
        """Start both threads (once, when the runner first connects)."""
        if not self.thread.is_alive():
            self.thread.start()
            self.fetcher.start()

    def stop(self, timeout: float) -> None:
        self.results.put(None)
        self.queue.put(None)
        for thread in (self.fetcher, self.thread):
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout)

    # -- the thread ---------------------------------------------------------------------------
    def _loop(self) -> None:
        # Not never_block: waiting in post_event while the UI is behind is the back-pressure.
        while True:
            try:
                item = self.queue.get(timeout=self._next_deadline())
            except queue.Empty:
                self._expire()
                continue
            if item is None:
                return
            try:
                self._handle(item)
            except Exception:
                logger.exception("tasker: handling %r from the cluster failed", item[0])
            del item  # (a done future held here would keep its key, and result, on the cluster)
            if self.unacked and self.queue.empty():
                self._ack_all()

    def _next_deadline(self) -> float | None:
        if not self.waiting:
            return None
        first: float = min(t.handle.deadline for t in self.waiting)
        return max(0.0, first - time.monotonic())

    def _handle(self, item: tuple[Any, ...]) -> None:
        match item:
            case ("event", msg):
                self._message(msg)
            case ("gone", address, expected):
                self.runner.confirm_gone(address, expected)
            case ("gone-confirmed", address, expected):
                self._worker_gone(address, expected)
            case ("done", task, future, value, error, canceled):
                self._done(task, future, value, error, canceled)

    # -- what a task reports ----------------------------------------------------------------------
    def _message(self, msg: Any) -> None:
        """Checks a topic message before anything in it is decoded (see ``_events``)."""
        token = msg.get("k") if isinstance(msg, dict) else None
        task = self.runner.tasks.get(token) if isinstance(token, str) else None
        slot: Slot | None = task.handle if task is not None else self.runner.ended.get(token)  # type: ignore[arg-type]
        if slot is None or not authentic(slot.secret, msg):
            self._refuse(task, slot, msg, "is not signed with the task's key")
            return
        tag, run = msg["t"], msg["r"]
        if slot.run is None:
            slot.run = run
        elif run != slot.run:  # Dask ran the task again after the first run's worker died
            self._second_run(task, slot, msg)
            return
        if not slot.seen.accept(msg["n"]):
            self._refuse(task, slot, msg, f"repeats message number {msg['n']}")
            return
        try:
            fields = unpack(msg["b"])
        except Exception as error:  # signed, yet not ours: a worker of another tasker version
            self._refuse(task, slot, msg, f"has a body that is not a list of plain values ({error})")
            return
        try:
            decode([tag, *fields])
        except MessageError as error:  # signed, yet not ours: a worker of another tasker version
            self._refuse(task, slot, msg, f"is not a message this app knows ({error})")
            return
        if tag == Kind.BEGIN:
            self._begin(task, slot, *fields)
        elif task is not None and slot.began:
            self._report(task, tag, fields)

    def _refuse(self, task: Task[Any] | None, slot: Slot | None, msg: Any, why: str) -> None:
        """Drop a message unread; say so once per task (once per runner for unknown tasks)."""
        holder: Any = slot if slot is not None else self
        if getattr(holder, "refused", False):
            return
        holder.refused = True
        sender = msg.get("worker") if isinstance(msg, dict) else None
        origin = f"the Dask worker {sender}" if isinstance(sender, str) else "a client of the scheduler (no worker)"
        what = f"task {task.name!r}" if task is not None else "a task this app does not run (now)"
        logger.warning(
            "tasker: dropped unread a message on the Dask topic %s for %s that %s; it claims to come from %s. "
            "Another client of the scheduler may be forging or replaying events (further ones are dropped "
            "without a word)", self.runner.topic, what, why, origin,
        )

    refused = False  # a message for an unknown task was logged (``_refuse``)

    def _second_run(self, task: Task[Any] | None, slot: Slot, msg: dict[str, Any]) -> None:
        """A signed message from another run of the task: the first one's worker died."""
        address = msg.get("worker")
        if msg["t"] == Kind.BEGIN:
            try:
                address = unpack(msg["b"])[0]
            except Exception:
                pass
        if task is not None and not task.is_final():
            self.lifecycle.conclude(task, error=self._died(slot, slot.worker or str(address), again=True))
        if isinstance(address, str):
            self.runner.cancel_on(address, slot.token)

    def _begin(self, task: Task[Any] | None, slot: Slot, address: str, pid: int) -> None:
        if task is None:  # it ended and was forgotten: stop it where it runs
            self.runner.cancel_on(address, slot.token)
            return
        if slot.began:
            return  # its outcome came first and said where it ran
        slot.began, slot.worker, slot.pid = True, address, pid
        self.runner.watch(address)
        if not self.lifecycle.begin(task):  # canceled while it was queued on the cluster
            self.runner.cancel_on(address, slot.token)
        elif task.is_paused():  # paused while it was queued: it waits at its first context call
            self.runner.pause(task)

    def _report(self, task: Task[Any], tag: str, fields: list[Any]) -> None:
        slot: Slot = task.handle
        if tag == Kind.PROGRESS:
            self.relay.progress(task, fields[0], fields[1])
        elif tag == Kind.EVENT or tag == Kind.QUESTION or tag == Kind.YIELD:
            for item in slot.inbox.accept(fields[0], (tag, fields[1:])):
                self._deliver(task, *item)
            due = slot.inbox.ack_due()
            if due is not None:
                self.runner.ack(slot, due)
            if slot.inbox.delivered > slot.inbox.acked:
                self.unacked.add(slot)
            if slot.outcome is not None and slot.posted >= slot.outcome[LAST]:
                self._finish(task, slot.outcome)
        elif tag == Kind.WITHDRAW:
            self.relay.withdraw(slot.questions, fields[0])
        elif tag == Kind.LOG:
            self.relay.log(fields[0])
        elif tag == Kind.WARNING:
            self.relay.warning(task, *fields)

    def _deliver(self, task: Task[Any], tag: str, fields: list[Any]) -> None:
        payload = fields[-1]
        try:
            body = _payload.loads(payload, [])
            if tag != Kind.YIELD:
                name, data = body
        except Exception as error:
            self._unloadable(task, error)
            task.handle.posted += 1
            return
        slot: Slot = task.handle
        if tag == Kind.YIELD:
            self.relay.yielded(task, body)
        elif tag == Kind.EVENT:
            self.relay.event(task, name, data)
        else:
            self.relay.question(task, slot.questions, fields[0], name, data, partial(self.runner.answer, slot))
        slot.posted += 1

    def _unloadable(self, task: Task[Any], error: Exception) -> None:
        problem = TaskError(
            f"an event of the task could not be unpickled in this process: {type(error).__name__}: "
            f"{error}. Send types that this process can import and rebuild (plain values, NumPy arrays)."
        )
        problem.__cause__ = error
        self.lifecycle.conclude(task, error=problem)
        slot: Slot = task.handle
        if slot.worker is not None:
            self.runner.cancel_on(slot.worker, slot.token)

    def _ack_all(self) -> None:
        """Idle: acknowledge what was delivered (tasks that sent events since their last ack)."""
        unacked, self.unacked = self.unacked, set()
        for slot in unacked:
            due = slot.inbox.ack_due(idle=True)
            if due is not None:
                self.runner.ack(slot, due)

    # -- endings ------------------------------------------------------------------------------------
    def _worker_gone(self, address: str, expected: bool) -> None:
        for task in list(self.runner.tasks.values()):
            slot: Slot = task.handle
            if slot.worker == address and slot.began and not task.is_final():
                self.lifecycle.conclude(task, error=self._died(slot, address, expected))

    def _again(self, slot: Slot, died_on: str | None) -> bool:
        """A task that never began lost its worker: is it submitted again?

        Yes on a worker tasker killed itself (once per such worker: not this task's doing),
        else while fewer than ``RESUBMITS`` were counted.
        """
        if died_on is not None and died_on in self.runner.killed and died_on not in slot.excused:
            slot.excused.add(died_on)
            return True
        return slot.attempt - len(slot.excused) < RESUBMITS

    def _died(self, slot: Slot, address: str, expected: bool = False, again: bool = False) -> WorkerDiedError:
        what = "was closed" if expected else "died"
        then = (
            "; the scheduler started the task again elsewhere, and tasker stopped that second run"
            if again else ""
        )
        return WorkerDiedError(
            f"the Dask worker {address} (pid {slot.pid}) running the task {what}{then}; likely cause: "
            "it was killed (out of memory, a signal), its nanny restarted it, or it was retired"
        )

    def _done(self, task: Task[Any], future: Any, value: Any, error: BaseException | None, canceled: bool) -> None:
        slot: Slot = task.handle
        if future is not slot.future:
            return  # an earlier attempt's
        if task.is_final():
            self.runner.forget(task)
            return
        if canceled:
            error = TaskError(
                f"the task was lost with the connection to {self.runner.connection.describe()}: "
                f"Dask canceled it ({error or 'no reason given'}); the scheduler went away or closed the connection"
            )
        elif type(error).__name__ == "KilledWorker" or (
            error is None and (value[0] == Kind.SECOND_RUN or slot.run not in (None, value[RUN]))
        ):  # its worker died: Dask gave up, or ran it again (stopped at once, or let run on)
            last = getattr(getattr(error, "last_worker", None), "address", None) if error else value[5]
            if not slot.began and self._again(slot, last if error else None):  # its worker died before it started
                self.runner.resubmit(task)
                return
            error = self._died(slot, slot.worker or str(last), again=error is None)
        if error is not None:
            if isinstance(error, ModuleNotFoundError) and "tasker" in str(error):
                error = TaskError(f"the Dask worker cannot import tasker: install tasker-ui there ({error})")
            self.lifecycle.conclude(task, error=error)
            self.runner.forget(task)
            return
        if slot.posted < value[LAST]:  # events still on their way
            slot.outcome, slot.deadline = value, time.monotonic() + GAP_WAIT_S
            self.waiting.add(task)
            return
        self._finish(task, value)

    def _finish(self, task: Task[Any], outcome: tuple[Any, ...]) -> None:
        self.waiting.discard(task)
        tag, body, progress, message, _last, address, pid, run = outcome
        slot: Slot = task.handle
        if not slot.began:  # it ended before it sent a begin event: it ran, there
            slot.began, slot.worker, slot.pid, slot.run = True, address, pid, run
            self.lifecycle.begin(task)  # False: canceled while the app saw it pending; it ends so
        if not task.is_final():
            self.lifecycle.report(task, progress, message)
            if tag == Kind.FAILURE:
                self.relay.conclude(task, True, body)
            else:
                self._conclude_result(task, body)
        self.runner.forget(task)

    def _conclude_result(self, task: Task[Any], pickled: bytes) -> None:
        """The task's returned value, unpickled by tasker's loader (Dask carried it as bytes)."""
        try:
            value = _payload.loads(pickled, [])
        except Exception as error:
            problem = TaskError(
                f"the task's result could not be unpickled in this process: {type(error).__name__}: "
                f"{error}. Return types that this process can import and rebuild (plain values, NumPy arrays)."
            )
            problem.__cause__ = error
            self.lifecycle.conclude(task, error=problem)
            return
        self.relay.conclude(task, False, value)

    def _expire(self) -> None:
        now = time.monotonic()
        for task in [t for t in self.waiting if t.handle.deadline <= now]:
            self.waiting.discard(task)
            slot: Slot = task.handle
            assert slot.outcome is not None
            missing = slot.inbox.missing(slot.outcome[LAST])
            error = TaskError(
                f"{len(missing)} event(s) of the task never arrived from the Dask worker {slot.worker} "
                f"(numbers {missing[:5]}{'…' if len(missing) > 5 else ''}); the scheduler lost them"
            )
            logger.error("tasker: task %r: %s", task.name, error)
            self.lifecycle.conclude(task, error=error)
            self.runner.forget(task)


def fetch(futures: list[Any]) -> list[tuple[Any, BaseException | None]]:
    """(value, None) or (None, error) of each ended future, in order; never raises.

    The finished ones of each client come in one ``client.gather`` (one round trip);
    an erred or canceled one raises its own error from ``result()`` (no round trip);
    if a gather fails, each of its futures is asked on its own, so that one
    bad future cannot give the others its error.
    """
    got: dict[int, Any] = {}
    by_client: dict[int, list[Any]] = {}
    for future in futures:
        if future.status == "finished":
            by_client.setdefault(id(future.client), []).append(future)
    for finished in by_client.values():
        if len(finished) < 2:
            continue
        try:
            values = finished[0].client.gather(finished)
        except Exception as error:
            logger.debug("tasker: gathering %d values from Dask at once: %s", len(finished), error)
            continue
        for future, value in zip(finished, values, strict=True):
            got[id(future)] = value
    outcomes: list[tuple[Any, BaseException | None]] = []
    for future in futures:
        if id(future) in got:
            outcomes.append((got[id(future)], None))
            continue
        try:
            outcomes.append((future.result(), None))
        except BaseException as raised:
            outcomes.append((None, raised))
    return outcomes
