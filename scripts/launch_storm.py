"""How many worker launches a pool makes in a fixed window when no worker can start.

    .venv/bin/python scripts/launch_storm.py af_unix|missing-interpreter|exits-at-once [SECONDS]

A measurement to compare trees (a count, not a test): three process tasks wait
while every launch fails (``socket.AF_UNIX`` removed; ``sys.executable`` made a
missing path, or ``/bin/false``, which exits before its handshake). It prints the
launches made, the tasker log records (and how many carry a traceback) and how
the tasks stand at the end of the window, with the real clock.
"""

from __future__ import annotations

import logging
import operator
import socket
import sys
import time

from tasker import TaskManager
from tasker.runners.process import _worker


class Count(logging.Handler):
    records = 0
    tracebacks = 0

    def emit(self, record: logging.LogRecord) -> None:
        Count.records += 1
        Count.tracebacks += record.exc_info is not None


def main() -> None:
    how = sys.argv[1]
    window = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    launches = 0
    real = _worker.Worker.start_process

    def counting(worker: _worker.Worker, lifeline_fd: int) -> None:
        nonlocal launches
        launches += 1
        real(worker, lifeline_fd)

    _worker.Worker.start_process = counting  # type: ignore[method-assign]
    log = logging.getLogger("tasker")
    log.addHandler(Count())
    log.propagate = False
    if how == "af_unix":
        del socket.AF_UNIX
    elif how == "missing-interpreter":
        sys.executable = "/nonexistent/python3"
    elif how == "exits-at-once":
        sys.executable = "/bin/false"
    else:
        raise SystemExit(f"unknown case {how!r}")
    manager = TaskManager()
    tasks = [manager.run_process(operator.truth) for _ in range(3)]
    time.sleep(window)  # the measurement window (real time on purpose)
    ends = sorted({type(t.exception()).__name__ for t in tasks if t.is_final()})
    print(
        f"{how}: {launches} launches in {window:g} s; {Count.records} tasker log records, "
        f"{Count.tracebacks} with a traceback; tasks: {[str(t.get_status()) for t in tasks]} {ends}"
    )
    manager.shutdown()


if __name__ == "__main__":
    main()
