"""Tasks that start processes (a child, and a shell with a child of its own).

Importable by worker processes (``tests/`` is on their ``sys.path``).
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

_KEEP: list[subprocess.Popen[str]] = []  # no "still running" warnings when a Popen is collected


def start_tree(new_session: bool = False) -> dict[str, int]:
    """Start ``sleep`` (a child) and ``sh`` that started ``sleep`` (a grandchild); their pids."""
    child = subprocess.Popen(["sleep", "77"], start_new_session=new_session, text=True)
    shell = subprocess.Popen(
        ["sh", "-c", "sleep 78 & echo $!; wait"], stdout=subprocess.PIPE, start_new_session=new_session, text=True
    )
    assert shell.stdout is not None
    grandchild = int(shell.stdout.readline())
    _KEEP.extend((child, shell))
    return {"child": child.pid, "shell": shell.pid, "grandchild": grandchild, "worker": os.getpid()}


def spawn_tree(ctx: Any, then: str = "block", new_session: bool = False) -> dict[str, int]:
    """Start a process tree, report it (event "tree"), then block, hog the GIL, return, or die."""
    tree = start_tree(new_session)
    ctx.send_event("tree", tree)
    if then == "block":  # never looks at cancellation
        time.sleep(60)
    elif then == "hog":  # native code holding the GIL: only the kernel can end this worker
        sum(range(10**11))
    elif then == "die":
        ctx.flush()
        time.sleep(0.2)  # the event reaches the parent before the worker goes
        os._exit(3)
    return tree
