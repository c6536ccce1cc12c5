"""Fresh applications that import NumPy for the first time while NumPy arrays arrive from tasks.

    python first_import.py app KIND        one fresh application (KIND: process, cluster)
    python first_import.py drive N JOBS    N fresh applications (kinds in turn, ``TASKER_FIRST_IMPORT_KINDS``:
                                           comma-separated, default ``process``), JOBS at a time;
                                           prints a JSON summary per kind

``process``: a worker is warmed up (it imports NumPy; the application has not),
then four process tasks return NumPy arrays (one of 2 MiB: shared memory) and
the main thread runs ``import numpy`` at once: the results are unpickled by
tasker's reader while the main thread is inside NumPy's ``__init__``.
``cluster``: the same, and a task on the embedded cluster is started first:
tasker's thread that starts it imports ``distributed``, which imports NumPy,
while process results with arrays arrive and the main thread imports NumPy too
(the demo's case); the cluster task returns an array as well.

Each application reports whether every task completed with the right array and
whether the main thread's import worked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

KINDS = ("process", "cluster")
#: One application's bound (s): far above what it needs; a lost task shows as "not settled".
SETTLE_S = 120.0


def warm(context: Any) -> int:
    import numpy  # in the worker only

    return int(numpy.zeros(1).size)


def array(context: Any, n: int) -> Any:
    import numpy

    return numpy.arange(n, dtype=numpy.float64)


def app(kind: str) -> None:
    deaths: list[str] = []

    def died(args: Any) -> None:
        deaths.append(f"{args.thread.name if args.thread else '?'}: {args.exc_type.__name__}")

    threading.excepthook = died
    from tasker import TaskManager

    assert "numpy" not in sys.modules
    mgr = TaskManager(max_processes=2)
    ended: list[Any] = []
    warmed = mgr.run_process(warm, key="warm", when_done=ended.append)
    settled = mgr.wait_until_settled(SETTLE_S)
    assert "numpy" not in sys.modules, "tasker imported NumPy in the application"
    sizes = {"a": 10, "b": 1000, "c": 1 << 18, "d": 3}  # c: 2 MiB, through shared memory
    if kind == "cluster":
        sizes["cluster"] = 100
        mgr.run_on_cluster(array, 100, key="cluster", when_done=ended.append)
    for key, n in sizes.items():
        if key != "cluster":
            mgr.run_process(array, n, key=key, when_done=ended.append)
    imported = "ok"
    try:
        import numpy  # noqa: F401  (the application's first import of NumPy, while the arrays arrive)
    except BaseException as error:
        imported = f"{type(error).__name__}: {error}"
    settled = mgr.wait_until_settled(SETTLE_S) and settled
    statuses: dict[str, str] = {}
    for task in ended:
        status = str(task.get_status())
        if status == "completed" and task is not warmed:
            value = task.result()
            right = type(value).__name__ == "ndarray" and value.size == sizes[str(task.key)]
            status = status if right and float(value[-1]) == sizes[str(task.key)] - 1 else "wrong value"
        elif status != "completed":
            status = f"{status}: {task.exception()!r}"[:400]
        statuses[str(task.key)] = status
    mgr.shutdown(5.0)
    print("RESULT " + json.dumps({"settled": settled, "ended": statuses, "imported": imported, "deaths": deaths}))
    sys.stdout.flush()


def one(kind: str) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [sys.executable, __file__, "app", kind], capture_output=True, text=True, timeout=2 * SETTLE_S + 60
        )
    except subprocess.TimeoutExpired:
        return {"kind": kind, "ok": False, "why": "the application did not exit"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        return {"kind": kind, "ok": False, "why": f"exit {done.returncode}: {done.stderr[-800:]}"}
    result = json.loads(lines[-1][len("RESULT "):])
    keys = {"warm", "a", "b", "c", "d"} | ({"cluster"} if kind == "cluster" else set())
    ok = (
        result["settled"]
        and result["imported"] == "ok"
        and result["ended"] == dict.fromkeys(keys, "completed")
        and not result["deaths"]
        and "Exception in thread" not in done.stderr
    )
    return {"kind": kind, "ok": bool(ok), "why": "" if ok else f"{result}; stderr: {done.stderr[-600:]}"}


def drive(count: int, jobs: int) -> dict[str, Any]:
    chosen = os.environ.get("TASKER_FIRST_IMPORT_KINDS", "process").split(",")
    kinds = [chosen[i % len(chosen)] for i in range(count)]
    lock = threading.Lock()

    def counted(kind: str) -> dict[str, Any]:
        outcome = one(kind)
        with lock:  # one line per application, as it ends: a run stopped early still has its counts
            print(f"APP {kind} {'ok' if outcome['ok'] else 'FAILED'}", flush=True)
        return outcome

    with ThreadPoolExecutor(jobs) as pool:
        outcomes = list(pool.map(counted, kinds))
    summary: dict[str, Any] = {}
    for kind in chosen:
        mine = [o for o in outcomes if o["kind"] == kind]
        summary[kind] = {"runs": len(mine), "all_ok": sum(o["ok"] for o in mine)}
    summary["failures"] = [o["why"] for o in outcomes if not o["ok"]][:5]
    return summary


if __name__ == "__main__":
    if sys.argv[1] == "app":
        app(sys.argv[2])
    else:
        print("SUMMARY " + json.dumps(drive(int(sys.argv[2]), int(sys.argv[3]))), flush=True)
