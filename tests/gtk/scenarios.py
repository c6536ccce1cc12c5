"""GTK 4 scenarios, each run in its own process by test_gtk.py.

``python tests/gtk/scenarios.py NAME [ARG]`` runs one scenario in a real GTK
main loop and prints ``RESULT {json}`` as its last line. The pytest process
itself never imports Gtk (the rest of the suite relies on the headless
default scheduler), hence the subprocess.

Scenarios drive the GLib main loop themselves (``run_until`` iterates the
default main context until a condition holds, with a deadline), so the code
reads like a test while every callback is dispatched by the real loop.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import gi

gi.require_version("Gtk", "4.0")
import gtk_jobs  # noqa: E402  (tests/gtk is sys.path[0]; workers inherit sys.path)
from gi.repository import GLib, Gtk  # noqa: E402

MAIN = threading.main_thread()


def run_until(predicate: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> None:
    """Iterate the GLib main loop until ``predicate()`` is true."""
    context = GLib.MainContext.default()
    deadline = time.monotonic() + timeout
    wake = GLib.timeout_add(10, _keep)
    try:
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            context.iteration(True)
    finally:
        GLib.source_remove(wake)


def _keep() -> bool:
    return True


def spin(seconds: float) -> None:
    """Let the main loop run for ``seconds`` (animations, pending idles)."""
    end = time.monotonic() + seconds
    run_until(lambda: time.monotonic() >= end, seconds + 5, "spin")


def window_with(*widgets: Any, width: int = 640, height: int = 480) -> Any:
    window = Gtk.Window(title="tasker test")
    window.set_default_size(width, height)
    box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
    for widget in widgets:
        box.append(widget)
    window.set_child(box)
    window.present()
    return window


# -- every callback on the GTK main thread ----------------------------------------
def scenario_callbacks() -> dict[str, Any]:
    from tasker import task_mgr  # never initialize()d: GLib must be picked by itself

    window_with(Gtk.Label(label="callbacks"))
    calls: dict[str, list[bool]] = {}
    state = {"active": 0, "overlaps": 0}

    def record(name: str) -> None:
        state["active"] += 1
        if state["active"] > 1:
            state["overlaps"] += 1
        on_main = threading.current_thread() is MAIN and GLib.MainContext.default().is_owner()
        calls.setdefault(name, []).append(on_main)
        state["active"] -= 1

    def on_update(sender: Any, tasks: list[Any], progress: float) -> None:
        record("tasks_updated")

    task_mgr.tasks_updated.connect(on_update, weak=False)
    done: list[str] = []

    def when_done(task: Any) -> None:
        record("when_done")
        done.append(task.kind)

    def when_event(task: Any, name: str, data: Any) -> None:
        record(f"when_event:{task.kind}")

    task_mgr.add_coroutine(gtk_jobs.events_async, when_done=when_done, when_event=when_event)
    task_mgr.run_thread(gtk_jobs.events_sync, when_done=when_done, when_event=when_event)
    task_mgr.run_process(gtk_jobs.events_sync, when_done=when_done, when_event=when_event)
    task_mgr.run_thread(
        lambda ctx: task_mgr.schedule_on_main_thread(record, "schedule_on_main_thread:from task"),
        when_done=when_done,
    )
    threading.Thread(
        target=task_mgr.schedule_on_main_thread, args=(record, "schedule_on_main_thread:from thread")
    ).start()
    task_mgr.schedule_on_main_thread(record, "schedule_on_main_thread:from main")
    run_until(lambda: len(done) == 4 and not task_mgr.has_tasks(), what="four tasks")
    spin(0.2)
    return {
        "scheduler": task_mgr.scheduler.name,
        "calls": {name: len(flags) for name, flags in calls.items()},
        "all_on_main": all(all(flags) for flags in calls.values()),
        "overlaps": state["overlaps"],
        "done_kinds": sorted(done),
    }


# -- a 5 ms timeout while four worker processes flood progress ----------------------------
def _schedstat() -> Any:
    """Reads the calling thread's (CPU s, run-queue wait s) from Linux's schedstat; None elsewhere."""
    try:
        fd = os.open(f"/proc/self/task/{threading.get_native_id()}/schedstat", os.O_RDONLY | os.O_CLOEXEC)
    except (OSError, AttributeError):
        return None

    def read() -> tuple[float, float]:
        cpu, waited = os.pread(fd, 128, 0).split()[:2]
        return int(cpu) / 1e9, int(waited) / 1e9

    return read


class Heartbeat:
    """A 5 ms GLib timeout recording the gaps between its runs while ``on``.

    On Linux each gap is split by the main thread's schedstat: CPU time, time
    *runnable* but waiting for a CPU (the machine's load), and the rest beyond
    the 5 ms period, when the thread was *blocked*: waiting for the X server,
    the GIL or a lock. ``blocked_ms`` sums that rest over the run.
    """

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self.on = False
        self.last = time.monotonic()
        self.sched = _schedstat()
        self.blocked = 0.0
        self.waited = 0.0
        self.prev = self.sched() if self.sched else (0.0, 0.0)
        self.source = GLib.timeout_add(5, self.beat)

    def beat(self) -> bool:
        now = time.monotonic()
        stat = self.sched() if self.sched else (0.0, 0.0)
        if self.on:
            gap = now - self.last
            self.gaps.append(gap)
            cpu, waited = stat[0] - self.prev[0], stat[1] - self.prev[1]
            self.waited += waited
            self.blocked += max(0.0, gap - 0.005 - cpu - waited)
        self.last, self.prev = now, stat
        return True

    def start(self) -> None:
        self.on, self.last = True, time.monotonic()
        self.blocked = self.waited = 0.0
        if self.sched:
            self.prev = self.sched()

    def stop(self) -> dict[str, Any]:
        self.on = False
        GLib.source_remove(self.source)
        stalls = sorted(max(0.0, g - 0.005) * 1000 for g in self.gaps)
        result: dict[str, Any] = {
            "beats": len(stalls),
            "max_stall_ms": round(stalls[-1], 2),
            "median_stall_ms": round(statistics.median(stalls), 3),
            "p99_stall_ms": round(stalls[max(0, int(len(stalls) * 0.99) - 1)], 2),
        }
        if self.sched:
            result.update(blocked_ms=round(self.blocked * 1000, 1), cpu_wait_ms=round(self.waited * 1000, 1))
        return result


def scenario_stall(seconds: str = "3.0", nice: str = "0") -> dict[str, Any]:
    """Four process workers call set_progress flat out; the UI shows them.

    ``nice`` > 0 lowers the workers' CPU priority (``worker_initializer=os.nice``),
    as a desktop app may choose to; the test uses the default (0).
    """
    from tasker import TaskManager
    from tasker.demo._jobs import flood
    from tasker.gtk import TaskListView, TaskProgressBar

    duration = float(seconds)
    options: dict[str, Any] = {"max_processes": 4}
    if int(nice):
        options.update(worker_initializer=os.nice, worker_initargs=(int(nice),))
    manager = TaskManager(**options)
    view = TaskListView(manager)
    bar = TaskProgressBar(manager)
    window_with(view, bar)
    run_until(lambda: view.is_receiving, what="realized")

    # Warm the pool: four overlapping tasks start four workers.
    warm = [manager.run_process(gtk_jobs.steady, 0.5, 5) for _ in range(4)]
    run_until(lambda: all(t.is_final() for t in warm), 60, "warm-up")

    updates = {"n": 0}

    def on_update(sender: Any, **_: Any) -> None:
        updates["n"] += 1

    manager.tasks_updated.connect(on_update, weak=False)
    heart = Heartbeat()
    floods = [manager.run_process(flood, duration, key=f"flood {i + 1}") for i in range(4)]
    run_until(lambda: all(t.get_progress() > 0.02 for t in floods), 30, "floods running")
    heart.start()
    updates["n"] = 0
    started, cpu, pcpu = time.monotonic(), time.thread_time(), time.process_time()
    run_until(lambda: any(t.is_final() for t in floods), 30, "a flood to end")
    result = heart.stop()
    elapsed, cpu = time.monotonic() - started, time.thread_time() - cpu
    pcpu = time.process_time() - pcpu
    run_until(lambda: all(t.is_final() for t in floods) and not view.rows, 30, "floods ended")
    reported = [t.result() for t in floods]
    manager.shutdown()
    result.update(
        seconds=round(elapsed, 2),
        main_thread_busy=round(cpu / elapsed, 3),
        parent_process_busy=round(pcpu / elapsed, 3),
        tasks_updated_per_s=round(updates["n"] / elapsed, 1),
        progress_reports=sum(reported),
        cpus=os.cpu_count(),
        load=round(os.getloadavg()[0], 2),
    )
    return result


def scenario_machinery(seconds: str = "3.0") -> dict[str, Any]:
    """``stall`` without tasker's widgets: the same flood, readers, throttle and
    ``tasks_updated`` (to a receiver that counts), in a window holding only a label.

    What tasker's own machinery costs the UI thread, apart from drawing.
    """
    from tasker import TaskManager
    from tasker.demo._jobs import flood

    manager = TaskManager(max_processes=4)
    window_with(Gtk.Label(label="machinery"))
    spin(0.2)
    warm = [manager.run_process(gtk_jobs.steady, 0.5, 5) for _ in range(4)]
    run_until(lambda: all(t.is_final() for t in warm), 60, "warm-up")
    updates = {"n": 0}

    def on_update(sender: Any, **_: Any) -> None:
        updates["n"] += 1

    manager.tasks_updated.connect(on_update, weak=False)
    heart = Heartbeat()
    floods = [manager.run_process(flood, float(seconds), key=f"flood {i + 1}") for i in range(4)]
    run_until(lambda: all(t.get_progress() > 0.02 for t in floods), 30, "floods running")
    heart.start()
    updates["n"] = 0
    started, cpu = time.monotonic(), time.thread_time()
    run_until(lambda: any(t.is_final() for t in floods), 30, "a flood to end")
    result = heart.stop()
    elapsed, cpu = time.monotonic() - started, time.thread_time() - cpu
    run_until(lambda: all(t.is_final() for t in floods), 30, "floods ended")
    manager.shutdown()
    result.update(
        seconds=round(elapsed, 2),
        main_thread_busy=round(cpu / elapsed, 3),
        tasks_updated_per_s=round(updates["n"] / elapsed, 1),
        cpus=os.cpu_count(),
        load=round(os.getloadavg()[0], 2),
    )
    return result


def scenario_baseline(seconds: str = "3.0") -> dict[str, Any]:
    """The same heartbeat next to four plain busy processes (no tasker)."""
    window_with(Gtk.Label(label="baseline"))
    spin(0.2)
    return _heartbeat_beside_busy_processes("baseline", seconds)


def _heartbeat_beside_busy_processes(name: str, seconds: str) -> dict[str, Any]:
    """The heartbeat while four plain processes (no tasker) burn ``seconds`` of CPU each."""
    import multiprocessing

    pool = multiprocessing.get_context("spawn").Pool(4)
    try:
        warm = pool.map_async(gtk_jobs.burn, [0.3] * 4)
        run_until(warm.ready, 60, f"{name} warm-up")
        heart = Heartbeat()
        busy = pool.map_async(gtk_jobs.burn, [float(seconds)] * 4)
        spin(0.2)
        heart.start()
        started, cpu = time.monotonic(), time.thread_time()
        run_until(busy.ready, 60, f"{name} burn")
        result = heart.stop()
        elapsed, cpu = time.monotonic() - started, time.thread_time() - cpu
    finally:
        pool.terminate()
        pool.join()
    result.update(
        seconds=round(elapsed, 2),
        main_thread_busy=round(cpu / elapsed, 3),
        cpus=os.cpu_count(),
        load=round(os.getloadavg()[0], 2),
    )
    return result


def scenario_drawn(seconds: str = "3.0") -> dict[str, Any]:
    """``baseline`` with a window redrawn as tasker's is, without tasker.

    Four rows like ``TaskListView``'s (name, message, bar, percent) and a bar
    below, set by a plain 50 ms GLib timer (tasker's default 20 updates a
    second), beside four plain busy processes: what showing progress costs the
    UI on this machine whoever feeds it. ``stall`` ÷ ``drawn`` is tasker's own share.
    """
    bars, percents, widgets = [], [], []
    for i in range(4):
        bar, percent = Gtk.ProgressBar(hexpand=True), Gtk.Label(label="", width_chars=5)
        row = Gtk.Box(spacing=8)
        row.append(bar)
        row.append(percent)
        widgets += [Gtk.Label(label=f"flood {i + 1}", xalign=0.0), Gtk.Label(label="Flooding progress updates…"), row]
        bars.append(bar)
        percents.append(percent)
    overall = Gtk.ProgressBar(show_text=True)
    window_with(*widgets, overall)
    spin(0.2)
    origin = time.monotonic()

    def show() -> bool:
        fraction = (time.monotonic() - origin) / max(float(seconds), 0.1) % 1.0
        for bar, percent in zip(bars, percents, strict=True):
            bar.set_fraction(fraction)
            percent.set_text(f"{fraction:.0%}")
        overall.set_fraction(fraction)
        overall.set_text(f"4 tasks — {fraction:.0%}")
        return True

    GLib.timeout_add(50, show)
    return _heartbeat_beside_busy_processes("drawn", seconds)


# -- asyncio on the GTK loop -----------------------------------------------------------------
def scenario_asyncio() -> dict[str, Any]:
    import asyncio

    from tasker import CancelledError, task_mgr
    from tasker.gtk import glib_loop_factory, use_glib_asyncio

    loop = use_glib_asyncio()
    # Newer PyGObject: no event loop policy is set (policies are deprecated from Python 3.14).
    get_policy = getattr(asyncio.events, "_get_event_loop_policy", None) or asyncio.get_event_loop_policy
    policy_used = type(get_policy()).__name__ == "GLibEventLoopPolicy"
    window_with(Gtk.Label(label="asyncio"))
    ticks = {"n": 0}

    def tick() -> bool:
        ticks["n"] += 1
        return True

    GLib.timeout_add(10, tick)

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {"main_thread": threading.current_thread() is MAIN}
        out["coroutine"] = await task_mgr.add_coroutine(gtk_jobs.events_async)
        out["thread"] = await task_mgr.run_thread(gtk_jobs.square, 7)
        out["process"] = await task_mgr.run_process(gtk_jobs.square, 9)
        out["run_on_main_thread"] = await task_mgr.add_coroutine(gtk_jobs.ask_main_thread)
        try:
            await task_mgr.run_thread(gtk_jobs.fail_fast)
        except RuntimeError as exc:
            out["failed"] = f"RuntimeError: {exc}"
        gated = task_mgr.run_thread(gtk_jobs.gated, None, None)
        gated.cancel()
        try:
            await gated
        except CancelledError:
            out["canceled"] = str(gated.get_status())
        results = await asyncio.gather(*(task_mgr.run_thread(gtk_jobs.square, i) for i in range(5)))
        out["gather"] = results
        out["still_main_thread"] = threading.current_thread() is MAIN
        return out

    result = loop.run_until_complete(asyncio.wait_for(main(), 60))
    result["gtk_ticks_meanwhile"] = ticks["n"]
    result["loop"] = type(loop).__name__
    result["policy_used"] = policy_used
    result["has_loop_factory"] = glib_loop_factory() is not None
    result["same_loop_again"] = use_glib_asyncio() is loop
    return result


# -- a destroyed widget stops receiving ---------------------------------------------------------
def scenario_destroy() -> dict[str, Any]:
    from tasker import TaskManager
    from tasker.gtk import TaskErrorBanner, TaskListView, TaskProgressBar

    manager = TaskManager()
    signal = manager.tasks_updated
    held: dict[str, Any] = {"widgets": [TaskErrorBanner(manager), TaskListView(manager), TaskProgressBar(manager)]}
    held["window"] = window_with(*held["widgets"])
    run_until(lambda: all(w.is_receiving for w in held["widgets"]), what="realized")
    out: dict[str, Any] = {"receivers_shown": len(signal.receivers)}

    # Taken out of the window (unrealized) but still referenced: it stops receiving.
    view = held["widgets"][1]
    box = view.get_parent()
    box.remove(view)
    out["detached"] = {"receiving": view.is_receiving, "receivers": len(signal.receivers)}
    task = manager.run_thread(gtk_jobs.steady, 0.3, 6, key="while detached")
    run_until(lambda: task.is_final() and not manager.has_tasks(), 10, "task while detached")
    spin(0.1)
    out["detached"]["rows"] = len(view.rows)
    box.append(view)  # back in the window: connected again and up to date
    run_until(lambda: held["widgets"][1].is_receiving, 5, "re-realized")
    out["reattached_receivers"] = len(signal.receivers)
    del view, box

    refs = [weakref.ref(w) for w in held["widgets"]]
    held["window"].destroy()
    spin(0.1)
    out["receiving_after_destroy"] = [w.is_receiving for w in held["widgets"]]
    held.clear()
    for _ in range(3):
        gc.collect()
        spin(0.05)
    out["alive_after_gc"] = [r() is not None for r in refs]
    out["receivers_after"] = len(signal.receivers)

    # The manager goes on without them.
    task = manager.run_thread(gtk_jobs.steady, 0.2, 4)
    run_until(task.is_final, 10, "task after destroy")
    spin(0.1)
    out["task_after"] = str(task.get_status())

    # A widget dropped without ever being shown holds no receiver at all.
    lonely = weakref.ref(TaskListView(manager))
    gc.collect()
    out["unshown_collected"] = lonely() is None
    manager.shutdown()
    return out


# -- the README's setup_ui example, as written, in a real window -----------------
def scenario_readme_ui() -> dict[str, Any]:
    from tasker import task_mgr

    def setup_ui(barra_progresso, rotulo_status):  # type: ignore[no-untyped-def]
        # Este handler atualiza a UI com base no progresso geral
        def on_tasks_updated(sender, tasks, progress):  # type: ignore[no-untyped-def]
            barra_progresso.set_fraction(progress)
            if tasks:
                rotulo_status.set_text(tasks[-1].get_message() or "Trabalhando...")
            else:
                rotulo_status.set_text("Ocioso")

        task_mgr.tasks_updated.connect(on_tasks_updated)

    bar, label = Gtk.ProgressBar(), Gtk.Label(label="")
    window_with(bar, label)
    setup_ui(bar, label)
    lambda_calls: list[bool] = []
    task_mgr.tasks_updated.connect(lambda sender, tasks, progress: lambda_calls.append(bool(tasks)))
    gc.collect()  # the nested handler and the lambda must survive this
    fractions: list[float] = []
    texts: list[str] = []

    def watch() -> bool:
        fractions.append(bar.get_fraction())
        texts.append(label.get_text())
        return True

    watcher = GLib.timeout_add(5, watch)
    answers: list[Any] = []
    # The asker first, on its own: while both run, the label shows the newest task's
    # message (the asker's: none), and a cold worker may outlast the steady task.
    asker = task_mgr.run_process(gtk_jobs.ask_once, "overwrite?", when_event=lambda t, name, data: f"{data} yes")
    run_until(lambda: asker.is_final() and not task_mgr.has_tasks(), 20, "the asking task")
    task = task_mgr.run_thread(
        gtk_jobs.steady, 0.4, 8, when_event=lambda t, name, data: answers.append(data) or "yes"
    )
    run_until(lambda: task.is_final() and not task_mgr.has_tasks(), 20, "the example's tasks")
    spin(0.2)
    GLib.source_remove(watcher)
    watch()
    return {
        "max_fraction": max(fractions),
        "mid_fractions": sorted({round(f, 2) for f in fractions if 0.0 < f < 1.0})[:3],
        "texts": sorted(set(texts)),
        "last_text": label.get_text(),
        "lambda_calls": len(lambda_calls),
        "asker": [str(asker.get_status()), asker.result()],
    }


# -- a cluster task in the task list ---------------------------------------------------------
def scenario_cluster() -> dict[str, Any]:
    """A run_on_cluster task (the embedded LocalCluster, one worker) in a TaskListView."""
    from tasker import TaskManager
    from tasker.gtk import TaskListView

    manager = TaskManager(max_processes=1)
    view = TaskListView(manager)
    window_with(view)
    run_until(lambda: view.is_receiving, what="realized")
    task = manager.run_on_cluster(gtk_jobs.gated, 0.5, "on the cluster", key="remote")

    def shown() -> bool:
        row = view.get_row(task)
        return row is not None and row.message == "on the cluster" and row.fraction == 0.5

    run_until(shown, 120, "the cluster task's row")  # the cluster starts first
    row = view.get_row(task)
    out: dict[str, Any] = {
        "kind": row.kind_label.get_text(),
        "classes": sorted(row.kind_label.get_css_classes()),
        "visible": row.kind_label.get_visible(),
    }
    row.cancel_button.emit("clicked")
    run_until(lambda: task.is_final() and view.get_row(task) is None, 30, "canceled and gone")
    out["status"] = str(task.get_status())
    manager.shutdown()
    return out


def scenario_inhibit(log: str, serve: str) -> dict[str, Any]:
    """inhibit_while_busy on a real Gtk.Application, against stand-ins for the GNOME session
    manager and the desktop portal's Inhibit (fake_session.py, on the private session bus
    this process runs under): GTK picks one of them by itself."""
    import subprocess

    from gi.repository import Gio

    from tasker import TaskManager
    from tasker.gtk import inhibit_while_busy

    fake = subprocess.Popen(
        [sys.executable, os.path.join(os.path.dirname(__file__), "fake_session.py"), log, serve],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert fake.stdout is not None and fake.stdout.readline().strip() == "ready"

        def calls() -> list[Any]:
            with open(log) as f:
                return [json.loads(line) for line in f]

        app = Gtk.Application(application_id="io.github.tasker.InhibitTest", flags=Gio.ApplicationFlags.NON_UNIQUE)
        app.register(None)
        manager = TaskManager(main_thread_scheduler="glib")
        inhibitor = inhibit_while_busy(app, "Exporting photos", manager=manager)
        out: dict[str, Any] = {"idle": inhibitor.inhibited}
        hidden = manager.run_thread(gtk_jobs.gated, None, "hidden", visible=False)
        spin(0.2)
        out["invisible_only"] = inhibitor.inhibited
        task = manager.run_thread(gtk_jobs.gated, 0.5, "exporting", key="export")
        out["gtk"] = [Gtk.get_major_version(), Gtk.get_minor_version(), Gtk.get_micro_version()]
        run_until(lambda: inhibitor.inhibited or inhibitor.refused, 10, "inhibited or refused")
        out["refused"] = inhibitor.refused
        if inhibitor.refused:  # nothing took the hold: GTK asked no one, or was told no
            gtk_jobs.GATE.set()
            run_until(lambda: task.is_final() and hidden.is_final() and not inhibitor.refused, 10, "idle")
            out["calls"] = [[c["service"], c["method"], *c["args"]] for c in calls()]
            inhibitor.release()
            manager.shutdown()
            return out
        task.pause()
        run_until(lambda: not inhibitor.inhibited, 10, "released while paused")
        task.resume()
        run_until(lambda: inhibitor.inhibited, 10, "inhibited again")
        gtk_jobs.GATE.set()
        run_until(lambda: task.is_final() and hidden.is_final() and not inhibitor.inhibited, 10, "idle")
        def released() -> int:
            return sum(c["method"] in ("Uninhibit", "Request.Close") for c in calls())

        run_until(lambda: released() == 2, 10, "the session saw both releases")
        out["calls"] = [[c["service"], c["method"], *c["args"]] for c in calls()]
        inhibitor.release()
        out["receivers_after_release"] = len(manager.tasks_updated.receivers)
        manager.shutdown()
        return out
    finally:
        fake.kill()
        fake.wait()


SCENARIOS: dict[str, Callable[..., dict[str, Any]]] = {
    "inhibit": scenario_inhibit,
    "readme_ui": scenario_readme_ui,
    "callbacks": scenario_callbacks,
    "stall": scenario_stall,
    "baseline": scenario_baseline,
    "drawn": scenario_drawn,
    "machinery": scenario_machinery,
    "asyncio": scenario_asyncio,
    "destroy": scenario_destroy,
    "cluster": scenario_cluster,
}


def main() -> int:
    # As pyproject.toml's filterwarnings: a DeprecationWarning from tasker's own code fails.
    warnings.filterwarnings("error", category=DeprecationWarning, module=r"tasker(\.|$)")
    name, args = sys.argv[1], sys.argv[2:]
    if not Gtk.init_check():
        print("RESULT " + json.dumps({"skip": "Gtk.init_check() failed: no usable display"}))
        return 0
    result = SCENARIOS[name](*args)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
