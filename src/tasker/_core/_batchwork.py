"""What a batch's part runs: one chunk of items, in any kind (imported by workers: it imports nothing).

A chunk's outcome is ``(values, failures)``: ``values`` holds each item's
result in order (None for an item that failed), ``failures`` maps the offset
of each failed item in the chunk to its exception, and is None when none
failed — a plain list of results pickles and travels at a fraction of the
cost of one ``(ok, value)`` pair per item. An item that raises fails alone;
the chunk goes on with the next one. A canceled chunk stops between items:
``values`` is then shorter than the chunk (what ran).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

ChunkOutcome = tuple[list[Any], "dict[int, BaseException] | None"]


def run_chunk(context: Any, fn: Callable[..., Any], items: Sequence[Any]) -> ChunkOutcome:
    """``fn(context, item)`` for each item (each in its share of the progress).

    One child context serves every item, moved along the chunk's progress
    (building one per item cost more than a no-op item itself).
    """
    n = len(items)
    if n == 1:
        try:
            return [fn(context, items[0])], None
        except Exception as error:  # this item's failure (a BaseException ends the whole chunk)
            return [None], {0: error}
    values: list[Any] = []
    append = values.append
    failures: dict[int, BaseException] | None = None
    flag = context._flag
    sub = context.sub_context(0.0, 1.0 / n)
    base, step = sub._base, sub._span
    for i, item in enumerate(items):
        if flag[0] and context.is_cancelled():
            break
        sub._base = base + i * step
        if sub._total != 1.0:  # (the previous item set a total of its own)
            sub._total = 1.0
        try:
            append(fn(sub, item))
        except Exception as error:  # this item's failure (a BaseException ends the whole chunk)
            append(None)
            if failures is None:
                failures = {}
            failures[i] = error
    return values, failures


async def run_chunk_async(context: Any, fn: Callable[..., Any], items: Sequence[Any]) -> ChunkOutcome:
    """``await fn(context, item)`` for each item (coroutine batches)."""
    n = len(items)
    values: list[Any] = []
    failures: dict[int, BaseException] | None = None
    for i, item in enumerate(items):
        if context.is_cancelled():
            break
        sub = context.sub_context(i / n, 1 / n) if n > 1 else context
        try:
            values.append(await fn(sub, item))
        except Exception as error:
            values.append(None)
            if failures is None:
                failures = {}
            failures[i] = error
    return values, failures
