"""The words tasker's widgets show."""

from __future__ import annotations


def format_duration(seconds: float) -> str:
    """``"about 5 s"``, ``"about 3 min"``, ``"about 1 h 20 min"``."""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min" if minutes else f"about {hours} h"


def count_text(n: int, paused: int = 0) -> str:
    """``"1 task"``, ``"3 tasks"``, ``"3 tasks, 1 paused"``."""
    text = f"{n} task{'s' if n != 1 else ''}"
    return f"{text}, {paused} paused" if paused else text


def paused_text(message: str | None) -> str:
    """What a paused task's row says: ``"Paused — its message"``."""
    return f"Paused — {message}" if message else "Paused"


def describe_error(error: BaseException | None) -> str:
    """``"ValueError: bad input"`` — the type and first line of the message."""
    if error is None:
        return "unknown error"
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    name = type(error).__name__
    return f"{name}: {first}" if first else name
