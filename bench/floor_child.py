"""The child of the floor's process "pool": run pickled calls read from a pipe.

Started by ``bench.adapters.floor``. Messages are a 4-byte length and a
pickle, ``(fn, args)`` in on fd 0, ``(ok, value)`` out on fd 1. Only ``os``,
``pickle`` and ``struct`` are imported, so its start-up is as cheap as a
worker's can be.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
from typing import Any

HEADER = struct.Struct("!I")


def read_exact(fd: int, size: int) -> bytes:
    """``size`` bytes from ``fd``; b"" if the other side closed first."""
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            return b""
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int) -> Any:
    """One framed pickle; raises EOFError when the pipe closed."""
    header = read_exact(fd, HEADER.size)
    if not header:
        raise EOFError
    body = read_exact(fd, HEADER.unpack(header)[0])
    if not body:
        raise EOFError
    return pickle.loads(body)


def write_message(fd: int, obj: Any) -> None:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    data = memoryview(HEADER.pack(len(body)) + body)
    while data:
        data = data[os.write(fd, data):]


def main() -> None:
    sys.stdout = sys.stderr  # fd 1 is the reply channel, keep prints off it
    while True:
        try:
            fn, args = read_message(0)
        except EOFError:
            return
        try:
            reply: tuple[bool, Any] = (True, fn(*args))
        except Exception as exc:  # the task's error goes back to the parent
            reply = (False, exc)
        write_message(1, reply)


if __name__ == "__main__":
    main()
