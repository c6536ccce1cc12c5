"""The worker process: receives tasks, runs them, reports back.

Started as a fresh interpreter (``python -S -c ...``) that imports only this
module, never the application's ``__main__`` (in a frozen application: the
application's executable, booted through ``multiprocessing.freeze_support()``,
see ``_frozen``). Three threads:

* main: ``recv task -> run func(context, ...) -> send result``;
* reporter: sends the running task's progress/message, at most every
  ``interval`` s, only when they changed (``set_progress`` itself only writes
  an attribute);
* and the parent-death watch (``Platform.watch_parent``: on Linux a thread on
  the lifeline pipe, which the kernel backs by SIGKILLing the worker's group;
  elsewhere a watcher process or the Job Object): when the parent dies, the
  worker and the processes its tasks started die too.

Cancellation is a byte of shared memory the parent sets: no round trip. The
channel to the parent (sending, reading, asking) is ``_link.Link`` over the
platform's channel (``tasker._platform``); every message is listed in ``_messages``.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # (signal.py builds its enums: slower boot)
import os
import sys
import threading
import warnings

from ... import _platform
from ..._core._context import ExecutionContext
from ..._core._errors import TaskError, error_text
from .._remote import _payload
from .._remote._codec import describe_error, warning_fields
from ._link import Cell, Link
from ._messages import FAILURE, INIT_FAILED, READY, RESULT, STOP, TASK_HEADER, WARNING, read_task_header

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TextIO

    from ..._platform._base import Platform


def main(args: tuple[str, ...] | list[str] | None = None) -> None:
    """Serve tasks until told to stop.

    ``args`` (else argv's): the platform's name, then the handoffs of the channel,
    the control memory and the lifeline (``tasker._platform._base``).
    """
    if args is None:
        args = sys.argv[1:5]
    name, channel_arg, control_arg, lifeline_arg = args
    platform = _platform.adopt(name)  # (what _payload and the rest use in this process)
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)  # Ctrl-C is the application's business
    # First, before any thread: the watch may fork (posix). Each handle is made
    # non-inheritable: a process a task starts (os.system, Popen with close_fds=False)
    # must not keep the parent's channel open.
    platform.watch_parent(lifeline_arg)
    import mmap

    flags = platform.worker_control(control_arg, mmap.PAGESIZE)
    channel = platform.worker_channel(channel_arg)
    try:
        data, fds = channel.recv()
    except EOFError:  # the application died before it sent the start-up data
        return
    init = _payload.loads(data, fds)
    link = Link(channel, init["interval"])
    _setup(init, link, platform)
    link.reporter.start()
    if not _initialize(init, link):
        return
    _preload(init.get("preload", ()))
    if init.get("boot_idle"):
        _leave_idle_boot(platform)
    platform.serving()  # from now on this worker's exit takes the processes its tasks start
    link.send((READY, 0, os.getpid()))
    _serve(link, flags, init["nice"])


def _setup(init: dict[str, Any], link: Link, platform: Platform) -> None:
    sys.path[:] = init["sys_path"]
    threading.current_thread().name = init["name"]
    # The records' processName is set as they are forwarded: importing multiprocessing
    # here only to name the process would cost every worker's boot a few milliseconds.
    forward_logging(link, init["name"], init["log_level"])
    # Every warning once per location; the application's filters decide (``_core._warn``).
    warnings.simplefilter("default")
    warnings.showwarning = _WarningForwarder(link)
    if init.get("rss"):  # worker_max_memory: each result carries the worker's RSS (no parent read)
        link.own_rss = platform.own_rss()


def _leave_idle_boot(platform: Platform) -> None:
    """The parent booted this worker at idle priority (prestart): every thread back to normal.

    The parent only does so where this is permitted (``_worker.idle_boot_supported``).
    """
    for thread in threading.enumerate():
        platform.set_idle(thread.native_id or 0, idle=False)


def _preload(modules: Any) -> None:
    """Import the modules of the functions the pool has run so far (before READY).

    A spare worker is then warm in full: the first task it takes pays no import
    of the application's modules. A module that fails here is left to fail (or
    not) when a task needs it.
    """
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException:
            continue


def _initialize(init: dict[str, Any], link: Link) -> bool:
    initializer = init["initializer"]
    if initializer is None:
        return True
    try:
        func, args = _payload.loads(*initializer)
        func(*args)
    except BaseException as error:
        link.send((INIT_FAILED, 0, describe_error(error), None))
        return False
    return True


def _serve(link: Link, flags: Any, nice: int = 0) -> None:
    """Run the tasks the parent sends, one at a time, until STOP or EOF.

    ``nice`` (``worker_nice``) is applied just before the first task's function
    runs: the boot, the initializer and the imports unpickling the task needs run
    at the normal priority (under load, at nice 10 they would crawl), the
    application's work below the UI. On Linux it applies to this thread (and the
    threads and processes the task starts), not to the reporter thread; on Windows
    to the worker's priority class (the whole worker and the processes it starts).
    """
    slots = (memoryview(flags)[0:1], memoryview(flags)[1:2])  # one cancel flag per task in flight
    while True:
        try:
            data, fds = link.next_message()
        except (EOFError, OSError):
            return
        if data[:1] == STOP:
            return
        slot, task_id = read_task_header(data)
        flag = slots[slot]
        if flag[0]:  # sent ahead, then canceled before it could start: skip it
            _payload.close_fds(fds)
            link.send((RESULT, task_id, None, 0.0, None, 0))
            continue
        cell = Cell(link, task_id)
        link.cell = cell
        try:
            func, args, kwargs = _payload.loads(memoryview(data)[TASK_HEADER.size :], fds)
            if nice:
                nice = _lower_priority(nice)
            result = cell.outcome(func(ExecutionContext(cell, flag), *args, **kwargs), flag)
        except BaseException as error:
            outcome: tuple[Any, ...] = (FAILURE, task_id, describe_error(error))
        else:
            outcome = (RESULT, task_id, result)
        _finish(link, cell, outcome)


def _lower_priority(nice: int) -> int:
    """Lower this thread's CPU priority by ``nice`` (once: it cannot be raised back); 0 from now on."""
    if hasattr(os, "nice"):
        os.nice(nice)  # below the UI thread: a desktop stays smooth while workers compute
    elif sys.platform == "win32":  # no nice: the worker's priority class (BELOW_NORMAL, IDLE)
        from ..._platform._windows import lower_priority

        lower_priority(nice)
    return 0


def _finish(link: Link, cell: Cell, outcome: tuple[Any, ...]) -> None:
    with link.lock:
        cell.live = False
        link.cell = None
    rss = link.own_rss() if link.own_rss is not None else 0
    message = (*outcome, cell._progress, cell._message, rss)
    try:
        link.send(message)
    except OSError:
        raise
    except BaseException as error:  # the result cannot be pickled (its __reduce__ may raise anything)
        kind = type(outcome[2]).__name__
        problem = TaskError(
            f"the task's result of type {kind} cannot be sent back from the worker "
            f"process ({error_text(error)}); return picklable data "
            "(plain values, NumPy arrays, bytes) or use run_thread()"
        )
        link.send((FAILURE, outcome[1], describe_error(problem), cell._progress, cell._message, rss))




def forward_logging(link: Link, name: str, level: int) -> None:
    """The worker's log records go to the parent (``_forward``), from the first import of ``logging``.

    The boot does not import ``logging`` itself: if nothing has yet, a one-shot import
    hook installs the handler as soon as something does, right after ``logging`` has run
    and before the importing code goes on (so no record is lost).
    """

    def install(_module: object) -> None:
        from ._forward import install

        install(link, name, level)

    if "logging" in sys.modules:
        install(sys.modules["logging"])
    else:
        sys.meta_path.insert(0, AfterImport("logging", install))


class AfterImport:
    """A meta path finder: ``then(module)`` runs right after module ``name`` first executes (once).

    It finds the module through the finders after it and wraps only that spec's
    loader. It stays in ``sys.meta_path``, spent: removing it there while another
    thread's import walks the list could make that import skip a finder. Its calls
    for ``name`` come one thread at a time (the import system holds that module's
    lock), and once spent it answers every name with None at once.
    """

    def __init__(self, name: str, then: Callable[[object], None]) -> None:
        self._name = name
        # Invariant: None once spent (a spec for ``name`` was wrapped): it never fires again.
        self._then: Callable[[object], None] | None = then

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        then = self._then
        if then is None or fullname != self._name:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None) if finder is not self else None
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None  # not found: the import fails as it would have (and the hook stays armed)
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            self._then = None
            spec.loader = _ThenLoader(spec.loader, then)
        return spec

    @property
    def spent(self) -> bool:
        return self._then is None


class _ThenLoader:
    """A module's own loader, then ``then(module)`` (``AfterImport``)."""

    def __init__(self, loader: Any, then: Callable[[object], None]) -> None:
        self._loader = loader
        self._then = then

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        self._then(module)

    def __getattr__(self, name: str) -> Any:  # (get_source, is_package, ...: the loader's own)
        return getattr(self._loader, name)


class _WarningForwarder:
    """``warnings.showwarning`` in the worker: the warning goes to the parent."""

    def __init__(self, link: Link) -> None:
        self._link = link

    def __call__(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        cell = self._link.cell
        try:
            self._link.send(
                (WARNING, cell._id if cell is not None else 0, *warning_fields(message, category, filename, lineno))
            )
        except OSError:
            pass  # the parent is gone


if __name__ == "__main__":  # pragma: no cover
    main()
