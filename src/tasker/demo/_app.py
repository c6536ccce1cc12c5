"""What the demo's windows share, whatever the toolkit (GTK, Qt, Tk).

``DemoController`` runs the tour, the test mode (print every outcome, quit
when the tour is done, exit 1 past ``--time-limit``), the heartbeat and the
screenshot; a toolkit's window supplies a few hooks (a timer, quit, save a
PNG, the log and preview widgets). Everything runs on the UI main thread.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ._jobs import THUMBNAILS
from ._script import DemoScript, DemoTasks, Outcome

#: (label, caption, DemoTasks method) of the sidebar's start buttons.
START_BUTTONS = (
    ("Download maps", "coroutine · simulated network I/O", "download"),
    ("Render image", "process · 3 stages, live previews", "image"),
    ("Checksum", "thread · hashing 160 MB", "checksum"),
    ("Load settings", "thread · fails on purpose", "failing"),
    ("Index photos", "process · long; pause or cancel it", "indexer"),
    ("Flood × 4", "4 processes · progress flat out", "flood"),
    ("Thumbnails", "map · 216 items, one row", "thumbnails"),
    ("Load → analyse → export", "then · thread → process → thread", "pipeline"),
)
#: The button ``--cluster`` adds.
CLUSTER_BUTTON = ("Render on cluster", "Dask cluster · the same render job", "cluster_image")
TITLE = "tasker demo"
SUBTITLE = "coroutines, threads and processes with live progress"
OUTCOME_STYLE = {"completed": ("✔", "#26734d"), "failed": ("✖", "#b3261e"), "canceled": ("⊘", "#8a6100")}
PREVIEW_BACKGROUND = "#0b0f24"


def start_buttons(args: argparse.Namespace) -> tuple[tuple[str, str, str], ...]:
    """The sidebar's start buttons: ``START_BUTTONS``, and ``CLUSTER_BUTTON`` with ``--cluster``."""
    return (*START_BUTTONS, CLUSTER_BUTTON) if getattr(args, "cluster", None) else START_BUTTONS


def outcome_text(outcome: Outcome) -> str:
    """``"✔ checksum — sha256 …"`` for the log (long texts cut)."""
    glyph = OUTCOME_STYLE[outcome.status][0]
    text = outcome.text if len(outcome.text) < 40 else outcome.text[:38] + "…"
    return f"{glyph} {outcome.name} — {text}"


def outcome_tooltip(outcome: Outcome) -> str:
    return f"{outcome.name}: {outcome.status} in {outcome.seconds:.1f} s — {outcome.text}"


def preview_caption(data: dict[str, Any], count: int) -> str:
    height, width = data["rgba"].shape[:2]
    if data["stage"] == "thumbnails":
        return f"{width}×{height}, thumbnails — {data['rows']} of {THUMBNAILS} (preview {count})"
    stage = "colouring done" if data["stage"] == "colour" else f"rendering — {data['rows']} of {height} rows"
    return f"{width}×{height}, {stage} (preview {count})"


class Heartbeat:
    """A 5 ms timer that measures how late the main loop runs it.

    ``start_timer(ms, fn)`` is the toolkit's repeating timer (``fn`` returns True
    to go on).
    """

    def __init__(self, start_timer: Callable[[int, Callable[[], bool]], object], period_ms: int = 5) -> None:
        self.period = period_ms / 1000.0
        self.gaps: deque[float] = deque(maxlen=4000)  # recent intervals, seconds
        self.recording: list[float] | None = None
        self.running = True
        self._last = time.monotonic()
        start_timer(period_ms, self._beat)

    def _beat(self) -> bool:
        now = time.monotonic()
        gap, self._last = now - self._last, now
        self.gaps.append(gap)
        if self.recording is not None:
            self.recording.append(gap)
        return self.running

    def recent_max(self, seconds: float = 2.0) -> float:
        total, worst = 0.0, 0.0
        for gap in reversed(self.gaps):
            worst = max(worst, gap)
            total += gap
            if total >= seconds:
                break
        return worst

    def text(self) -> str:
        return f"UI heartbeat: worst gap {self.recent_max() * 1000:4.0f} ms"

    def stop(self) -> None:
        self.running = False


class DemoController:
    """The tour, the test mode and the screenshot, for any toolkit's window.

    The toolkit calls ``begin`` once its window is shown, and implements
    ``after(ms, fn)`` (a repeating timer: ``fn`` returns True to go on),
    ``quit()``, ``save_png(path) -> (w, h)`` (raises ``RuntimeError`` while the
    window has not drawn yet), ``add_outcome(outcome)``, ``tour_button(enabled)``;
    and sets ``banner``, ``task_list``, ``preview_count`` as the window fills.
    """

    toolkit = ""

    def __init__(self, args: argparse.Namespace) -> None:
        from .. import task_mgr

        self.args = args
        self.test_mode = bool(args.test_mode)
        self.exit_code = 0
        self.manager = task_mgr
        self.tasks: DemoTasks | None = None
        self.script: DemoScript | None = None
        self.screenshot_done = args.screenshot is None
        self.screenshot_tries = 0
        self.tour_done = False
        self.flood_gaps: list[float] = []
        self.heartbeat: Heartbeat | None = None
        self.banner: Any = None
        self.task_list: Any = None
        self.preview_count = 0
        self.window: Any = None

    def make_tasks(self) -> DemoTasks:
        tasks = self.tasks = DemoTasks(
            self.manager,
            speed=self.args.speed,
            flood_seconds=1.5 if self.test_mode else 3.0,
            cluster=bool(getattr(self.args, "cluster", None)),
        )
        tasks.on_outcome = self._outcome
        return tasks

    def begin(self) -> None:
        """The window is shown: start the heartbeat, the tour, the timers."""
        self.heartbeat = Heartbeat(self.after)
        if self.test_mode:
            self.after(int(self.args.time_limit * 1000), self._time_limit)
        if not self.args.no_tour or self.test_mode:
            self.after(300, self._start_tour_once)
        if not self.screenshot_done:
            self.after(100, self._screenshot_when_ready)

    # -- toolkit hooks ------------------------------------------------------------------------
    def after(self, ms: int, fn: Callable[[], bool]) -> object:
        raise NotImplementedError

    def quit(self) -> None:
        raise NotImplementedError

    def save_png(self, path: str) -> tuple[int, int]:
        raise NotImplementedError

    def add_outcome(self, outcome: Outcome) -> None:
        self.window.add_outcome(outcome)

    def tour_button(self, enabled: bool) -> None:
        raise NotImplementedError

    # -- the tour -------------------------------------------------------------------------------
    def _start_tour_once(self) -> bool:
        self.start_tour()
        return False

    def start_tour(self) -> None:
        if self.script is not None and not self.script.finished:
            return
        assert self.tasks is not None
        self.script = DemoScript(
            self.tasks, on_finished=self._tour_finished, on_flood=self._flood_started, on_note=self._note
        )
        self.script.start()
        self.tour_button(False)
        self.tour_started(self.script)

    def tour_started(self, script: DemoScript) -> None:
        """The tour's tasks are started (GTK awaits the download here)."""

    def cancel_all(self) -> None:
        for task in list(self.manager):
            task.cancel()

    def _note(self, text: str) -> None:
        if self.test_mode:
            print(f"tour: {text}", flush=True)

    def _outcome(self, outcome: Outcome) -> None:
        self.add_outcome(outcome)
        if self.test_mode:
            print(f"outcome: {outcome.name}: {outcome.status} — {outcome.text}", flush=True)

    def _flood_started(self) -> None:
        self.flood_gaps = []
        if self.heartbeat is not None:
            self.heartbeat.recording = self.flood_gaps

    def _tour_finished(self) -> None:
        self.tour_button(True)
        if self.heartbeat is not None:
            self.heartbeat.recording = None
        if self.flood_gaps:
            ms = sorted(g * 1000 for g in self.flood_gaps)
            print(
                f"heartbeat during flood: {len(ms)} beats, max gap {ms[-1]:.1f} ms, "
                f"median {statistics.median(ms):.1f} ms",
                flush=True,
            )
        self.tour_done = True
        if self.test_mode:
            self._maybe_quit()

    def _maybe_quit(self) -> None:
        if self.tour_done and self.screenshot_done:
            print("demo finished", flush=True)
            self.quit()

    def _time_limit(self) -> bool:
        print(f"tasker demo: the tour did not finish within {self.args.time_limit:.0f} s", file=sys.stderr)
        self.exit_code = 1
        self.quit()
        return False

    # -- the screenshot ---------------------------------------------------------------------------
    def _screenshot_when_ready(self) -> bool:
        image = self.script.image if self.script is not None else None
        if image is None or self.banner is None:
            return True
        ready = (
            0.3 <= image.get_progress() <= 0.6
            and self.preview_count >= 3
            and bool(self.banner.failures)
            and len(self.task_list.rows) >= 3
        )
        if not (ready or image.is_final()):
            return True
        self.after(350, self._take_screenshot)  # let the banner finish sliding in (retries)
        return False

    def _take_screenshot(self) -> bool:
        path = self.args.screenshot
        try:
            width, height = self.save_png(path)
        except RuntimeError as exc:  # not drawn yet: try again after the next frames
            self.screenshot_tries += 1
            if self.screenshot_tries < 50:
                return True
            print(f"tasker demo: screenshot failed: {exc}", file=sys.stderr)
            self.exit_code = 1
        except Exception as exc:
            print(f"tasker demo: screenshot failed: {exc}", file=sys.stderr)
            self.exit_code = 1
        else:
            print(f"screenshot: {path} ({width}×{height})", flush=True)
        self.screenshot_done = True
        if self.test_mode:
            self._maybe_quit()
        return False


def configure_manager(cluster: str | None = None) -> None:
    """The demo's ``task_mgr`` options: room for the four flood workers, and
    workers at a lower CPU priority than the UI (``nice 10``), as a desktop app
    running CPU-bound work should; ``cluster``: where ``run_on_cluster`` runs
    (``--cluster``: an embedded LocalCluster of two workers, or an address)."""
    from .. import task_mgr

    task_mgr.initialize(max_processes=4, worker_nice=10)
    if cluster is not None:
        task_mgr.initialize(cluster=cluster)
