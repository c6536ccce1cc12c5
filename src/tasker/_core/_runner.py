"""The seam between the lifecycle and what runs tasks: two protocols and a registry.

    TaskManager ── prepare(func, args, kwargs) ──► Runner (one per kind, loaded by name)
        │          submit(task) ─────────────────►   │ runs task.call somewhere
        │          interrupt / release / abandon ─►  │
        ▼                                            ▼
    Lifecycle ◄── begin(task) → True: run it ─────── │
              ◄── report(task, progress, message) ── │  (a worker's reports)
              ◄── post_event / post_question ─────── │
              ◄── conclude(task, result | error) ─── ┘  (once it stopped)
    pause / resume ─► runner.pause(task) / runner.resume(task)  (after the state changed)

A runner only executes. The lifecycle (``_lifecycle.TaskLifecycle``) owns every
status change and decides each ending. Runners import ``_core``'s task, context,
errors, options, ask and this module — never the manager — and ``_core`` imports
no runner: ``RUNNERS`` names each runner's factory by ``"module:attribute"``,
imported the first time a task of that kind starts.

Pausing: the lifecycle keeps the paused state on the task (``task.is_paused()``)
and writes ``PAUSE`` into its control byte, so a context *in this process*
waits at its next call (threads) or ``await context.checkpoint()`` (coroutines).
It then calls ``runner.pause(task)`` / ``runner.resume(task)``, without its lock
held; both are idempotent "bring the work in line with ``task.is_paused()``"
calls, so racing pauses and resumes settle on the last state. A runner whose
tasks read the task's own flag needs nothing more: ``CooperativePause``
(no-op methods to inherit) is that default, and the lifecycle also treats a
runner without the two methods that way. A runner may do more (the process
runner stops its worker: SIGSTOP/SIGCONT).

Adding a runner (e.g. a cluster): write a class with the ``Runner`` methods,
taking ``(lifecycle, options)``; call ``register_runner("cluster", "pkg.mod:Cls")``
(or add it to ``RUNNERS``); submit with ``TaskManager._submit("cluster", ...)``
behind a public method. Its tasks then get every ending, ``when_done``, replace
by key, timeouts and cancellation from the lifecycle, with nothing special in
``_core``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol

from ._firststart import PREPARE_FIRST as PREPARE_FIRST
from ._validate import METHODS as METHODS

if TYPE_CHECKING:
    from ._ask import Question
    from ._clock import Clock
    from ._options import Options
    from ._task import Task


class Lifecycle(Protocol):
    """What a runner reports to (the manager's ``TaskLifecycle``)."""

    #: The manager's clock (``clock=``): a runner's own timers use it too.
    clock: Clock

    def begin(self, task: Task[Any]) -> bool:
        """pending → running, right before the function runs; False: do not run it."""
        ...

    def conclude(self, task: Task[Any], result: Any = None, error: BaseException | None = None) -> bool:
        """The function stopped (returned ``result`` or raised ``error``): end the task once."""
        ...

    def report(self, task: Task[Any], progress: float, message: str | None) -> None:
        """Progress and message from elsewhere (a worker): shown, throttled."""
        ...

    def post_event(self, task: Task[Any], name: str, data: Any) -> None:
        """``send_event`` from elsewhere: ``when_event`` on the main thread, in order."""
        ...

    def post_yield(self, task: Task[Any], value: Any) -> None:
        """A generator task's ``yield`` from elsewhere: ``when_yield`` on the main thread, in order."""
        ...

    def post_yields(self, task: Task[Any], values: list[Any]) -> None:
        """Several of a generator task's values at once (``post_yield`` for each, in order)."""
        ...

    def post_question(self, task: Task[Any], question: Question) -> None:
        """``context.ask`` from elsewhere: the handler's answer goes back via the question."""
        ...

    def post_warning(
        self, task: Task[Any] | None, module: str, qualname: str, text: str, filename: str, lineno: int
    ) -> None:
        """A ``warnings.warn`` from elsewhere (its category by name): re-issued on the main thread."""
        ...

    def never_block(self, thread_id: int) -> None:
        """Events sent from this thread never wait for room (a loop that runs many tasks)."""
        ...


class Runner(Protocol):
    """Runs the tasks of one kind; built as ``factory(lifecycle, options)``."""

    kind: str

    def prepare(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """At the call, in the caller's thread: check or convert (e.g. pickle); raise to refuse.

        What it returns becomes ``task.payload``.
        """
        ...

    def submit(self, task: Task[Any]) -> None:
        """Start the task, or queue it (it stays pending until ``begin``)."""
        ...

    def interrupt(self, task: Task[Any]) -> None:
        """Cancellation was asked (``task.control`` reads ``CANCEL``); the lifecycle's lock is held."""
        ...

    def release(self, task: Task[Any]) -> None:
        """A running task was canceled: free its slot for queued work now (no lock held)."""
        ...

    def abandon(self, task: Task[Any]) -> None:
        """The grace period is over and the function has not stopped: stop waiting for it."""
        ...

    def pause(self, task: Task[Any]) -> None:
        """The task was paused (pending or running): hold or stop it (see the module doc)."""
        ...

    def resume(self, task: Task[Any]) -> None:
        """The task was resumed, or canceled while paused: let it go on (see the module doc)."""
        ...

    def restart(self) -> None:
        """Replace what the runner keeps warm (``restart_worker_pool``)."""
        ...

    def shutdown(self) -> None:
        """Stop every thread and process this runner started."""
        ...


class CooperativePause:
    """The default ``pause``/``resume`` of a runner: nothing to do.

    The lifecycle has already set the task's control byte to ``PAUSE`` (or back);
    a function running in this process with the task's own flag waits at its
    next context call, and a pending task begins paused and waits there too.
    """

    def pause(self, task: Task[Any]) -> None:
        pass

    def resume(self, task: Task[Any]) -> None:
        pass


RunnerFactory = Callable[["Lifecycle", "Options"], Runner]

#: kind -> "module:attribute" of its factory (or the factory itself).
RUNNERS: dict[str, str | RunnerFactory] = {
    "thread": "tasker.runners._threads:ThreadRunner",
    "coroutine": "tasker.runners._coroutines:CoroutineRunner",
    "process": "tasker.runners.process:ProcessRunner",
    "cluster": "tasker.runners.cluster:ClusterRunner",
    # Tasks made of other tasks (``then``, ``when_all``/``when_any``, ``map``): ``_composite``.
    "chain": "tasker._core._composite:CompositeRunner",
    "batch": "tasker._core._composite:CompositeRunner",
}

# PREPARE_FIRST (``_firststart``) and METHODS (``_validate``) live with their
# readers: a fresh manager's first run_process imports those, not this module.


def register_runner(kind: str, factory: str | RunnerFactory, method: str | None = None) -> None:
    """Make ``kind`` run by ``factory`` (``"module:attribute"`` or a callable)."""
    RUNNERS[kind] = factory
    if method is not None:
        METHODS[kind] = method


def make_runner(kind: str, lifecycle: Lifecycle, options: Options) -> Runner:
    target = RUNNERS.get(kind)
    if target is None:
        raise ValueError(f"no runner for tasks of kind {kind!r}; known: {', '.join(RUNNERS)}")
    if isinstance(target, str):
        module, _, attribute = target.partition(":")
        target = getattr(import_module(module), attribute)
    assert callable(target)
    return target(lifecycle, options)
