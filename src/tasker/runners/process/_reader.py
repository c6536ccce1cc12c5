"""One worker's reader thread: start the process, read what it sends, see it end.

    launch ──► READY ──► pool.ready            PROGRESS ──► lifecycle.report
                         INIT_FAILED ──► every queued task fails (the initializer)
    EVENT ──► lifecycle.post_event            QUESTION ──► lifecycle.post_question
    YIELD ──► lifecycle.post_yield            YIELDS ──► lifecycle.post_yields (several values)
    LOG ──► this process's loggers            WARNING ──► lifecycle.post_warning
    RESULT / FAILURE ──► pool.finished, dispatch, lifecycle.conclude
    EOF ──► pool.exited, reap, WorkerDiedError for its task, refill the pool
    launch fails, or EOF before READY ──► pool.launch_failed: back off, or the queue fails (``_launch``)

Each message is checked (``_remote._messages.decode``) and handed to its handler by its
letter; what every remote runner does alike goes through the kit's ``Relay``. Nothing
of a message outlives its handling here (a big result is not kept).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from ..._core._errors import TaskError, WorkerDiedError, error_text, import_cancelled_error
from .._remote import _payload
from .._remote._codec import Described, rebuild_error
from .._remote._messages import decode
from .._remote._relay import Relay
from ._messages import (
    ANSWER,
    EVENT,
    FAILURE,
    INIT_FAILED,
    LOG,
    PROGRESS,
    QUESTION,
    READY,
    RESULT,
    TASK_FIELDS,
    UNLOADABLE,
    WARNING,
    WITHDRAW,
    YIELD,
    YIELDS,
    FromWorker,
)
from ._recycle import memory_error
from ._worker import WorkerState

if TYPE_CHECKING:
    from ..._core._task import Task
    from ._pool import ProcessRunner
    from ._worker import Worker

logger = logging.getLogger("tasker")


class Reader:
    """Runs on ``worker.thread`` for the worker's whole life."""

    def __init__(self, pool: ProcessRunner, worker: Worker, init: dict[str, Any]) -> None:
        self.pool = pool
        self.lifecycle = pool.lifecycle
        self.worker = worker
        self.init = init
        self.launch_error: Exception | None = None  # why the launch failed, if it did
        self.relay = Relay(self.lifecycle)
        #: letter -> handler of the rest of the message (``_handle``)
        self._table: dict[str, Callable[..., None]] = {
            PROGRESS: self._progress, EVENT: self._event, YIELD: self._yield, YIELDS: self._yields,
            QUESTION: self._question, WITHDRAW: self._withdraw,
            RESULT: self._result, FAILURE: self._failure, LOG: self._log, WARNING: self._warning,
            READY: self._ready, INIT_FAILED: self._init_failed, UNLOADABLE: self._unloadable,
        }

    def run(self) -> None:
        # Give the GIL back first: the thread that started us (often the UI
        # thread, inside run_process) must not wait out a switch interval
        # while this thread imports and spawns.
        time.sleep(0)
        try:
            try:
                self._launch()
            except Exception as error:  # could not start it, or not send it its start-up data
                self.launch_error = error
                return
            while True:  # no locals survive a message: a big result is not held here
                self._guarded(self.worker.recv())
        except (EOFError, OSError):
            pass
        except BaseException:  # a reader thread never dies of tasker's own code
            logger.exception("tasker: reader of %s failed", self.worker.name)
        finally:
            self._exited()

    def _guarded(self, message: FromWorker) -> None:
        """Handle one message; if that raises, log it, and a task the message ended still ends.

        (The last resort: what handling runs is tasker's code and, at most, the
        application's logging handlers.)
        """
        task = self.worker.task
        try:
            self._handle(message)
        except BaseException as fault:
            logger.error(
                "tasker: %s: handling its %r message failed (%s)", self.worker.name, message[0], error_text(fault),
                exc_info=(type(fault), fault, fault.__traceback__),
            )
            ending = message[0] in (RESULT, FAILURE) and task is not None and task.id == message[1]
            if task is not None and (ending or message[0] == UNLOADABLE):
                problem = TaskError(f"tasker failed to handle the outcome {self.worker.name} sent: {error_text(fault)}")
                problem.__cause__ = fault
                self.lifecycle.conclude(task, error=problem)

    def _launch(self) -> None:
        worker, pool = self.worker, self.pool
        worker.start_process(pool.lifeline)
        with pool.lock:
            closed = pool.closed
        if closed:  # shut down while this worker was starting: it must not live on
            worker.kill()
        initializer = self.init["initializer"]
        init = {
            **self.init,
            "sys_path": list(sys.path),
            "name": worker.name,
            "log_level": logging.getLogger().getEffectiveLevel(),
            "initializer": _payload.dumps_portable(initializer) if initializer is not None else None,
            "preload": sorted(pool.modules),
            "boot_idle": worker.booted_idle,  # the worker restores its normal priority before READY
        }
        data, fds = _payload.dumps(init)
        worker.send(data, fds)
        import_cancelled_error()  # while the worker boots: this thread waits for it anyway

    def _handle(self, message: FromWorker) -> None:
        decode(message, TASK_FIELDS)  # (MessageError: logged by _guarded)
        self._table[message[0]](*message[1:])

    def _mine(self, task_id: int) -> Task[Any] | None:
        """The running task, if the message is about it (else None: it ended, or another one)."""
        task = self.worker.task
        return task if task is not None and task.id == task_id else None

    def _progress(self, task_id: int, progress: float, text: str | None) -> None:
        task = self._mine(task_id)
        if task is not None:
            self.relay.progress(task, progress, text)

    def _event(self, task_id: int, name: str, data: Any) -> None:
        task = self._mine(task_id)
        if task is not None:
            self.relay.event(task, name, data)

    def _yield(self, task_id: int, value: Any) -> None:
        task = self._mine(task_id)
        if task is not None:
            self.relay.yielded(task, value)

    def _yields(self, task_id: int, values: list[Any]) -> None:
        task = self._mine(task_id)
        if task is not None:
            self.relay.yielded_many(task, values)

    def _question(self, task_id: int, number: int, name: str, data: Any) -> None:
        """``context.ask`` in the worker: shown to the main thread, answered over the socket."""
        worker = self.worker
        self.relay.question(
            self._mine(task_id), worker.questions, number, name, data, partial(_send_answer, worker)
        )

    def _withdraw(self, task_id: int, number: int) -> None:  # the task gave up waiting (its ask timed out)
        self.relay.withdraw(self.worker.questions, number)

    def _result(self, task_id: int, value: Any, progress: float, text: str | None, rss: int) -> None:
        task = self._mine(task_id)
        if task is not None:
            self._finished(task, progress, text, False, value, rss)
        elif self.worker.skipping:  # a task taken back (paused) that the worker skipped
            self.pool.pausing.skipped(self.worker, task_id)

    def _failure(self, task_id: int, described: Described, progress: float, text: str | None, rss: int) -> None:
        task = self._mine(task_id)
        if task is not None:
            self._finished(task, progress, text, True, described, rss)

    def _log(self, task_id: int, fields: dict[str, Any]) -> None:
        self.relay.log(fields)

    def _warning(self, task_id: int, module: str, qualname: str, text: str, filename: str, lineno: int) -> None:
        self.relay.warning(self._mine(task_id), module, qualname, text, filename, lineno)

    def _ready(self, task_id: int, pid: int) -> None:
        self.pool.ready(self.worker)

    def _finished(self, task: Task[Any], progress: float, text: str | None, failed: bool, body: Any, rss: int) -> None:
        task._progress, task._message = progress, text
        promoted = self.pool.finished(self.worker, task, rss=rss)
        if promoted is not None:  # the worker has already started it
            self.lifecycle.begin(promoted)  # False if canceled meanwhile: the worker skips it
            call = promoted.payload
            if call is not None:
                call.close()
        self.pool.dispatch()  # first: the worker starts its next task while we conclude this one
        self.relay.conclude(task, failed, body)

    def _unloadable(self, task_id: int, error: BaseException) -> None:
        """A result or event this process cannot unpickle: the task fails, saying why.

        The worker may still be running the task (it was an event) or be idle (it
        was the result): either way it is replaced, as when a worker dies.
        """
        worker, task = self.worker, self.worker.task
        if task is not None:
            problem = TaskError(
                f"a message from {worker.name} (the task's result or one of its events) could not "
                f"be unpickled in this process: {error_text(error)}. Return and send "
                "types that this process can import and rebuild (plain values, NumPy arrays)."
            )
            problem.__cause__ = error
            self.lifecycle.conclude(task, error=problem)
        with self.pool.lock:
            self.pool.flag_as_gone_locked(worker)  # no new task for it, even if its result comes in now
        worker.kill()  # its reader (this thread) then sees EOF: _exited replaces it

    def _init_failed(self, task_id: int, described: Described, text: str | None) -> None:
        self.worker.init_failed = True  # its queued tasks fail here: not a failed launch
        error = TaskError(text or f"worker_initializer failed in {self.worker.name}: {described[1]}: {described[2]}")
        error.__cause__ = rebuild_error(described)
        logger.error("tasker: %s", error)
        for task in self.pool.fail_pending():
            self.lifecycle.conclude(task, error=error)

    def _exited(self) -> None:
        """The worker's connection closed: reap it, fail its task, refill the pool.

        Guarded step by step: the task still ends and the pool still refills if
        reaping or describing the death raises.
        """
        worker, pool = self.worker, self.pool
        early = worker.state is WorkerState.STARTING  # before READY: how it ended decides (``_launch``)
        code = None
        try:
            try:
                code = worker.reap() if early else None
            except Exception:
                logger.exception("tasker: reaping %s failed", worker.name)
            task, starting = pool.exited(worker, code)
            if not early:
                try:
                    code = worker.reap()
                except Exception:
                    logger.exception("tasker: reaping %s failed", worker.name)
            if task is not None and not task.is_final():
                try:
                    error = memory_error(worker, task.name, code) or WorkerDiedError(
                        worker.death_message(code), exitcode=code
                    )
                except Exception as fault:
                    error = WorkerDiedError(f"worker process {worker.name} ended ({error_text(fault)})")
                self.lifecycle.conclude(task, error=error)
            worker.close()
            if worker.launch_counted:
                pool.launch_failed(worker, self.launch_error, code)
            pool.start_workers(starting)
            pool.dispatch()
        except BaseException:
            logger.exception("tasker: cleaning up after %s failed", worker.name)
        finally:
            pool.forget(worker)


def _send_answer(worker: Worker, number: int, value: Any, error: BaseException | None) -> None:
    """The answer to a worker's ask: ``ANSWER`` + pickled (number, value, error)."""
    try:
        data, fds = _payload.dumps_portable((number, value, error))
    except Exception as problem:
        what = f"the answer ({type(value).__name__})"
        if error is not None:
            what = f"the error {type(error).__name__}: {error}"
        unsent = TaskError(f"{what} cannot be sent to the worker process: {problem}; answer with picklable data")
        data, fds = _payload.dumps_portable((number, None, unsent))
    try:
        worker.send(data, fds, prefix=ANSWER)
    except OSError:
        pass  # the worker is gone; its reader ends the task
    finally:
        _payload.close_fds(fds)

