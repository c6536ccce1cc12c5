"""Messages between the parent and its worker processes.

Framing on a Unix stream socket: an 8+4 byte header (body length, number of
file descriptors), the descriptors themselves (``SCM_RIGHTS``, attached to the
header), then the pickled body. Buffers of 1 MiB and more (NumPy arrays,
``bytes``, ``bytearray``) travel out of band (pickle protocol 5) in anonymous
memory files (``memfd``) whose descriptors ride along: nothing is named, so
nothing can leak — the memory is freed when the last mapping or descriptor of
it closes, whatever happens to either process.
"""

from __future__ import annotations

import array
import io
import mmap
import os
import pickle
import socket
import struct
import sys
from typing import Any

HEADER = struct.Struct("<QI")
MAX_FDS = 64
BIG = 1 << 20  # payloads at least this large go through shared memory
_SHM = hasattr(socket, "send_fds") and hasattr(os, "memfd_create")


# -- framing ---------------------------------------------------------------------
def send(sock: socket.socket, body: bytes | bytearray | memoryview, fds: list[int] | tuple[int, ...] = ()) -> None:
    header = HEADER.pack(len(body), len(fds))
    if fds:
        sock.sendmsg([header], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        sock.sendall(body)
    elif len(body) < 65536:
        sock.sendall(header + body)
    else:
        sock.sendall(header)
        sock.sendall(body)


def recv(sock: socket.socket) -> tuple[bytearray, list[int]]:
    """One message; raises ``EOFError`` when the peer is gone."""
    data, ancdata, _flags, _addr = sock.recvmsg(HEADER.size, socket.CMSG_SPACE(MAX_FDS * 4))
    if not data:
        raise EOFError("peer closed the connection")
    fds = _fds_from(ancdata)
    if len(data) < HEADER.size:
        data += _recv_exact(sock, HEADER.size - len(data))
    size, _nfds = HEADER.unpack(data)
    return _recv_exact(sock, size), fds


def _recv_exact(sock: socket.socket, size: int) -> bytearray:
    buf = bytearray(size)
    view = memoryview(buf)
    pos = 0
    while pos < size:
        got = sock.recv_into(view[pos:], size - pos)
        if not got:
            raise EOFError("peer closed the connection mid-message")
        pos += got
    return buf


def _fds_from(ancdata: list[tuple[int, int, bytes]]) -> list[int]:
    fds: list[int] = []
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            ints = array.array("i")
            ints.frombytes(payload[: len(payload) - (len(payload) % ints.itemsize)])
            fds.extend(ints)
    return fds


# -- pickling -----------------------------------------------------------------------
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
