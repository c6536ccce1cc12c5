"""What travels between the parent and its workers: pickles plus shared memory.

Buffers of 1 MiB and more (NumPy arrays, ``bytes``, ``bytearray``) travel out
of band (pickle protocol 5) in the platform's private shared-memory segments
(``Platform.payload_segment``: a ``memfd`` on Linux, an unlinked ``shm_open``
segment on other POSIX systems) whose handles ride along with the message:
nothing stays named, so nothing can leak — the memory is freed when the last
mapping or handle of it closes, whatever happens to either process. Kept free of
socket code so that the first ``run_process`` call imports little.
"""

from __future__ import annotations

import io
import sys
import threading
from typing import TYPE_CHECKING, Any

from ... import _platform

if TYPE_CHECKING:
    import pickle
else:
    try:  # the C accelerator alone: importing pickle.py costs the first call ~1 ms
        import _pickle as pickle
    except ImportError:  # pragma: no cover - not CPython
        import pickle

#: ``pickle.loads`` itself: no waiting for imports (``loads`` waits, see ``_unpickle_again``).
pickle_loads = pickle.loads

BIG = 1 << 20  # payloads at least this large go through shared memory
#: Attempts to unpickle a message whose classes live in a package another thread
#: is importing at the same moment (see ``_unpickle_again``).
UNPICKLE_ATTEMPTS = 3


def _bytes_from(buffer: Any) -> bytes:
    return bytes(buffer)


class _BigBytes:
    """Pickles as a protocol-5 buffer, so large ``bytes`` can go out of band."""

    __slots__ = ("data",)

    def __init__(self, data: bytes | bytearray) -> None:
        self.data = data

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        rebuild = _bytes_from if type(self.data) is bytes else bytearray
        return rebuild, (pickle.PickleBuffer(self.data),)


_SCAN_ITEMS = 16  # containers longer than this are not searched for big bytes


def _mark_big_bytes(obj: Any, depth: int = 3) -> Any:
    """Wrap large ``bytes``/``bytearray`` near the top of ``obj`` (pickle would keep them in band).

    Only the first ``depth`` levels of small containers are searched (a message,
    a call's arguments, a result tuple): bytes elsewhere still work, in band.
    The common case (nothing to wrap) allocates nothing.
    """
    kind = type(obj)
    if kind is bytes or kind is bytearray:
        return _BigBytes(obj) if len(obj) >= BIG else obj
    if depth == 0 or (kind is not tuple and kind is not list and kind is not dict) or len(obj) > _SCAN_ITEMS:
        return obj
    if kind is dict:
        for key, value in obj.items():
            new = _mark_big_bytes(value, depth - 1)
            if new is not value:
                return {k: (new if k == key else _mark_big_bytes(v, depth - 1)) for k, v in obj.items()}
        return obj
    for index, item in enumerate(obj):
        new = _mark_big_bytes(item, depth - 1)
        if new is not item:
            rest = [_mark_big_bytes(other, depth - 1) for other in obj[index + 1 :]]
            return kind([*obj[:index], new, *rest])
    return obj


def _cloud_pickler() -> type[pickle.Pickler]:
    import cloudpickle

    return cloudpickle.Pickler  # type: ignore[no-any-return]


_cloud: type[pickle.Pickler] | None = None


def dumps(obj: Any, by_value: bool = False, in_band: bool = False) -> tuple[bytes, list[int]]:
    """Pickle ``obj``; big buffers go to memory files whose fds are returned.

    ``by_value`` uses cloudpickle, which ships lambdas, nested functions and
    anything defined in ``__main__`` by value (a worker never imports the
    application's main script). ``in_band``: every buffer stays in the bytes
    (for another machine: no fds).
    """
    global _cloud
    big: list[pickle.PickleBuffer] = []
    shm = not in_band and _platform.current().shares_payloads

    def keep_in_band(buffer: pickle.PickleBuffer) -> bool:
        if buffer.raw().nbytes < BIG or not shm:
            return True
        big.append(buffer)
        return False

    if shm:
        obj = _mark_big_bytes(obj)
    if by_value:
        if _cloud is None:
            _cloud = _cloud_pickler()
        out = io.BytesIO()
        _cloud(out, protocol=5, buffer_callback=keep_in_band).dump(obj)
        data = out.getvalue()
    else:
        data = pickle.dumps(obj, protocol=5, buffer_callback=keep_in_band)
    if not big:
        return data, []
    segment = _platform.current().payload_segment
    fds: list[int] = []
    try:
        for buffer in big:
            fds.append(segment(buffer.raw()))
    except BaseException:
        close_fds(fds)
        raise
    return data, fds


def dumps_portable(obj: Any, in_band: bool = False) -> tuple[bytes, list[int]]:
    """Plain pickle when it is enough, cloudpickle when ``__main__`` or a lambda is in it.

    Plain pickle is tried first (it is several times faster); what it cannot
    pickle (lambdas, nested functions) or pickles by a reference the other
    process cannot resolve (anything from ``__main__``) goes by value.
    """
    try:
        data, fds = dumps(obj, in_band=in_band)
    except Exception:
        pass
    else:
        if b"__main__" not in data:
            return data, fds
        close_fds(fds)
    return dumps(obj, by_value=True, in_band=in_band)


def loads(data: bytes | bytearray | memoryview, fds: list[int]) -> Any:
    """Unpickle a message, mapping its out-of-band buffers (and closing the fds)."""
    buffers: list[Any] = []
    if fds:
        try:
            mapped = _platform.current().map_segment
            for fd in fds:
                buffers.append(mapped(fd))
        finally:
            close_fds(fds)
    with _LOADING:
        try:  # (no buffers: no keyword to parse, on every message)
            return pickle.loads(data, buffers=buffers) if buffers else pickle.loads(data)
        except ImportError as error:
            return _unpickle_again(data, buffers, error)


#: Held while the app unpickles a message. Unpickling may import the module a value's
#: class lives in (NumPy for an array); two of tasker's threads (the process reader, the
#: cluster forwarder) importing the same package at once can make the import system hand
#: one of them the package half-initialised ("partially initialized module"), and the
#: task would fail for it. Invariant: tasker's threads unpickle one at a time; a foreign
#: thread's import is waited for by ``_unpickle_again``. (Re-entrant: rebuilding an error
#: unpickles inside an unpickle.)
_LOADING = threading.RLock()


def _unpickle_again(data: bytes | bytearray | memoryview, buffers: Any, error: ImportError) -> Any:
    """``pickle.loads`` again after waiting when another thread was importing a package it needs.

    A result's class may live in a package (NumPy) that another thread of the
    application imports at the same moment. The import system then lets this
    thread see the package half-initialised ("cannot import name ... from
    partially initialized module"). Importing the top-level package first
    waits for the other thread's import to finish; then the pickle loads.
    ``UNPICKLE_ATTEMPTS`` in all, the first one included; then the last error is raised.
    """
    for _ in range(UNPICKLE_ATTEMPTS - 1):
        if not _await_import(error):
            raise error
        try:
            return pickle.loads(data, buffers=buffers)
        except ImportError as again:
            error = again
    raise error


def _await_import(error: ImportError) -> bool:
    """Wait until the package ``error`` names is imported; False if there is none to wait for."""
    top = (error.name or "").partition(".")[0]
    if isinstance(error, ModuleNotFoundError) or top not in sys.modules:
        return False
    import logging

    logging.getLogger("tasker").debug(
        "tasker: unpickling a message raised %s: %s; waiting for package %r to be imported, then trying again",
        type(error).__name__, error, top,
    )
    __import__(top)  # blocks on the package's import lock while another thread imports it
    return True


class Call:
    """A pickled call kept until dispatch; its shared-memory fds close with it."""

    __slots__ = ("data", "fds")

    def __init__(self, data: bytes, fds: list[int]) -> None:
        self.data = data
        self.fds = fds

    def close(self) -> None:
        fds, self.fds = self.fds, []
        close_fds(fds)

    def __del__(self) -> None:  # a task canceled while queued never dispatches
        self.close()


def close_fds(fds: list[int]) -> None:
    """Close payload handles (this process's copies)."""
    if fds:
        close = _platform.current().close_handle
        for fd in fds:
            close(fd)


# -- errors about what travels -------------------------------------------------------
def prepare_call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    """The call pickled for a worker (``ProcessRunner.prepare``'s first half, without the pool)."""
    _platform.current()  # (a wrong TASKER_PLATFORM raises here, as itself: not as an unpicklable call)
    try:
        return Call(*dumps_portable((func, args, kwargs)))
    except Exception as error:
        raise explain_unpicklable(func, args, kwargs, error) from error


def explain_unpicklable(
    func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], error: Exception, method: str = "run_process"
) -> TypeError:
    """Name the first part of the call that cannot be sent to a worker (``method``: the caller's name)."""
    parts: list[tuple[str, Any]] = [("the function", func)]
    parts += [(f"argument {i + 1}", value) for i, value in enumerate(args)]
    parts += [(f"keyword argument {name!r}", value) for name, value in kwargs.items()]
    for label, value in parts:
        try:
            close_fds(dumps(value, by_value=True)[1])
        except Exception as part_error:
            return TypeError(
                f"{method}(): {label} ({type(value).__name__}) cannot be sent to a worker "
                f"process: {part_error}. Pass picklable data instead (plain values, paths, "
                "NumPy arrays), or use run_thread() for objects that must stay in this process."
            )
    return TypeError(f"{method}(): the call cannot be sent to a worker process: {error}")
