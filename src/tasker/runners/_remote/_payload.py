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

from ... import _platform

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    import pickle
    from typing import Any
else:
    try:  # the C accelerator alone: importing pickle.py costs the first call ~1 ms
        import _pickle as pickle
    except ImportError:  # pragma: no cover - not CPython
        import pickle

BIG = 1 << 20  # payloads at least this large go through shared memory


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
#: The types ``_mark_big_bytes`` may change or look into: an item of any other type is skipped without a call.
_MAY_HOLD = frozenset((bytes, bytearray, tuple, list, dict))


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
            if type(value) not in _MAY_HOLD:  # (most values: plain ones, no call)
                continue
            new = _mark_big_bytes(value, depth - 1)
            if new is not value:
                return {k: (new if k == key else _mark_big_bytes(v, depth - 1)) for k, v in obj.items()}
        return obj
    for index, item in enumerate(obj):
        if type(item) not in _MAY_HOLD:  # (most items: a message's letter, ids, None)
            continue
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
    """Unpickle a message, mapping its out-of-band buffers (and closing the fds).

    Globals are resolved by ``_Loader.find_class``: a value's module is imported
    package by package, never beside another thread's import of its package. A
    pickle that names no global (``_may_import``) cannot import anything and goes
    straight to ``pickle.loads``.
    """
    buffers: list[Any] = []
    if fds:
        try:
            mapped = _platform.current().map_segment
            for fd in fds:
                buffers.append(mapped(fd))
        finally:
            close_fds(fds)
    if type(data) is not memoryview and data[:2] == b"\x80\x05" and not _may_import(data):
        return pickle.loads(data, buffers=buffers) if buffers else pickle.loads(data)
    # (no keyword when there is no buffer: the constructor parses none, on every task)
    return (_Loader(io.BytesIO(data), buffers=buffers) if buffers else _Loader(io.BytesIO(data))).load()


def _may_import(data: bytes | bytearray) -> bool:
    """Whether a protocol-5 pickle may name a global (false positives are harmless: the slow path).

    At protocol 4 and above, pickle (and cloudpickle, its subclass) refers to every
    class and function with STACK_GLOBAL, or EXT1/2/4 for one registered with
    ``copyreg.add_extension``; never with GLOBAL or INST. Without any of those
    bytes, unpickling resolves no global and imports nothing: the plain
    ``pickle.loads`` is safe (a message of plain values: most of tasker's messages).
    """
    return 0x93 in data or 0x82 in data or 0x83 in data or 0x84 in data  # (ints: no bytes-needle fallback)


class _Loader(pickle.Unpickler):
    """``pickle.Unpickler`` whose globals' modules are imported top-down, waiting for other threads.

    CPython up to 3.13 imports ``a.b`` without waiting for ``a`` when ``a`` is
    already in ``sys.modules``, even while another thread is still running
    ``a/__init__.py`` (``importlib._bootstrap._find_and_load_unlocked`` imports the
    parent only when it is missing). Unpickling a NumPy array while the app's
    thread runs ``import numpy`` then executes ``numpy._core.multiarray`` here,
    holding that module's lock, while the other thread holds ``numpy``'s; each
    soon needs the other's, the import system breaks the deadlock by handing one
    of them a half-initialised module, and that side fails ("cannot import name
    'asanyarray' from partially initialized module 'numpy._core.numeric'"): this
    task, or the app's own import::

        app thread:     import numpy ─ holds "numpy" ─┬─ from ._core import numeric ─▶ waits "…multiarray"
        reader, before: find_class("numpy._core.multiarray") ─ holds "…multiarray" ─▶ waits "numpy"  ✗ cycle
        reader, now:    __import__("numpy") waits, holding no lock ─▶ "numpy._core" ─▶ "…multiarray"

    Importing each dotted prefix in order (``a``, ``a.b``, ``a.b.c``) makes this
    thread wait on the lock of a prefix another thread is initialising while it
    holds no module lock itself, so no cycle can form through it; everything below
    is then imported as a plain top-down import would. A module that is in
    ``sys.modules`` and initialised costs one dictionary look-up (the common case:
    every message after the first of its kind).
    """

    def find_class(self, module: str, name: str) -> Any:
        if "." in module:  # (a top-level module needs nothing: its own import waits for another thread's)
            found = sys.modules.get(module)
            if found is None or getattr(getattr(found, "__spec__", None), "_initializing", False):
                _import_top_down(module)
        return _find_class(self, module, name)  # (the C method itself: no super object per global)


_find_class = pickle.Unpickler.find_class


def _import_top_down(module: str) -> None:
    """Import ``a``, then ``a.b``, then ``a.b.c``: each waits for a thread initialising it.

    Any failure is left to ``find_class``'s own import, which raises what it
    always did (a module only in ``sys.modules``, a name pickle maps).
    """
    parts = module.split(".")
    try:
        for end in range(1, len(parts) + 1):
            __import__(".".join(parts[:end]))
    except Exception:
        return


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
