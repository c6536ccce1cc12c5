"""Messages between the parent and its worker processes.

Framing on a Unix stream socket: an 8+4 byte header (body length, number of
file descriptors), the descriptors themselves (``SCM_RIGHTS``, attached to the
header), then the body (see ``runners._remote._payload`` for what bodies and descriptors hold).
"""

from __future__ import annotations

import _socket as socket  # the C module: socket.py (enums, selectors) costs a worker's boot
import array
import os
import struct

HEADER = struct.Struct("<QI")
MAX_FDS = 64
_CLOEXEC = getattr(socket, "MSG_CMSG_CLOEXEC", 0)


# -- framing ---------------------------------------------------------------------
def send(
    sock: socket.socket,
    body: bytes | bytearray | memoryview,
    fds: list[int] | tuple[int, ...] = (),
    prefix: bytes = b"",
) -> None:
    """Send ``prefix + body`` as one message (one gathering syscall, no copy)."""
    header = HEADER.pack(len(prefix) + len(body), len(fds))
    parts = [header, prefix, body] if prefix else [header, body]
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    sent = sock.sendmsg(parts, anc)
    for part in parts:  # a large body may not fit at once: the rest goes plainly
        size = len(part)
        if sent >= size:
            sent -= size
            continue
        sock.sendall(memoryview(part)[sent:])
        sent = 0


def recv(sock: socket.socket) -> tuple[bytearray, list[int]]:
    """One message; raises ``EOFError`` when the peer is gone."""
    # MSG_CMSG_CLOEXEC: a process spawned meanwhile (os.system, ...) must not inherit them.
    data, ancdata, _flags, _addr = sock.recvmsg(HEADER.size, socket.CMSG_SPACE(MAX_FDS * 4), _CLOEXEC)
    if not data:
        raise EOFError("peer closed the connection")
    fds = _fds_from(ancdata)
    try:
        if len(data) < HEADER.size:
            data += _recv_exact(sock, HEADER.size - len(data))
        size, _nfds = HEADER.unpack(data)
        return _recv_exact(sock, size), fds
    except BaseException:  # the peer died mid-message: its shared memory must not leak
        for fd in fds:
            os.close(fd)
        raise


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
