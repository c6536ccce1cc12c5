"""The embedded cluster closed while each worker's stop-queue watcher meets a closed queue.

    python closing_app.py      prints ``RESULT {json}``: on how many workers the race
                               was made, and how many of tasker's debug records
                               (``SEEN …`` lines in stderr) say what it dropped

Dask's nanny hands its worker process a stop queue, read by a thread of that process
("Nanny stop queue watch"). When the worker's run ends before the nanny's stop message
came (the worker closed on the scheduler's word, while tasker closes the cluster), Dask
closes that queue under the waiting thread; the thread then reads a closed connection
(``TypeError``) and logs "Worker process died unexpectedly", with a traceback, into the
application's stderr. Which of the two comes first is a matter of timing, so this app
makes the race certain on every worker, right after tasker has quieted them for its close:
it closes the queue's reading end under the waiting thread, then sends the stop message.
"""

from __future__ import annotations

import functools
import json
import logging
import multiprocessing.queues
import sys
import threading
from typing import Any


def stop_gracefully(dask_worker: Any) -> None:
    """On a nanny: the worker going away is no reason to start another (as at a cluster's close)."""
    dask_worker.close_gracefully(reason="closing_app")  # (Dask names a nanny dask_worker too)


def race_the_stop_queue() -> bool:
    """On a worker: its stop-queue watcher reads a queue closed under it (Dask's close race)."""
    watcher = next(t for t in threading.enumerate() if t.name == "Nanny stop queue watch")
    target = getattr(watcher, "_target", None)
    func = target.func if isinstance(target, functools.partial) else target
    cells = [cell.cell_contents for cell in getattr(func, "__closure__", None) or ()]
    queue = next(c for c in cells if isinstance(c, multiprocessing.queues.Queue))
    seen = logging.StreamHandler(sys.stderr)
    seen.setFormatter(logging.Formatter("SEEN %(message)s"))
    tasker_log = logging.getLogger("tasker")
    tasker_log.addHandler(seen)
    tasker_log.setLevel(logging.DEBUG)
    queue._reader.close()  # type: ignore[attr-defined]  # the waiting read goes on; its connection is closed
    queue.put({"op": "stop"})
    return True


def main() -> None:
    from tasker.runners.cluster import _connect

    quiet = _connect.quiet_workers
    raced: dict[str, bool] = {}

    def quiet_then_race(client: Any) -> None:
        """Connection.close's first step, then the race on every worker (which then closes)."""
        quiet(client)
        client.run(stop_gracefully, nanny=True)
        raced.update(client.run(race_the_stop_queue))

    _connect.quiet_workers = quiet_then_race
    connection = _connect.Connection("local", 2)
    connection.get().wait_for_workers(2, timeout=120)  # (on a loaded machine one may still be registering)
    connection.close()
    print("RESULT " + json.dumps({"raced": sorted(raced.values())}), flush=True)


if __name__ == "__main__":
    main()
