"""What travels between the parent and its workers: pickles plus shared memory.

Buffers of 1 MiB and more (NumPy arrays, ``bytes``, ``bytearray``) travel out
of band (pickle protocol 5) in anonymous memory files (``memfd``) whose
descriptors ride along with the message: nothing is named, so nothing can leak —
the memory is freed when the last mapping or descriptor of it closes, whatever
happens to either process. Kept free of socket code so that the first
``run_process`` call imports little (see ``_processes``).
"""

from __future__ import annotations

import io
import mmap
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pickle
else:
    try:  # the C accelerator alone: importing pickle.py costs the first call ~1 ms
        import _pickle as pickle
    except ImportError:  # pragma: no cover - not CPython
        import pickle

BIG = 1 << 20  # payloads at least this large go through shared memory
_SHM = hasattr(os, "memfd_create") and sys.platform.startswith("linux")


def _bytes_from(buffer: Any) -> bytes:
    return bytes(buffer)


class _BigBytes:
    """Mixin: large ``bytes`` go out of band too (pickle keeps them in band)."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is bytes and len(obj) >= BIG and _SHM:
            return _bytes_from, (pickle.PickleBuffer(obj),)
        parent = getattr(super(), "reducer_override", None)
        return NotImplemented if parent is None else parent(obj)


class _Pickler(_BigBytes, pickle.Pickler):
    pass


def _cloud_pickler() -> type[pickle.Pickler]:
    import cloudpickle

    class CloudPickler(_BigBytes, cloudpickle.Pickler):  # type: ignore[misc]
        pass

    return CloudPickler


_cloud: type[pickle.Pickler] | None = None


def dumps(obj: Any, by_value: bool = False) -> tuple[bytes, list[int]]:
    """Pickle ``obj``; big buffers go to memory files whose fds are returned.

    ``by_value`` uses cloudpickle, which ships lambdas, nested functions and
    anything defined in ``__main__`` by value (a worker never imports the
    application's main script).
    """
    global _cloud
    big: list[pickle.PickleBuffer] = []

    def keep_in_band(buffer: pickle.PickleBuffer) -> bool:
        if buffer.raw().nbytes < BIG or not _SHM:
            return True
        big.append(buffer)
        return False

    out = io.BytesIO()
    if by_value:
        if _cloud is None:
            _cloud = _cloud_pickler()
        _cloud(out, protocol=5, buffer_callback=keep_in_band).dump(obj)
    else:
        _Pickler(out, protocol=5, buffer_callback=keep_in_band).dump(obj)
    fds = [_to_memfd(buffer) for buffer in big]
    return out.getvalue(), fds


def dumps_portable(obj: Any) -> tuple[bytes, list[int]]:
    """Plain pickle when it is enough, cloudpickle when ``__main__`` or a lambda is in it."""
    if "cloudpickle" not in sys.modules:
        try:
            data, fds = dumps(obj)
        except Exception:
            pass
        else:
            if b"__main__" not in data:
                return data, fds
            close_fds(fds)
    return dumps(obj, by_value=True)


def loads(data: bytes | bytearray | memoryview, fds: list[int]) -> Any:
    """Unpickle a message, mapping its out-of-band buffers (and closing the fds)."""
    if not fds:
        return pickle.loads(data)
    buffers = []
    try:
        for fd in fds:
            size = os.fstat(fd).st_size
            buffers.append(mmap.mmap(fd, size, prot=mmap.PROT_READ | mmap.PROT_WRITE) if size else b"")
    finally:
        close_fds(fds)
    return pickle.loads(data, buffers=buffers)


def close_fds(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _to_memfd(buffer: pickle.PickleBuffer) -> int:
    raw = buffer.raw()
    fd = os.memfd_create("tasker-payload")
    try:
        os.ftruncate(fd, raw.nbytes)
        if raw.nbytes:
            with mmap.mmap(fd, raw.nbytes) as target:
                target[:] = raw
    except BaseException:
        os.close(fd)
        raise
    return fd


def anonymous_file(size: int) -> int:
    """An fd of ``size`` zeroed bytes, shared by every process that maps it."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("tasker-flags")
    else:  # pragma: no cover - non-Linux
        import tempfile

        with tempfile.TemporaryFile() as handle:
            fd = os.dup(handle.fileno())
    os.ftruncate(fd, size)
    return fd
