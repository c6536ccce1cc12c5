"""The demo's task functions (importable, so worker processes can load them).

Each one takes the ``ExecutionContext`` first, reports progress and messages,
and stops early when ``is_cancelled()``. ``speed`` scales every pause (the
test mode runs the same work faster).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from typing import Any

from .._core._context import ExecutionContext

#: Size of the demo picture (RGBA). 720×480×4 bytes = 1.3 MiB, so previews
#: travel through shared memory (tasker sends arrays ≥ 1 MiB out of band).
WIDTH, HEIGHT = 720, 480


async def download(ctx: ExecutionContext, url: str, size_mb: float = 24.0, speed: float = 1.0) -> str:
    """A simulated download: chunks arrive with awaits in between (coroutine)."""
    ctx.set_message(f"Connecting to {url}…")
    await asyncio.sleep(0.4 * speed)
    chunks = 48
    ctx.set_total(chunks)
    for i in range(chunks):
        await asyncio.sleep(0.06 * speed)
        got = size_mb * (i + 1) / chunks
        ctx.set_progress(i + 1)
        ctx.set_message(f"Downloading {url.rsplit('/', 1)[-1]} — {got:.1f} of {size_mb:.0f} MB")
    ctx.set_message("Download complete")
    return f"downloaded {size_mb:.0f} MB from {url}"


def checksum(ctx: ExecutionContext, megabytes: int = 160, speed: float = 1.0) -> str:
    """Hash a buffer in blocks in a thread (hashlib releases the GIL)."""
    block = bytes(range(256)) * 4096  # 1 MiB
    digest = hashlib.sha256()
    ctx.set_total(megabytes)
    for i in range(megabytes):
        if ctx.is_cancelled():
            return "canceled"
        digest.update(block)
        if speed:
            time.sleep(0.012 * speed)
        ctx.set_progress(i + 1)
        if i % 8 == 0:
            ctx.set_message(f"Hashing block {i + 1} of {megabytes}")
    ctx.set_message("Checksum ready")
    return f"sha256 {digest.hexdigest()[:16]}…"


def render_image(ctx: ExecutionContext, speed: float = 1.0) -> dict[str, Any]:
    """An image-processing job for a worker process, in three stages.

    Each stage has its own ``sub_context``; previews go to the UI with
    ``send_event("preview", rgba_array)`` as bands of the picture are done.
    """
    import numpy as np

    h, w = HEIGHT, WIDTH
    rgba = np.zeros((h, w, 4), dtype=np.uint8)  # transparent until rendered

    # Stage 1 (0–60 %): a Julia set, band by band.
    render = ctx.sub_context(0.0, 0.6, total=h)
    render.set_message("Rendering fractal…")
    ys = np.linspace(-1.15, 1.15, h)
    xs = np.linspace(-1.75, 1.75, w)
    c = complex(-0.745, 0.113)
    field = np.zeros((h, w), dtype=np.float32)
    band = 24
    for top in range(0, h, band):
        if ctx.is_cancelled():
            return {"canceled": True}
        z = xs[None, :] + 1j * ys[top : top + band, None]
        escape = np.zeros(z.shape, dtype=np.float32)
        alive = np.ones(z.shape, dtype=bool)
        for n in range(96):
            z[alive] = z[alive] * z[alive] + c
            out = alive & (np.abs(z) > 2.0)
            escape[out] = n + 1 - np.log2(np.log2(np.abs(z[out]) + 1e-9) + 1e-9)
            alive &= ~out
        field[top : top + band] = escape
        shade = np.clip(escape / 40.0, 0, 1)
        rgba[top : top + band, :, 0] = (255 * shade).astype(np.uint8)
        rgba[top : top + band, :, 1] = (255 * shade**0.6).astype(np.uint8)
        rgba[top : top + band, :, 2] = (255 * shade**0.3).astype(np.uint8)
        rgba[top : top + band, :, 3] = 255
        render.set_progress(top + band)
        ctx.send_event("preview", {"stage": "render", "rows": top + band, "rgba": rgba.copy()})
        if speed:
            time.sleep(0.1 * speed)

    # Stage 2 (60–85 %): a box blur of the escape field, pass by pass.
    blur = ctx.sub_context(0.6, 0.25, total=6)
    blur.set_message("Smoothing…")
    for i in range(6):
        if ctx.is_cancelled():
            return {"canceled": True}
        field = (
            field + np.roll(field, 1, 0) + np.roll(field, -1, 0) + np.roll(field, 1, 1) + np.roll(field, -1, 1)
        ) / 5.0
        blur.set_progress(i + 1)
        if speed:
            time.sleep(0.08 * speed)

    # Stage 3 (85–100 %): colour mapping, previewed once more at the end.
    colour = ctx.sub_context(0.85, 0.15, total=3)
    colour.set_message("Colouring…")
    t = np.clip(field / max(float(field.max()), 1e-6), 0, 1) ** 0.5
    palette = np.array([[9, 12, 40], [32, 82, 149], [87, 182, 207], [250, 220, 140], [205, 80, 50]], dtype=np.float32)
    pos = t * (len(palette) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(palette) - 2)
    frac = (pos - lo)[..., None]
    colours = palette[lo] * (1 - frac) + palette[lo + 1] * frac
    colour.set_progress(2)
    rgba[..., :3] = colours.astype(np.uint8)
    colour.set_progress(3)
    ctx.send_event("preview", {"stage": "colour", "rows": h, "rgba": rgba.copy()})
    ctx.set_message("Image ready")
    return {"width": w, "height": h, "mean": float(rgba[..., :3].mean())}


def failing_job(ctx: ExecutionContext, after: float = 1.2) -> None:
    """Works for a moment, then fails on purpose (shows the error path)."""
    ctx.set_message("Parsing settings.toml…")
    steps = 12
    ctx.set_total(steps)
    for i in range(steps):
        if ctx.is_cancelled():
            return
        time.sleep(after / steps)
        ctx.set_progress(i * 0.7)
    raise ValueError("settings.toml, line 3: expected '=' after key 'speed'")


def long_job(ctx: ExecutionContext, seconds: float = 30.0) -> str:
    """A long, cooperative job: the demo cancels it."""
    ctx.set_message("Indexing the photo library…")
    steps = 300
    ctx.set_total(steps)
    for i in range(steps):
        if ctx.is_cancelled():
            return "stopped"
        time.sleep(seconds / steps)
        ctx.set_progress(i + 1)
        if i % 10 == 0:
            ctx.set_message(f"Indexing photo {i + 1} of {steps}")
    return "indexed"


def flood(ctx: ExecutionContext, seconds: float = 3.0) -> int:
    """Reports progress as fast as it can for ``seconds``; returns the count."""
    ctx.set_message("Flooding progress updates…")
    count = 0
    start = time.monotonic()
    end = start + seconds
    now = start
    while now < end:
        if ctx.is_cancelled():
            break
        for _ in range(1000):
            ctx.set_progress((now - start) / seconds)
        count += 1000
        now = time.monotonic()
    ctx.set_progress(1.0)
    ctx.set_message(f"{count:,} updates sent")
    return count


# -- a batch: thumbnails (task_mgr.map) -----------------------------------------------------
#: Thumbnails tile the preview: 18 × 12 tiles of 40 × 40 pixels.
TILE = 40
THUMBNAILS = (WIDTH // TILE) * (HEIGHT // TILE)


def thumbnail(ctx: ExecutionContext, index: int, speed: float = 1.0) -> Any:
    """One "photo"'s thumbnail (an RGBA tile); every 53rd photo is corrupt, on purpose."""
    import numpy as np

    if index % 53 == 52:
        raise ValueError(f"photo_{index:03d}.jpg: not a JPEG file (corrupt header)")
    y, x = np.mgrid[0:TILE, 0:TILE].astype(np.float32) / TILE
    hue = (index * 0.618034) % 1.0
    wave = 0.5 + 0.5 * np.sin(6.2832 * (hue + 0.6 * x + 0.4 * y))
    tile = np.empty((TILE, TILE, 4), dtype=np.uint8)
    tile[..., 0] = (255 * wave * (0.4 + 0.6 * hue)).astype(np.uint8)
    tile[..., 1] = (255 * wave**1.5 * (1.0 - 0.5 * hue)).astype(np.uint8)
    tile[..., 2] = (255 * (0.35 + 0.65 * (1 - wave) * hue)).astype(np.uint8)
    tile[..., 3] = 255
    if speed:
        time.sleep(0.03 * speed)
    return tile


# -- a chain: load → analyse → export (task.then) ------------------------------------------
def load_data(ctx: ExecutionContext, speed: float = 1.0) -> list[float]:
    """Read the "survey" (a thread): a list of numbers."""
    files = 12
    ctx.set_total(files)
    values: list[float] = []
    for i in range(files):
        if ctx.is_cancelled():
            return values
        ctx.set_message(f"load: reading survey_{i + 1:02d}.csv")
        values.extend(((i * 7919 + j * 104729) % 1000) / 10.0 for j in range(4000))
        if speed:
            time.sleep(0.08 * speed)
        ctx.set_progress(i + 1)
    return values


def analyse(ctx: ExecutionContext, values: list[float], speed: float = 1.0) -> dict[str, float]:
    """Statistics in a worker process."""
    import statistics

    ctx.set_message(f"analyse: {len(values):,} values")
    ctx.set_total(4)
    stats: dict[str, float] = {}
    measures: tuple[tuple[str, Callable[[list[float]], float]], ...] = (
        ("mean", statistics.fmean), ("median", statistics.median), ("stdev", statistics.pstdev), ("max", max)
    )
    for i, (name, fn) in enumerate(measures):
        if ctx.is_cancelled():
            break
        stats[name] = float(fn(values))
        ctx.set_message(f"analyse: {name}")
        if speed:
            time.sleep(0.25 * speed)
        ctx.set_progress(i + 1)
    return stats


def export(ctx: ExecutionContext, stats: dict[str, float], speed: float = 1.0) -> str:
    """Write the report (a thread)."""
    ctx.set_message("export: writing report.json")
    if speed:
        time.sleep(0.3 * speed)
    ctx.set_progress(1.0)
    return "report: " + ", ".join(f"{name} {value:.1f}" for name, value in stats.items())

