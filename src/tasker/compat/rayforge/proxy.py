"""What runs in a worker process (``rayforge.shared.tasker.proxy``).

A Rayforge process function receives an ``ExecutionContextProxy``. Here
it wraps the worker-side context of tasker's core: progress, messages and
events travel over tasker's pipe, cancellation is tasker's shared-memory flag,
and ``ExecutionContextProxy.send_event_and_wait`` is tasker's
``context.ask``. ``_ProcessCall`` builds the proxy around the call in the
worker; ``_WorkerInit`` runs Rayforge's ``initializer(shared_state, *initargs)``.

Kept light: a worker imports this module and ``.progress``, nothing else of
the compat layer (no asyncio, no blinker).
"""

from __future__ import annotations

import logging
import pickle
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .progress import ThrottledProgressContext, _clamp, _sub_range

if TYPE_CHECKING:
    from tasker import ExecutionContext as CoreContext


class ExecutionContextProxy(ThrottledProgressContext):
    """The context of a process task: progress, message, events and cancellation.

    ``send_event(name, data)`` reaches the task's ``when_event`` on the main
    thread; ``send_event_and_wait`` also waits until the main thread has
    dispatched it to the (live) task.
    """

    def __init__(
        self,
        context: CoreContext,
        base_progress: float = 0.0,
        progress_range: float = 1.0,
        total: float = 1.0,
        task_id: int = 0,
    ) -> None:
        self._context = context
        self._task_id = task_id
        #: Always None in a worker (Rayforge's proxy has no Task either).
        self.task: Any = None
        super().__init__(base_progress, progress_range, total)

    def is_cancelled(self) -> bool:
        return self._context.is_cancelled()

    def set_message(self, message: str) -> None:
        if message is not None:
            self._context.set_message(message)

    def flush(self) -> None:
        self._context.flush()

    def send_event(self, name: str, data: Any = None) -> None:
        """Send ``name`` with ``data`` (``{}`` when None) to the task's ``when_event``."""
        self._context.send_event(name, {} if data is None else data)

    def send_event_and_wait(
        self,
        name: str,
        data: Any = None,
        timeout: float = 5.0,
        logger: logging.Logger | None = None,
    ) -> bool:
        """Send an event and wait until the main thread has dispatched it.

        True once the task's ``event_received`` receivers ran on the main
        thread; False if the task was cancelled (or is gone), if a receiver
        raised, or after ``timeout`` seconds — then ``logger``, if given, gets
        Rayforge's warning. For events that hand over a resource (shared
        memory): on False the worker still owns it.
        """
        payload = {} if data is None else data
        if timeout is not None and timeout <= 0:  # nothing to wait for: as Rayforge, a timeout
            self._context.send_event(name, payload)
            return self._timed_out(name, logger)
        from tasker import TaskTimeoutError

        try:
            return bool(self._context.ask(name, payload, timeout=timeout))
        except TaskTimeoutError:
            return self._timed_out(name, logger)
        except EOFError:  # the parent went away
            return False
        except BaseException as error:
            if _is_cancel(error):  # the task was cancelled while it waited
                return False
            raise

    def _timed_out(self, name: str, logger: logging.Logger | None) -> bool:
        if logger is not None:
            logger.warning(f"Timeout waiting for adoption signal for {self._task_id}:{name}")
        return False

    def sub_context(
        self, base_progress: float = 0.0, progress_range: float = 1.0, total: float = 1.0, **kwargs: Any
    ) -> ExecutionContextProxy:
        return self._create_sub_context(base_progress, progress_range, total)

    def _report_normalized_progress(self, progress: float) -> None:
        self._context.set_progress(self._base + _clamp(progress) * self._range)

    def _create_sub_context(self, base_progress: float, progress_range: float, total: float) -> ExecutionContextProxy:
        base, span = _sub_range(self._base, self._range, base_progress, progress_range)
        return ExecutionContextProxy(self._context, base, span, total, self._task_id)


def _is_cancel(error: BaseException) -> bool:
    asyncio = sys.modules.get("asyncio")  # a CancelledError implies asyncio is loaded
    return asyncio is not None and isinstance(error, asyncio.CancelledError)


class _ProcessCall:
    """The function tasker's core runs in the worker: ``func(proxy, *args, **kwargs)``.

    ``kwargs`` holds only the keyword arguments whose names tasker's core
    reserves (e.g. ``timeout``): Rayforge passes those to the function, so they
    travel inside this object; the others travel as tasker's own arguments.
    """

    __slots__ = ("func", "kwargs", "task_id")

    def __init__(self, func: Callable[..., Any], task_id: int, kwargs: dict[str, Any]) -> None:
        self.func = func
        self.task_id = task_id
        self.kwargs = kwargs

    def __call__(self, context: CoreContext, /, *args: Any, **kwargs: Any) -> Any:
        _install_gettext_fallback()
        proxy = ExecutionContextProxy(context, task_id=self.task_id)
        return self.func(proxy, *args, **kwargs, **self.kwargs)

    def __repr__(self) -> str:
        return f"<Rayforge process call {self.func!r}>"


class _WorkerInit:
    """tasker's ``worker_initializer``: calls ``initializer(shared_state, *initargs)``.

    ``shared_state`` is normally a ``multiprocessing`` manager's dict proxy. A
    proxy authenticates to its manager with ``current_process().authkey``;
    tasker's workers are fresh interpreters, not ``multiprocessing`` children,
    so they do not inherit the parent's key: the key travels with this object
    and is installed before the proxy is rebuilt in the worker.
    """

    def __init__(self, initializer: Callable[..., object], initargs: tuple[Any, ...]) -> None:
        self.initializer = initializer
        self.initargs = initargs
        self.shared_state: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = {"initializer": self.initializer, "initargs": self.initargs}
        shared = self.shared_state
        if _is_manager_proxy(shared):
            authkey = getattr(shared, "_authkey", None)
            if authkey is None:
                import multiprocessing

                authkey = multiprocessing.current_process().authkey
            state["proxy"] = pickle.dumps(shared)  # rebuilt in the worker once the key is set
            state["authkey"] = bytes(authkey)
        else:
            state["shared_state"] = shared
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.initializer = state["initializer"]
        self.initargs = state["initargs"]
        self.shared_state = state.get("shared_state")
        self._proxy: bytes | None = state.get("proxy")
        self._authkey: bytes | None = state.get("authkey")

    def __call__(self) -> None:
        proxy = getattr(self, "_proxy", None)
        if proxy is not None:
            import multiprocessing

            authkey = self._authkey
            assert authkey is not None
            multiprocessing.current_process().authkey = authkey
            from ...runners._remote import _payload  # (globals imported top-down: see _payload._Loader)

            self.shared_state = _payload.loads(proxy, [])
            self._proxy = None
        _install_gettext_fallback()
        self.initializer(self.shared_state, *self.initargs)


def _install_gettext_fallback() -> None:
    """As Rayforge's workers: ``_("text")`` works (returns the text) unless the app installed gettext."""
    import builtins

    if not hasattr(builtins, "_"):
        builtins._ = _untranslated  # type: ignore[attr-defined]


def _untranslated(text: str) -> str:
    return text


def _is_manager_proxy(value: Any) -> bool:
    managers = sys.modules.get("multiprocessing.managers")
    return managers is not None and isinstance(value, managers.BaseProxy)
