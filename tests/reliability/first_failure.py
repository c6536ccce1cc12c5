"""Fresh applications whose first task fails at once, while another thread imports asyncio.

    python first_failure.py app KIND        one fresh application (KIND: thread, process,
                                            coroutine): a task that works, a task that
                                            raises ValueError at once, wait_until_settled
    python first_failure.py drive N JOBS    N fresh applications (kinds in turn), JOBS at a
                                            time; prints a JSON summary per kind

The application is the ten lines a new user writes, plus a thread that imports
asyncio at the same moment (tasker's own warm-up thread does too): the first
ending must not meet a half-imported module. Each application reports whether
both tasks ended (``when_done`` ran for each), their statuses, and any thread
that died of an exception.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

KINDS = ("thread", "process", "coroutine")
#: One application's bound (s): far above what it needs; a lost task shows as "not settled".
SETTLE_S = 10.0


def work(context: Any) -> int:
    return 1


def boom(context: Any) -> None:
    raise ValueError("boom")


async def work_async(context: Any) -> int:
    return 1


async def boom_async(context: Any) -> None:
    raise ValueError("boom")


def app(kind: str) -> None:
    deaths: list[str] = []

    def died(args: Any) -> None:
        deaths.append(f"{args.thread.name if args.thread else '?'}: {args.exc_type.__name__}")

    threading.excepthook = died
    from tasker import TaskManager

    importer = threading.Thread(target=__import__, args=("asyncio",), name="importer")
    mgr = TaskManager(max_processes=2)
    ended: list[Any] = []
    if kind == "coroutine":
        mgr.add_coroutine(work_async, key="work", when_done=ended.append)
        importer.start()
        mgr.add_coroutine(boom_async, key="boom", when_done=ended.append)
    else:
        start = mgr.run_thread if kind == "thread" else mgr.run_process
        start(work, key="work", when_done=ended.append)
        importer.start()
        start(boom, key="boom", when_done=ended.append)
    settled = mgr.wait_until_settled(SETTLE_S)
    statuses = {str(task.key): str(task.get_status()) for task in ended}
    importer.join(SETTLE_S)
    mgr.shutdown(2.0)
    print("RESULT " + json.dumps({"settled": settled, "ended": statuses, "deaths": deaths}), flush=True)


def one(kind: str) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [sys.executable, __file__, "app", kind], capture_output=True, text=True, timeout=SETTLE_S + 40
        )
    except subprocess.TimeoutExpired:
        return {"kind": kind, "ok": False, "why": "the application did not exit"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        return {"kind": kind, "ok": False, "why": f"exit {done.returncode}: {done.stderr[-800:]}"}
    result = json.loads(lines[-1][len("RESULT "):])
    ok = (
        result["settled"]
        and result["ended"] == {"work": "completed", "boom": "failed"}
        and not result["deaths"]
        and "Exception in thread" not in done.stderr
    )
    return {"kind": kind, "ok": bool(ok), "why": "" if ok else f"{result}; stderr: {done.stderr[-800:]}"}


def drive(count: int, jobs: int) -> dict[str, Any]:
    kinds = [KINDS[i % len(KINDS)] for i in range(count)]
    with ThreadPoolExecutor(jobs) as pool:
        outcomes = list(pool.map(one, kinds))
    summary: dict[str, Any] = {}
    for kind in KINDS:
        mine = [o for o in outcomes if o["kind"] == kind]
        summary[kind] = {"runs": len(mine), "both_ended": sum(o["ok"] for o in mine)}
    summary["failures"] = [o["why"] for o in outcomes if not o["ok"]][:5]
    return summary


if __name__ == "__main__":
    if sys.argv[1] == "app":
        app(sys.argv[2])
    else:
        print("SUMMARY " + json.dumps(drive(int(sys.argv[2]), int(sys.argv[3]))), flush=True)
