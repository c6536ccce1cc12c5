"""Worker processes of a frozen application (PyInstaller onedir and onefile).

In a bundle ``sys.executable`` is the application itself: it runs the
application's entry script and ignores ``-c``, so the usual worker command line
(``python -S -c "from tasker.runners.process._child import main; main()" args…``) would
start the whole application again, which would start workers of its own.
Instead a frozen worker is started the way ``multiprocessing`` starts one::

    parent (the app)                                worker (the app's executable again)
    ────────────────                                ───────────────────────────────────
    pipe ◄── pickle({}) + pickle(Boot(args)), closed
    exe --multiprocessing-fork pipe_handle=N ─────► entry script, up to its first line:
                                                    multiprocessing.freeze_support()
                                                      └─ spawn.spawn_main(pipe_handle=N)
                                                         prepare({}): nothing, __main__ is not re-imported
                                                         Boot._bootstrap(sentinel) → _child.main(args)
                                                         sys.exit(0): the rest of the script never runs

``freeze_support`` here is PyInstaller's (its runtime hook
``pyi_rth_multiprocessing`` replaces ``multiprocessing.freeze_support``, which
in CPython itself only acts on Windows). It reads ``name=value`` pairs after
``--multiprocessing-fork`` and calls ``spawn_main(pipe_handle=N)``; on POSIX that
sets the resource tracker's fd to ``None`` (tasker uses none), unpickles a
preparation dict and an object, and ``sys.exit``\\ s with what that object's
``_bootstrap(parent_sentinel)`` returns. The preparation dict is empty: no
``init_main_from_*`` key, so the application's ``__main__`` is not run again.
``args`` are the worker's usual arguments (the platform's name and its handoffs,
see ``tasker._platform._base``); the pipe is the platform's (``frozen_boot``).

The environment is passed through unchanged, so a onefile worker inherits the
bootloader's ``_PYI_ARCHIVE_FILE``, ``_PYI_APPLICATION_HOME_DIR`` and
``_PYI_PARENT_PROCESS_LEVEL``: the bootloader then treats it as a subprocess of
the running application and reuses the unpacked directory instead of unpacking
the archive again.

Safety net: the worker's environment carries ``MARKER`` until ``Boot`` runs
(which removes it, so the task's own subprocesses never see it). A process that
still carries it when it is about to start tasker workers is a worker whose
application never called ``freeze_support()`` and is running the application
instead: it tells the parent (whose tasks then fail with an error naming the
fix), prints the same, and exits — it never starts workers, so processes cannot
multiply.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..._platform._base import Handoff, Platform

MARKER = "TASKER_FROZEN_WORKER"
EXIT_NOT_BOOTED = 71

NOT_BOOTED = (
    "a tasker worker process of this frozen application ran the application itself: "
    "its entry point must call multiprocessing.freeze_support() before anything else "
    "(`import multiprocessing` and `if __name__ == '__main__': multiprocessing.freeze_support()` "
    "at the top of the main script)"
)


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


class Boot:
    """What ``multiprocessing.spawn.spawn_main`` unpickles and starts in a frozen worker."""

    def __init__(self, args: tuple[str, ...]) -> None:
        self.args = args

    def _bootstrap(self, parent_sentinel: int | None = None) -> int:
        if isinstance(parent_sentinel, int):  # a dup of the spent pipe
            try:
                os.close(parent_sentinel)
            except OSError:
                pass
        os.environ.pop(MARKER, None)
        from ._child import main

        main(self.args)
        return 0


def command(platform: Platform, args: tuple[str, ...]) -> tuple[list[str], Handoff]:
    """(argv, the boot pipe's handoff: its handles go to the worker; the caller closes it)."""
    import pickle

    data = pickle.dumps({}) + pickle.dumps(Boot(args))
    extra, pipe = platform.frozen_boot(data)
    return [sys.executable, "--multiprocessing-fork", *extra], pipe


def refuse_if_not_booted() -> None:
    """Called before this process starts tasker workers: never from a worker that runs the app."""
    if MARKER not in os.environ:
        return
    told = _tell_parent(NOT_BOOTED)
    sys.stderr.write(f"tasker: {NOT_BOOTED}\n")
    sys.stderr.flush()
    if told:
        os._exit(EXIT_NOT_BOOTED)
    raise RuntimeError(NOT_BOOTED)


def _tell_parent(message: str) -> bool:
    """Send the parent an initialisation failure through the channel this worker never used."""
    try:
        pipe = _pipe_handle(sys.argv)
        if pipe is None:
            return False
        import pickle

        with os.fdopen(pipe, "rb", closefd=True) as source:
            pickle.load(source)  # the preparation dict
            boot: Any = pickle.load(source)
        from ... import _platform

        channel = _platform.named(boot.args[0]).worker_channel(boot.args[1])
        from ..._core._errors import TaskError
        from .._remote import _payload
        from .._remote._codec import describe_error
        from ._messages import INIT_FAILED

        data, fds = _payload.dumps((INIT_FAILED, 0, describe_error(TaskError(message)), message))
        channel.send(data, fds)
        return True
    except Exception:
        return False


def _pipe_handle(argv: list[str]) -> int | None:
    if len(argv) < 3 or argv[1] != "--multiprocessing-fork":
        return None
    for arg in argv[2:]:
        name, _, value = arg.partition("=")
        if name == "pipe_handle" and value.isdigit():
            return int(value)
    return None
