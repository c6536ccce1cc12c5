"""``Task``: the handle the application keeps for one piece of background work.

A task is also the *progress cell* its ``ExecutionContext`` writes into
when the work runs in this process (threads, coroutines); for process tasks the
runner reports the worker's values through ``Lifecycle.report``. The lifecycle
(``_lifecycle.TaskLifecycle``) owns every state change.

What runners may use (the rest is private): ``id``, ``kind``, ``name``, ``priority``,
``call`` (the function and its arguments), ``payload`` (what the runner's
``prepare`` returned), ``handle`` (the runner's own note: a thread, a worker, an
asyncio task), ``control`` (the control byte: ``RUN``, ``CANCEL`` or ``PAUSE``,
see ``_status``), ``is_final()`` and ``is_paused()``.

A task's state is a few fields, each changed only by the lifecycle under its
lock (``_lifecycle``, ``_pausing``); their rules are code in ``_status``
(``may_move``, ``control_for``, ``state_faults``)::

    _status          pending ──begin──► running ──conclude──► completed | failed | canceled
                        └─────────────conclude────────────────┘   (final_status decides which)
    _cancel_requested  False ──cancel──► True                 (while not final; once)
    _timed_out         False ──timer───► True                 (while not final, nobody asked to stop)
    _paused            False ──pause──► True ──resume, cancel, ending──► False   (while live, not canceled)
    control[0]         control_for(_cancel_requested, _paused): RUN | CANCEL | PAUSE
    _ending_queued     False ──conclude──► True               (with the final status)
    _done_delivered    False ──main thread──► True            (after _ending_queued)
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Generator, Hashable
from itertools import count
from typing import TYPE_CHECKING, Any, Generic, TypeVar, TypeVarTuple, cast, overload

from ._status import CANCEL, PAUSE, TaskStatus

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from ._ask import Question
    from ._clock import Timer
    from ._context import ExecutionContext
    from ._lifecycle import TaskLifecycle

R = TypeVar("R")
S = TypeVar("S")
Ts = TypeVarTuple("Ts")
#: ``"coroutine"``, ``"thread"``, ``"process"`` (or a registered runner's kind).
TaskKind = str

_ids = count(1)

Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class AutoKey:
    """The unique key of a task started without ``key=``."""

    __slots__ = ("id",)

    def __init__(self, task_id: int) -> None:
        self.id = task_id

    def __repr__(self) -> str:
        return f"<auto key #{self.id}>"


class Task(Generic[R]):
    """One unit of background work: its status, progress, message and outcome."""

    # Fields written from worker threads are plain attributes on purpose:
    # ``set_progress`` in a tight loop must cost about one attribute write.
    _progress: float
    _message: str | None
    _dirty: bool
    # Rarely set: class-level defaults, so a task that never pauses, times out or gets a
    # listener pays nothing for them (an instance attribute appears when one is set).
    _deadline: float | None = None  # when the timeout passes (the manager's clock)
    _time_left: float | None = None  # of the timeout, while paused
    # Invariant: only while live and no cancel was asked (``pause`` sets it; ``resume``,
    # ``cancel`` and the ending clear it, each writing ``control`` with it).
    _paused: bool = False
    _wakers: list[Callable[[], object]] | None = None  # run once it is no longer paused
    _listeners: list[Callable[[Task[R]], object]] | None = None  # add_done_callback
    _when_yield: Callable[[Task[R], Any], object] | None = None  # a generator task's values (``_stream``)
    _parent: Any = None  # the composite task this one works for, hidden (``_composite``)
    _ahead: bool = False  # a batch's chunk that may be sent ahead to a worker busy with the same batch
    _dependents: set[Any] | None = None  # composite tasks waiting on this one (under the lifecycle's lock)
    # Invariant: set once, under the lock, together with the final status.
    _ending_queued: bool = False  # its when_done is queued

    def __init__(
        self,
        lifecycle: TaskLifecycle,
        kind: TaskKind,
        call: Call,
        key: Hashable | None,
        when_done: Callable[[Task[R]], object] | None,
        when_event: Callable[[Task[R], str, Any], object] | None,
        timeout: float | None,
        visible: bool = True,
        priority: int = 0,
    ) -> None:
        self.id: int = next(_ids)
        self.key: Hashable = AutoKey(self.id) if key is None else key
        self.kind: TaskKind = kind
        self._name: str | None = key if isinstance(key, str) else None
        self.timeout = timeout
        #: False: the task gets every callback but ``tasks_updated`` does not
        #: list it and overall progress does not count it.
        self.visible = visible
        #: Orders pending work in its pool: higher first, FIFO within a priority.
        self.priority = priority
        self._lifecycle = lifecycle
        self._call: Call | None = call  # None once the task ended (the function is let go)
        self._when_done = when_done
        self._when_event = when_event
        # Invariant: moves only forward (``may_move``), by ``TaskLifecycle.begin`` and
        # ``conclude``, under the lifecycle's lock; never changes once final.
        self._status = TaskStatus.PENDING
        self._result: Any = None
        self._error: BaseException | None = None
        self._progress = 0.0
        self._message = None
        # Invisible: never "changed", so progress calls cost nothing and show nothing.
        self._dirty = not visible
        #: The control byte the task's code reads (``ExecutionContext``): ``RUN``,
        #: ``CANCEL`` or ``PAUSE`` (``_status``).
        # Invariant: control[0] == control_for(_cancel_requested, _paused), written only by
        # the lifecycle under its lock: ``cancel`` writes CANCEL, ``pause`` PAUSE and
        # ``resume``/the ending RUN; cancel wins over pause (a canceled task is never
        # paused), and CANCEL is never taken back. Runners and contexts only read it.
        self.control = bytearray(1)
        # Invariant: False -> True once (``cancel``), only while the status is not final.
        self._cancel_requested = False
        # Invariant: False -> True once (the timeout timer), only while live and not
        # canceled; ``cancel`` follows at once and ``final_status`` reads it.
        self._timed_out = False
        # Invariant: set once, on the main thread, after ``_ending_queued``.
        self._done_delivered = False  # when_done has run: later events are dropped
        self._callbacks: list[Callable[[], object]] = []
        self._questions: set[Question] | None = None  # asks waiting for the main thread
        #: What the runner's ``prepare`` returned for this call (e.g. its pickle).
        self.payload: Any = None
        #: The runner's own note on where the task runs (a thread, a worker, an asyncio task).
        self.handle: Any = None
        self._timer: Timer | None = None  # the timeout timer, canceled when the task ends

    @property
    def name(self) -> str:
        """The key if it is a string, else the function's name (for UIs and logs)."""
        name = self._name
        if name is None:
            name = self._name = func_name(self._call[0]) if self._call is not None else f"task #{self.id}"
        return name

    @property
    def call(self) -> Call:
        """``(func, args, kwargs)`` as given; runners run ``func(context, *args, **kwargs)``."""
        if self._call is None:
            from ._errors import InvalidStateError  # (not at import: a first run_process imports this module)

            raise InvalidStateError(f"task {self.name!r} has ended: its function was let go")
        return self._call

    # -- reading state ---------------------------------------------------
    def get_status(self) -> TaskStatus:
        return self._status

    def get_progress(self) -> float:
        """Fraction done, in [0, 1]."""
        return self._progress

    def get_message(self) -> str | None:
        return self._message

    def is_final(self) -> bool:
        return self._status.is_final

    def is_running(self) -> bool:
        return self._status is TaskStatus.RUNNING

    def is_cancelled(self) -> bool:
        """True once cancellation was asked for (or the task ended canceled)."""
        return self._cancel_requested or self._status is TaskStatus.CANCELED

    def is_paused(self) -> bool:
        """True while paused; the status stays ``pending`` or ``running``."""
        return self._paused

    def result(self) -> R:
        """The return value; re-raises the failure; raises on cancel or if not final."""
        status = self._status
        if status is TaskStatus.COMPLETED:
            return cast(R, self._result)
        if status is TaskStatus.FAILED:
            assert self._error is not None
            raise self._error
        if status is TaskStatus.CANCELED:
            from ._cancelled import CancelledError

            raise CancelledError(f"task {self.name!r} was canceled")
        from ._errors import InvalidStateError

        raise InvalidStateError(
            f"task {self.name!r} is {status}; result() needs a final task "
            "(use when_done=, task.wait() from another thread, or 'await task')"
        )

    def exception(self) -> BaseException | None:
        """The failure's exception, or ``None`` (also while not final)."""
        return self._error if self._status is TaskStatus.FAILED else None

    @property
    def _task_exception(self) -> BaseException | None:
        """Alias of ``exception()``: the README's first examples read ``task._task_exception``."""
        return self.exception()

    # -- acting on it -----------------------------------------------------
    def cancel(self) -> bool:
        """Ask the task to stop; True if it was live. Returns at once."""
        return self._lifecycle.cancel(self)

    def pause(self) -> bool:
        """Pause the task; True if it is paused now (False: it ended or is being canceled).

        A process task stops at once (its worker is suspended); a thread task at
        its next context call (``is_cancelled``, ``set_progress``,
        ``set_message``, ``send_event``), which waits until it is resumed or
        canceled; a coroutine at its next ``await context.checkpoint()``. A
        pending task does not start until it is resumed. Paused time does not
        count towards ``timeout=``.
        """
        return self._lifecycle.pause(self)

    def resume(self) -> bool:
        """Let a paused task go on; True if it was paused."""
        return self._lifecycle.resume(self)

    def add_done_callback(self, fn: Callable[[Task[R]], object]) -> None:
        """Call ``fn(task)`` on the main thread once the task has ended.

        Any number of them, in the order added, right after ``when_done``; a
        callback that raises is logged. If the task's ending was already
        delivered, ``fn`` runs at once, in the calling thread.
        """
        if not callable(fn):
            raise TypeError(f"add_done_callback needs a callable, got {fn!r}")
        lock = self._lifecycle.lock
        with lock:
            queued = not self._done_delivered
            if queued:
                if self._listeners is None:
                    self._listeners = []
                self._listeners.append(fn)
        if queued:
            if not self._done_delivered:
                return  # the ending runs it
            # Delivered meanwhile (the delivery looks at the listeners without the lock
            # when there are none): run it here unless the delivery took it.
            with lock:
                listeners = self._listeners or []
                mine = next((i for i, other in enumerate(listeners) if other is fn), None)
                if mine is None:
                    return
                del listeners[mine]
        fn(self)

    @overload
    def then(
        self,
        fn: Callable[[ExecutionContext, R, *Ts], Awaitable[S]],
        /,
        *args: *Ts,
        kind: str | None = None,
        **kwargs: Any,
    ) -> Task[S]: ...
    @overload
    def then(
        self, fn: Callable[[ExecutionContext, R, *Ts], S], /, *args: *Ts, kind: str | None = None, **kwargs: Any
    ) -> Task[S]: ...
    def then(self, fn: Callable[..., Any], /, *args: object, kind: str | None = None, **kwargs: object) -> Task[Any]:
        """A task that runs ``fn(context, this task's result, *args, **kwargs)`` once this one completed.

        It runs in ``kind`` (default: this task's own). If this task fails, it
        ends ``failed`` without running (``tasker.UpstreamError``, the failure as
        its ``__cause__``); if this task is canceled, it ends ``canceled``.
        Reserved keyword arguments (``key``, ``when_done``, ``when_event``,
        ``when_yield``, ``timeout`` — of its step —, ``visible``, ``priority``)
        configure it. Canceling it cancels this task too, unless another task
        waits on it. From any thread; on a task that already ended it starts at once.
        """
        return self._lifecycle.then(self, fn, args, kind, kwargs)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the task is final (not from the main thread); True if it is."""
        done = threading.Event()
        self._add_done_callback(done.set)
        return done.wait(timeout)

    def __await__(self) -> Generator[Any, None, R]:
        if not self._status.is_final:
            import asyncio

            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()

            def wake() -> None:
                loop.call_soon_threadsafe(_resolve, future)

            self._add_done_callback(wake)
            yield from future.__await__()
        return self.result()

    def _add_done_callback(self, fn: Callable[[], object]) -> None:
        """Run ``fn()`` (in any thread, internal) once the task is final; see ``add_done_callback``."""
        with self._lifecycle.lock:
            if not self._status.is_final:
                self._callbacks.append(fn)
                return
        fn()

    # -- progress cell (written by ExecutionContext) ------------------------
    def _changed(self) -> None:
        if self.control[0] == PAUSE:
            self._pause_point()
        self._dirty = True
        if self.visible:
            self._lifecycle.changed(self)
        elif self._parent is not None:
            self._parent._part_changed(self)

    def _pause_point(self) -> bool:
        """The context found the control byte non-zero: wait while paused; True if canceled.

        Never waits on a thread that must not block (tasker's asyncio loop:
        coroutines wait in ``checkpoint``).
        """
        flag = self.control
        if flag[0] == PAUSE and self._lifecycle.may_wait():
            while flag[0] == PAUSE:
                woken = threading.Event()
                if self._lifecycle.add_waker(self, woken.set):
                    woken.wait()
        return flag[0] == CANCEL

    async def _checkpoint(self) -> None:
        """``await context.checkpoint()``: wait while paused without blocking the loop."""
        import asyncio

        flag = self.control
        if flag[0] == PAUSE:
            loop = asyncio.get_running_loop()
            while flag[0] == PAUSE:
                woken: asyncio.Future[None] = loop.create_future()
                if self._lifecycle.add_waker(self, functools.partial(loop.call_soon_threadsafe, _resolve, woken)):
                    await woken
        if flag[0] == CANCEL:
            await asyncio.sleep(0)  # the asyncio cancellation on its way arrives here

    def _send_event(self, name: str, data: Any) -> None:
        if self.control[0] == PAUSE:
            self._pause_point()
        self._lifecycle.post_event(self, name, data)

    def _flush(self) -> None:
        self._lifecycle.flush()

    def _ask(self, name: str, data: Any, timeout: float | None) -> Any:
        from ._ask import ask_blocking

        if self.control[0] == PAUSE:
            self._pause_point()
        return ask_blocking(self._lifecycle, self, name, data, timeout)

    async def _ask_async(self, name: str, data: Any, timeout: float | None) -> Any:
        from ._ask import ask_async

        return await ask_async(self._lifecycle, self, name, data, timeout)

    def __repr__(self) -> str:
        return (
            f"<Task #{self.id} {self.kind} {self.name!r} {self._status}"
            f" {self._progress:.0%}>"
        )


def _resolve(future: Any) -> None:
    if not future.done():
        future.set_result(None)


def func_name(func: Callable[..., Any]) -> str:
    inner = getattr(func, "func", func)  # functools.partial
    return str(getattr(inner, "__qualname__", None) or type(inner).__name__)


from ._public import public  # noqa: E402

public(Task)
