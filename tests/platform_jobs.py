"""Process-task jobs that report what their worker is made of (tests/test_platform_seam.py)."""

from __future__ import annotations

import os
from typing import Any


def descriptors() -> list[str]:
    """Where this process's descriptors point (``/proc/self/fd``)."""
    links = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            links.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    return links


def worker_report(context: Any) -> dict[str, Any]:
    """The worker's platform, descriptors, process group and command line."""
    from tasker import _platform

    with open("/proc/self/cmdline", "rb") as f:
        argv = [arg.decode() for arg in f.read().split(b"\0") if arg]
    return {
        "name": _platform.current().name,
        "fds": descriptors(),
        "pid": os.getpid(),
        "pgid": os.getpgrp(),
        "argv": argv,
    }


def big_bytes(context: Any, size: int) -> bytes:
    return bytes(range(256)) * (size // 256)
