"""What a timeout or a delay may be: the one check, and the limit it names.

``timeout=`` (of a task, of ``context.ask``): ``None`` or ``float("inf")`` mean
none; otherwise a positive number of seconds no larger than ``MAX_WAIT_S``.
A delay of the manager's clock (``call_later``: grace periods, delayed calls):
zero or more, up to ``MAX_WAIT_S``. Past that limit no thread can wait
(``threading.Event.wait`` raises ``OverflowError``), so such values are refused
where they are given, with a ``ValueError`` naming the limit, instead of failing
later in a pool or clock thread.
"""

from __future__ import annotations

import threading

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)
if TYPE_CHECKING:
    from typing import Any

#: The longest wait tasker's threads and clocks can do: ``threading.TIMEOUT_MAX``
#: (about 292 years on Linux).
MAX_WAIT_S: float = threading.TIMEOUT_MAX

_INF = float("inf")


def timeout_seconds(timeout: Any, what: str) -> float | None:
    """``timeout`` checked: None for no timeout (``None``, ``inf``), else its seconds; ``ValueError`` if bad."""
    if timeout is None or timeout == _INF:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(
            f"{what} must be a positive number of seconds, None or float('inf') (no timeout); got {timeout!r}"
        )
    if timeout > MAX_WAIT_S:
        raise ValueError(f"{what}={timeout!r} is past what tasker can wait: at most {_limit()}; "
                         "use None or float('inf') for no timeout")
    return timeout


def check_delay(delay: float, what: str) -> None:
    """A clock delay: ``ValueError`` unless ``0 <= delay <= MAX_WAIT_S`` (negative counts as 0)."""
    if not delay <= MAX_WAIT_S:  # (also NaN)
        raise ValueError(f"{what}: a delay of {delay!r} s is past what tasker's clock can wait: at most {_limit()}")


def _limit() -> str:
    return f"{MAX_WAIT_S:.0f} s (threading.TIMEOUT_MAX)"
