"""What the demo does, shared by the GTK window and the terminal view.

``DemoTasks`` starts each demo task on a manager; ``DemoScript`` runs the
scripted tour used at start-up, in ``--test-mode`` and in the terminal:

1. start a download (coroutine), an image job (process), a checksum (thread),
   a settings loader that fails on purpose (thread) and a photo indexer
   (process) and a "load → analyse → export" chain (``then``: thread, process,
   thread; one row) — and with ``--cluster`` the image job on the Dask cluster too;
2. pause the photo indexer once it has made a little progress, resume it
   ``pause_for`` seconds later, and cancel it once it has made some more;
3. when the image is done, start the flood: four processes reporting progress
   as fast as they can, and the thumbnails batch (its tiles fill the preview);
4. when everything has ended, call ``on_finished``.

All of it runs on the main thread: the script is driven by ``tasks_updated``
and ``when_done`` callbacks only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._core._task import Task
from .._widgets._binding import clock_now
from . import _jobs

FLOOD_WORKERS = 4


@dataclass
class Outcome:
    """How one task ended, for the demo's log."""

    name: str
    kind: str
    status: str
    text: str
    seconds: float


@dataclass
class DemoTasks:
    """Starts the demo's tasks on ``manager`` (``speed`` < 1 runs them faster)."""

    manager: Any
    speed: float = 1.0
    on_outcome: Callable[[Outcome], object] | None = None
    on_preview: Callable[[Task[Any], dict[str, Any]], object] | None = None
    on_failure: Callable[[Task[Any]], object] | None = None
    flood_seconds: float = 3.0
    #: ``run_on_cluster`` is configured (``--cluster``): the tour renders there too.
    cluster: bool = False
    started: dict[int, float] = field(default_factory=dict)

    def download(self) -> Task[Any]:
        return self._track(
            self.manager.add_coroutine(
                _jobs.download,
                "https://example.org/data/maps-europe.zip",
                speed=self.speed,
                key="download maps",
                when_done=self._done,
            )
        )

    def image(self) -> Task[Any]:
        return self._render(self.manager.run_process, "render image")

    def cluster_image(self) -> Task[Any]:
        """The same render job on the Dask cluster (``run_on_cluster``): previews, progress, cancel."""
        return self._render(self.manager.run_on_cluster, "render on cluster")

    def _render(self, start: Callable[..., Task[Any]], key: str) -> Task[Any]:
        return self._track(
            start(_jobs.render_image, speed=self.speed, key=key, when_done=self._done, when_event=self._event)
        )

    def checksum(self) -> Task[Any]:
        return self._track(
            self.manager.run_thread(_jobs.checksum, 160, speed=self.speed, key="checksum", when_done=self._done)
        )

    def failing(self) -> Task[Any]:
        return self._track(
            self.manager.run_thread(
                _jobs.failing_job, after=1.2 * self.speed, key="load settings", when_done=self._done
            )
        )

    def indexer(self) -> Task[Any]:
        return self._track(
            self.manager.run_process(
                _jobs.long_job, seconds=30.0 * self.speed, key="index photos", when_done=self._done
            )
        )

    def flood(self) -> list[Task[Any]]:
        return [
            self._track(
                self.manager.run_process(
                    _jobs.flood, seconds=self.flood_seconds, key=f"flood {i + 1}", when_done=self._done
                )
            )
            for i in range(FLOOD_WORKERS)
        ]

    def thumbnails(self) -> Task[Any]:
        """A batch (``map``): a thumbnail per "photo", in processes; each shown as it arrives."""
        import functools

        self._mosaic: Any = None
        self._mosaic_shown = 0
        return self._track(
            self.manager.map(
                functools.partial(_jobs.thumbnail, speed=self.speed), range(_jobs.THUMBNAILS),
                kind="process", key="thumbnails", when_item=self._thumbnail, when_done=self._done,
            )
        )

    def _thumbnail(self, batch: Any, index: int, tile: Any, error: BaseException | None) -> None:
        import numpy as np

        if self._mosaic is None:
            self._mosaic = np.zeros((_jobs.HEIGHT, _jobs.WIDTH, 4), dtype=np.uint8)
        if error is None:
            columns = _jobs.WIDTH // _jobs.TILE
            top, left = (index // columns) * _jobs.TILE, (index % columns) * _jobs.TILE
            self._mosaic[top : top + _jobs.TILE, left : left + _jobs.TILE] = tile
        done = batch.done_count
        if self.on_preview is not None and (done - self._mosaic_shown >= 12 or done == _jobs.THUMBNAILS):
            self._mosaic_shown = done
            self.on_preview(batch, {"stage": "thumbnails", "rows": done, "rgba": self._mosaic})

    def pipeline(self) -> Task[Any]:
        """A chain (``then``): load (thread) → analyse (process) → export (thread), shown as one row."""
        load = self.manager.run_thread(_jobs.load_data, speed=self.speed, visible=False)
        analysed = load.then(_jobs.analyse, speed=self.speed, kind="process", visible=False)
        return self._track(
            analysed.then(
                _jobs.export, speed=self.speed, kind="thread", key="load → analyse → export", when_done=self._done
            )
        )

    def _track(self, task: Task[Any]) -> Task[Any]:
        self.started[task.id] = clock_now(self.manager)()
        return task

    def _event(self, task: Task[Any], name: str, data: Any) -> None:
        if name == "preview" and self.on_preview is not None:
            self.on_preview(task, data)

    def _done(self, task: Task[Any]) -> None:
        now = clock_now(self.manager)()  # the manager's clock, as its timeouts
        seconds = now - self.started.pop(task.id, now)
        status = str(task.get_status())
        if status == "completed":
            text = _summary(task.result())
        elif status == "failed":
            error = task.exception()
            text = f"{type(error).__name__}: {error}"
            if self.on_failure is not None:
                self.on_failure(task)
        else:
            text = "canceled"
        if self.on_outcome is not None:
            self.on_outcome(Outcome(task.name, task.kind, status, text, seconds))


def _summary(result: Any) -> str:
    if isinstance(result, dict) and "width" in result:
        return f"{result['width']}×{result['height']} image"
    if isinstance(result, int):
        return f"{result:,} progress updates"
    if isinstance(result, list):
        return f"{len(result)} thumbnails"
    return str(result)


class DemoScript:
    """The scripted tour (see the module doc). Call ``start()`` on the main thread."""

    def __init__(
        self,
        tasks: DemoTasks,
        on_finished: Callable[[], object] | None = None,
        cancel_at: float = 0.06,
        flood: bool = True,
        on_flood: Callable[[], object] | None = None,
        pause_at: float = 0.03,
        pause_for: float = 0.8,
        on_note: Callable[[str], object] | None = None,
    ) -> None:
        self.tasks = tasks
        self.on_finished = on_finished
        self.on_flood = on_flood
        self.on_note = on_note
        self.cancel_at = cancel_at
        self.pause_at = pause_at
        self.pause_for = pause_for
        self.paused = False
        self.with_flood = flood
        self.live: dict[int, Task[Any]] = {}
        self.indexer: Task[Any] | None = None
        self.image: Task[Any] | None = None
        self.download: Task[Any] | None = None
        self.canceled = False
        self.flood_started = False
        self.finished = False
        self.outcomes: list[Outcome] = []

    def start(self) -> None:
        manager = self.tasks.manager
        manager.tasks_updated.connect(self._on_update, weak=False)
        user_outcome = self.tasks.on_outcome

        def outcome(result: Outcome) -> None:
            self.outcomes.append(result)
            if user_outcome is not None:
                user_outcome(result)
            self._check()

        self.tasks.on_outcome = outcome
        t = self.tasks
        download = self.download = t.download()
        self.image = t.image()
        checksum = t.checksum()
        failing = t.failing()
        self.indexer = t.indexer()
        started = [download, self.image, checksum, failing, self.indexer, t.pipeline()]
        if t.cluster:
            started.append(t.cluster_image())
        for task in started:
            self.live[task.id] = task

    def stop(self) -> None:
        self.tasks.manager.tasks_updated.disconnect(self._on_update)

    def _on_update(self, sender: Any, tasks: list[Task[Any]], progress: float, **_: Any) -> None:
        self._check()

    def _note(self, text: str) -> None:
        if self.on_note is not None:
            self.on_note(text)

    def _resume_indexer(self) -> None:
        indexer = self.indexer
        if indexer is not None and indexer.resume():
            self._note(f"{indexer.name} resumed")

    def _check(self) -> None:
        indexer = self.indexer
        if not self.paused and indexer is not None and indexer.get_progress() >= self.pause_at:
            self.paused = True  # what the row's pause button does (pausable=True)
            if indexer.pause():
                self._note(f"{indexer.name} paused at {indexer.get_progress():.0%} (its worker is stopped)")
                self.tasks.manager.schedule_delayed_on_main_thread(self.pause_for, self._resume_indexer)
        if (
            not self.canceled
            and indexer is not None
            and not indexer.is_paused()
            and (indexer.get_progress() >= self.cancel_at or indexer.is_final())
        ):
            self.canceled = True
            indexer.cancel()
        image = self.image
        if self.with_flood and not self.flood_started and image is not None and image.is_final():
            self.flood_started = True
            if self.on_flood is not None:
                self.on_flood()
            for task in [*self.tasks.flood(), self.tasks.thumbnails()]:
                self.live[task.id] = task
        for task_id in [i for i, task in self.live.items() if task.is_final()]:
            del self.live[task_id]
        ready = self.flood_started or not self.with_flood
        if not self.finished and ready and not self.live and len(self.outcomes) >= self._expected():
            self.finished = True
            self.stop()
            if self.on_finished is not None:
                self.on_finished()

    def _expected(self) -> int:
        return 6 + self.tasks.cluster + (FLOOD_WORKERS + 1 if self.with_flood else 0)
