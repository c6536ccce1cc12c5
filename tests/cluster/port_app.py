"""The embedded cluster (no dashboard) started while something else holds 127.0.0.1:8787.

    python port_app.py      prints ``RESULT {json}``: the warnings seen while the
                            cluster started and ran one task, and whether the
                            holder's port was really taken by this process

Dask's scheduler binds an HTTP server whatever the options; on its default port
8787, held here by a plain listening socket (as by another Dask cluster on the
machine), Dask warns "Port 8787 is already in use" into the application's stderr.
"""

from __future__ import annotations

import json
import socket
import warnings


def main() -> None:
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
        held = "by this process"
    except OSError:  # someone else holds it already: the same situation
        held = "by another process"
    seen: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from tasker import TaskManager

        with TaskManager(cluster="local") as mgr:
            task = mgr.run_on_cluster(lambda context: 2**5)
            ended = task.wait(120)
            result = task.result() if ended else None
        seen = [f"{w.category.__name__}: {w.message}" for w in caught]
    holder.close()
    print("RESULT " + json.dumps({"held": held, "result": result, "warnings": seen}), flush=True)


if __name__ == "__main__":
    main()
