"""One measurement in a fresh interpreter: ``python -m bench._one --scenario X --impl Y``.

Prints exactly one line starting with ``BENCH-RESULT `` followed by JSON,
then leaves with ``os._exit`` so no pool's exit handler can hang the run.
Spawned workers re-import this module as ``__mp_main__``: only the
Rayforge stub hook runs at import time, everything else is inside main().
"""

from __future__ import annotations

from bench.adapters.rayforge_stub import install_if_flagged

install_if_flagged()

PREFIX = "BENCH-RESULT "
SHUTDOWN_TIMEOUT = 30.0


def main() -> None:
    import argparse
    import json
    import os
    import sys
    import threading
    import traceback
    from time import perf_counter
    from typing import Any

    from bench.mainloop import MainLoop
    from bench.scenarios import SCENARIOS
    from bench.scenarios.base import RunCtx

    parser = argparse.ArgumentParser(prog="python -m bench._one")
    parser.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    parser.add_argument("--impl", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()

    out: dict[str, Any] = {"scenario": args.scenario, "impl": args.impl}
    emitted = threading.Lock()

    def emit_and_exit() -> None:
        if emitted.acquire(blocking=False):
            sys.stdout.write(PREFIX + json.dumps(out) + "\n")
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)

    def give_up() -> None:
        out["shutdown"] = {"ok": False, "error": f"shutdown took > {SHUTDOWN_TIMEOUT:g} s"}
        emit_and_exit()

    loop = MainLoop()
    ctx = RunCtx(args.impl, args.quick, loop)
    start = perf_counter()
    try:
        measured = SCENARIOS[args.scenario].run(ctx)
        out.update(ok=True, metrics=measured.metrics, na=measured.na, extra=measured.extra)
    except Exception as exc:
        out.update(ok=False, error=f"{type(exc).__name__}: {exc}",
                   traceback=traceback.format_exc(limit=8))
    out["seconds"] = perf_counter() - start
    out["main_callbacks"] = loop.calls
    out["callback_errors"] = loop.errors
    watchdog = threading.Timer(SHUTDOWN_TIMEOUT, give_up)
    watchdog.daemon = True
    watchdog.start()
    t0 = perf_counter()
    try:
        for adapter in ctx.adapters:
            adapter.shutdown()
        out["shutdown"] = {"ok": True, "seconds": perf_counter() - t0}
    except Exception as exc:
        out["shutdown"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    emit_and_exit()


if __name__ == "__main__":
    main()
