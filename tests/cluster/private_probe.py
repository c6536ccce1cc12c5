"""Run as another local user: every way into an app's Dask cluster (test_cluster_private.py).

    python private_probe.py STATE_JSON

STATE names the scheduler, workers and nannies (as ``private_app.py`` prints them) and
the app's topic. Prints one JSON object: attempt -> "ok: …" or "refused: …".
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from distributed import Client
from distributed.comm import connect
from distributed.security import Security

TIMEOUT_S = 5  # (a refused attempt may wait this long: the TLS handshake it cannot finish)


#: How long one attempt may take: a plain-TCP client of a TLS listener was seen to wait past
#: its own ``timeout=`` for good (pristine Debian 12). An attempt that gets no answer gets nothing:
#: it counts as refused (the control test, against an open scheduler, shows the probe does get in).
ATTEMPT_BOUND_S = 4 * TIMEOUT_S


def attempt(results: dict[str, str], name: str, fn: Callable[[], Any]) -> None:
    def run() -> None:
        try:
            results[name] = f"ok: {fn()!r}"[:300]
        except BaseException as error:
            results[name] = f"refused: {type(error).__name__}: {error}"[:300]

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(ATTEMPT_BOUND_S)
    if worker.is_alive():
        results[name] = f"refused: no answer within {ATTEMPT_BOUND_S} s"
    print(f"# {name}: {results[name]}", file=sys.stderr, flush=True)  # (the test shows these if the probe hangs)


def take_over(address: str, topic: str, security: Any = None) -> Any:
    """What the attacker did with an open scheduler: code on a worker and on the scheduler, the events."""
    client = Client(address, timeout=TIMEOUT_S, set_as_default=False, security=security)
    try:
        uid = client.submit(os.getuid, pure=False).result(TIMEOUT_S)
        pid = client.run_on_scheduler(os.getpid)
        events = len(client.get_events(topic))
        return {"worker uid": uid, "scheduler pid": pid, "events read": events}
    finally:
        client.close()


def identity(address: str, security: Any = None) -> Any:
    """A raw call to a worker or nanny (Dask's comm, as a client)."""

    async def call() -> Any:
        args = security.get_connection_args("client") if security is not None else {}
        comm = await connect(address, timeout=TIMEOUT_S, **args)
        try:
            await comm.write({"op": "identity"})
            return (await comm.read()).get("type")
        finally:
            await comm.close()

    return asyncio.run(call())


def main() -> None:
    state = json.loads(sys.argv[1])
    scheduler, topic = state["scheduler"], state["topic"]
    plain = scheduler.replace("tls://", "tcp://")
    results: dict[str, str] = {"uid": f"ok: {os.getuid()}"}
    attempt(results, f"client of {scheduler}, no credentials", lambda: take_over(scheduler, topic))
    attempt(results, f"client of {plain}", lambda: take_over(plain, topic))
    attempt(
        results, f"client of {scheduler}, own TLS credentials",
        lambda: take_over(scheduler, topic, Security.temporary()),
    )
    for address in state["workers"] + state["nannies"]:
        attempt(results, f"call {address}", lambda a=address: identity(a))
        if address.startswith("tls://"):
            own = Security.temporary()
            attempt(results, f"call {address}, own TLS credentials", lambda a=address, s=own: identity(a, s))
    print(json.dumps(results), flush=True)
    sys.stderr.flush()
    # Nothing is left to do: Dask's own atexit closing of the clients that could not
    # connect must not hold the probe past the test's bound.
    os._exit(0)


if __name__ == "__main__":
    main()
