"""What a batch's part runs: one chunk of items, in any kind (imported by workers: it imports nothing).

Each item's outcome is ``(True, result)`` or ``(False, exception)``: an item
that raises fails alone; the chunk goes on with the next one. A canceled
chunk stops between items (what ran is returned).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Outcome = tuple[bool, Any]


def run_chunk(context: Any, fn: Callable[..., Any], items: Sequence[Any]) -> list[Outcome]:
    """``fn(context, item)`` for each item (each in its share of the progress).

    One child context serves every item, moved along the chunk's progress
    (building one per item cost more than a no-op item itself).
    """
    n = len(items)
    if n == 1:
        return [_one(fn, context, items[0])]
    out: list[Outcome] = []
    append = out.append
    sub = context.sub_context(0.0, 1.0 / n)
    base, step = sub._base, sub._span
    for i, item in enumerate(items):
        if context._flag[0] and context.is_cancelled():
            break
        sub._base, sub._total = base + i * step, 1.0
        try:
            append((True, fn(sub, item)))
        except Exception as error:  # this item's failure (a BaseException ends the whole chunk)
            append((False, error))
    return out


def _one(fn: Callable[..., Any], context: Any, item: Any) -> Outcome:
    try:
        return True, fn(context, item)
    except Exception as error:  # this item's failure (a BaseException ends the whole chunk)
        return False, error


async def run_chunk_async(context: Any, fn: Callable[..., Any], items: Sequence[Any]) -> list[Outcome]:
    """``await fn(context, item)`` for each item (coroutine batches)."""
    n = len(items)
    out: list[Outcome] = []
    for i, item in enumerate(items):
        if context.is_cancelled():
            break
        sub = context.sub_context(i / n, 1 / n) if n > 1 else context
        try:
            out.append((True, await fn(sub, item)))
        except Exception as error:
            out.append((False, error))
    return out
