"""tasker's widgets, one list of scenarios for every toolkit (run by test_widgets.py).

``python tests/widgets/scenarios.py TOOLKIT NAME [ARG]`` (TOOLKIT: gtk, qt, tk)
builds the widgets of ``tasker.<toolkit>`` in a real window, drives the real
event loop through a :mod:`drivers` object and prints ``RESULT {json}`` last.
Each runs in its own process: the pytest process must not import a toolkit.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import weakref
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gtk"))  # gtk_jobs: workers import it too

import gtk_jobs  # noqa: E402
from drivers import DRIVERS, Driver  # noqa: E402


class Errors(logging.Handler):
    """Everything logged by tasker (a receiver that raised, a callback that failed)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []
        logging.getLogger("tasker").addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())


def three(drv: Driver, manager: Any, **bar_options: Any) -> tuple[Any, Any, Any, Any]:
    window = drv.window()
    banner = drv.make(window, "TaskErrorBanner", manager)
    view = drv.make(window, "TaskListView", manager)
    bar = drv.make(window, "TaskProgressBar", manager, idle_text="Idle", **bar_options)
    drv.show(window)
    drv.run_until(lambda: view.is_receiving and bar.is_receiving and banner.is_receiving, what="receiving")
    return window, banner, view, bar


# -- the widgets follow the tasks --------------------------------------------------------------
def scenario_follow(drv: Driver, which: str = "custom") -> dict[str, Any]:
    from tasker import TaskManager, task_mgr

    manager: Any = task_mgr if which == "shared" else TaskManager(max_processes=2)
    _window, banner, view, bar = three(drv, None if which == "shared" else manager)
    out: dict[str, Any] = {"idle_before": {"text": drv.bar_label(bar), "busy": bar.busy}}
    signalled: list[str] = []
    drv.on_list_signal(view, "task_failed", lambda task: signalled.append(f"failed:{task.name}"))
    drv.on_list_signal(view, "task_ended", lambda task: signalled.append(f"ended:{task.name}"))

    alpha = manager.run_thread(gtk_jobs.gated, 0.25, "quarter way", key="alpha")
    beta = manager.add_coroutine(gtk_jobs.gated_async, "no progress here", key="beta")
    gamma = manager.run_process(gtk_jobs.steady, 3.0, key="gamma")
    delta = manager.run_thread(gtk_jobs.gated, 0.5, "about to fail", fail=True, key="delta")
    row: Callable[[Any], Any] = view.get_row
    drv.run_until(
        lambda: (
            len(view.rows) == 4
            and drv.row_fraction(row(alpha)) == 0.25
            and row(alpha).message == "quarter way"
            and row(delta).message == "about to fail"
        ),
        what="four rows",
    )
    out["rows"] = [[r.task.name, drv.kind_text(r)] for r in view.rows]
    out["alpha"] = {"fraction": drv.row_fraction(row(alpha)), "message": row(alpha).message}
    drv.run_until(lambda: row(beta).pulsing, 5, "beta pulsing")
    out["beta_pulsing"] = row(beta).pulsing
    drv.run_until(lambda: drv.bar_label(bar) == "about to fail" and bar.busy, 5, "status bar")
    out["bar_busy"] = {"text": drv.bar_label(bar), "busy": bar.busy, "count": bar.count_text, "fraction": bar.fraction}
    drv.run_until(lambda: not drv.bar_gone(bar), 5, "the bar shown")
    drv.run_until(lambda: row(gamma) is not None and row(gamma).eta, 10, "gamma ETA")
    out["gamma"] = {"eta": row(gamma).eta, "message": row(gamma).message, "fraction": row(gamma).fraction}

    drv.click(row(alpha).cancel_button)
    out["alpha_canceling"] = {"message": row(alpha).message, "enabled": drv.cancel_enabled(row(alpha))}
    drv.run_until(lambda: alpha.is_final() and row(alpha) is None, 10, "alpha canceled and gone")
    out["alpha_status"] = str(alpha.get_status())
    out["rows_after_cancel"] = [r.task.name for r in view.rows]

    gtk_jobs.GATE.set()
    drv.run_until(lambda: not manager.has_tasks() and not view.rows and banner.failures, 15, "all ended")
    drv.run_until(lambda: not bar.busy and drv.bar_gone(bar), 5, "status bar idle, bar gone")
    out["after"] = {
        "statuses": {t.name: str(t.get_status()) for t in (alpha, beta, gamma, delta)},
        "banner": banner.failures,
        "revealed": drv.revealed(banner),
        "bar": {"text": drv.bar_label(bar), "busy": bar.busy, "count": bar.count_text},
        "signals": signalled,
    }
    # A task that fails before any update is never listed; task_ended still reports it.
    manager.run_thread(gtk_jobs.fail_fast, key="quick automatic")
    manager.run_thread(gtk_jobs.fail_fast, key="quick when_done", when_done=banner.when_done)
    drv.run_until(lambda: len(banner.failures) == 3, 10, "quick failures")
    out["quick"] = [title for title, _ in banner.failures]
    drv.click(banner.entries[0].dismiss_button)
    drv.run_until(lambda: len(banner.failures) == 2, 5, "dismissed")
    out["after_dismiss"] = len(banner.failures)
    banner.clear()
    drv.spin(0.05)
    out["after_clear"] = {"entries": len(banner.failures), "revealed": drv.revealed(banner)}
    if manager is not task_mgr:
        manager.shutdown()
    return out


# -- idle: fade or hide ------------------------------------------------------------------------
def scenario_idle(drv: Driver) -> dict[str, Any]:
    from tasker import TaskManager

    manager = TaskManager()
    window = drv.window()
    fade = drv.make(window, "TaskProgressBar", manager, idle_text="Ready")
    hide = drv.make(window, "TaskProgressBar", manager, idle_mode="hide", show_count=False)
    drv.make(window, "TaskListView", manager)
    drv.show(window)
    drv.run_until(lambda: fade.is_receiving and hide.is_receiving, what="receiving")
    drv.spin(0.1)
    out: dict[str, Any] = {"before": {"fade_gone": drv.bar_gone(fade), "hide_shown": drv.shown(hide)}}
    task = manager.run_thread(gtk_jobs.steady, 1.0, 20, key="one")
    drv.run_until(lambda: fade.busy and hide.busy and fade.fraction > 0, 10, "busy")
    drv.run_until(lambda: not drv.bar_gone(fade) and drv.shown(hide), 5, "the bars shown")
    # The job reports its progress, then its message: the strip may get the first
    # progress alone and show the placeholder "one…" until the message follows.
    drv.run_until(lambda: drv.bar_label(fade) != "one…", 5, "the strip to show more than the task's name")
    out["busy"] = {
        "fade_gone": drv.bar_gone(fade),
        "hide_shown": drv.shown(hide),
        "count": fade.count_text,
        "hide_count": hide.count_text,
        "text": drv.bar_label(fade),
    }
    drv.run_until(lambda: task.is_final() and not fade.busy, 10, "idle again")
    drv.run_until(lambda: drv.bar_gone(fade), 5, "faded")
    drv.spin(0.1)
    out["after"] = {"fade_gone": True, "text": drv.bar_label(fade), "hide_shown": drv.shown(hide)}
    out["after"]["fraction"] = fade.fraction
    manager.shutdown()
    return out


# -- invisible tasks are not shown ----------------------------------------------------------------
def scenario_invisible(drv: Driver) -> dict[str, Any]:
    from tasker import TaskManager

    manager = TaskManager()
    _window, banner, view, bar = three(drv, manager)
    ended: list[str] = []
    drv.on_list_signal(view, "task_ended", lambda task: ended.append(task.name))
    hidden = manager.run_thread(gtk_jobs.gated, 0.5, "hidden work", key="hidden", visible=False)
    hidden_fail = manager.run_thread(gtk_jobs.fail_fast, key="hidden failure", visible=False)
    shown = manager.run_thread(gtk_jobs.gated, 0.25, "shown work", key="shown")
    drv.run_until(lambda: len(view.rows) >= 1 and hidden_fail.is_final() and bar.busy, 10, "rows")
    drv.spin(0.3)
    view.refresh()  # a refresh from the manager leaves them out too
    out: dict[str, Any] = {
        "rows": [r.task.name for r in view.rows],
        "count": bar.count_text,
        "text": drv.bar_label(bar),
        "banner": banner.failures,
        "hidden_failure": str(hidden_fail.get_status()),
    }
    gtk_jobs.GATE.set()
    drv.run_until(lambda: hidden.is_final() and shown.is_final() and not view.rows, 10, "ended")
    drv.spin(0.1)
    out["ended_signals"] = ended
    manager.shutdown()
    return out


# -- a destroyed widget is freed -----------------------------------------------------------------
def scenario_destroy(drv: Driver) -> dict[str, Any]:
    from tasker import TaskManager

    manager = TaskManager()
    window, banner, view, bar = three(drv, manager)
    out: dict[str, Any] = {"receivers_shown": len(manager.tasks_updated.receivers)}
    task = manager.run_thread(gtk_jobs.steady, 0.6, 6, key="shown")
    drv.run_until(lambda v=view: len(v.rows) == 1, 10, "a row")
    refs = [weakref.ref(w) for w in (banner, view, bar, view.rows[0])]
    drv.destroy(window)
    drv.spin(0.1)
    out["receiving_after_destroy"] = [w.is_receiving for w in (banner, view, bar)]
    del window, banner, view, bar
    for _ in range(3):
        gc.collect()
        drv.spin(0.05)
    out["alive_after_gc"] = [r() is not None for r in refs]
    out["receivers_after"] = len(manager.tasks_updated.receivers) + len(manager.task_ended.receivers)
    drv.run_until(task.is_final, 10, "the task ends")
    after = manager.run_thread(gtk_jobs.steady, 0.2, 4)
    drv.run_until(lambda: after.is_final() and not manager.has_tasks(), 10, "task after destroy")
    drv.spin(0.1)
    out["task_after"] = str(after.get_status())
    manager.shutdown()
    return out


# -- a task ending after its window closed touches nothing (silx#647) -----------------------------
def scenario_late_end(drv: Driver) -> dict[str, Any]:
    from tasker import TaskManager

    errors = Errors()
    manager = TaskManager()
    window, banner, view, bar = three(drv, manager)
    held = [banner, view, bar]  # the application keeps its Python objects
    ended: list[str] = []
    drv.on_list_signal(view, "task_ended", lambda task: ended.append(task.name))
    running = manager.run_thread(gtk_jobs.gated, None, "waiting", key="outlives its window")
    failing = manager.run_thread(
        gtk_jobs.gated, 0.3, "will fail", fail=True, key="fails later", when_done=banner.when_done
    )
    drv.run_until(lambda: len(view.rows) == 2 and view.get_row(running).pulsing, 10, "rows, pulsing")
    drv.destroy(window)
    drv.spin(0.1)
    out: dict[str, Any] = {"receiving": [w.is_receiving for w in held]}
    gtk_jobs.GATE.set()  # both end now, after the window is gone
    drv.run_until(lambda: running.is_final() and failing.is_final() and not manager.has_tasks(), 10, "ended")
    drv.spin(0.3)  # pulse timers, fades, deferred deletes
    out.update(
        statuses=[str(running.get_status()), str(failing.get_status())],
        logged=errors.records,
        ended_signals=ended,
        receivers=len(manager.tasks_updated.receivers) + len(manager.task_ended.receivers),
    )
    manager.shutdown()
    return out


# -- pause and resume from a row -------------------------------------------------------------------
def scenario_pause(drv: Driver) -> dict[str, Any]:
    from tasker import TaskManager

    manager = TaskManager(max_processes=1)
    window = drv.window()
    view = drv.make(window, "TaskListView", manager, pausable=True)
    plain = drv.make(window, "TaskListView", manager)
    bar = drv.make(window, "TaskProgressBar", manager, idle_text="Idle")
    drv.show(window)
    drv.run_until(lambda: view.is_receiving and plain.is_receiving and bar.is_receiving, what="receiving")
    task = manager.run_process(gtk_jobs.steady, 60.0, 600, key="export")
    drv.run_until(lambda: view.get_row(task) is not None and view.get_row(task).fraction > 0, 15, "progress")
    row = view.get_row(task)
    out: dict[str, Any] = {"before": {"button": drv.pause_state(row), "plain": drv.pause_state(plain.get_row(task))}}
    drv.click(row.pause_button)
    drv.run_until(lambda: task.is_paused() and row.paused and bar.count_text == "1 task, 1 paused", 10, "paused")
    out["paused"] = {
        "button": drv.pause_state(row),
        "message": row.message.split(" — ")[0],
        "status": str(task.get_status()),
        "count": bar.count_text,
        "eta": row.eta,
        "plain": plain.get_row(task).message.split(" — ")[0],
    }
    drv.click(row.pause_button)
    drv.run_until(lambda: row.message.startswith("step") and bar.count_text == "1 task", 10, "resumed")
    out["resumed"] = {"button": drv.pause_state(row), "count": bar.count_text, "paused": task.is_paused()}
    drv.click(row.pause_button)
    drv.run_until(lambda: row.paused, 10, "paused again")
    drv.click(row.cancel_button)  # cancel a paused task
    drv.run_until(task.is_final, 15, "canceled")
    out["canceled"] = str(task.get_status())
    manager.shutdown()
    return out


# -- show_after: quick tasks never flicker into view ------------------------------------------------
def scenario_show_after(drv: Driver) -> dict[str, Any]:
    from tasker import TaskManager

    manager = TaskManager(max_processes=1)
    window = drv.window()
    view = drv.make(window, "TaskListView", manager, show_after=30.0)
    bar = drv.make(window, "TaskProgressBar", manager, show_after=30.0, idle_text="Idle")
    later = drv.make(window, "TaskListView", manager, show_after=0.3)
    drv.show(window)
    drv.run_until(lambda: view.is_receiving and bar.is_receiving and later.is_receiving, what="receiving")
    seen: dict[str, Any] = {"rows": 0, "busy": 0, "later": []}
    add_row, show_busy, add_later = view._add_row, bar._show_busy, later._add_row

    def counted_row(row: Any) -> None:
        seen["rows"] += 1
        add_row(row)

    def counted_busy() -> None:
        seen["busy"] += 1
        show_busy()

    def timed_row(row: Any) -> None:
        seen["later"].append(later._now() - later._show_after.first_seen(row.task))
        add_later(row)

    view._add_row, bar._show_busy, later._add_row = counted_row, counted_busy, timed_row
    quick = [
        manager.run_thread(gtk_jobs.noop),
        manager.run_process(gtk_jobs.square, 7),
        manager.add_coroutine(gtk_jobs.events_async, 2),
        manager.run_thread(gtk_jobs.steady, 0.05, 5),
    ]
    drv.run_until(lambda: all(t.is_final() for t in quick) and not manager.has_tasks(), 15, "quick tasks end")
    drv.spin(0.2)
    out: dict[str, Any] = {"quick": {"rows": seen["rows"], "busy": seen["busy"], "bar": drv.bar_label(bar)}}
    slow = manager.run_thread(gtk_jobs.gated, 0.5, "slow work", key="slow")
    drv.run_until(lambda: len(later.rows) == 1, 10, "the slow task shown")
    out["slow"] = {
        "waited_at_least": min(seen["later"]) >= 0.3,
        "rows_30s": seen["rows"],
        "busy_30s": seen["busy"],
        "message": later.rows[0].message,
    }
    gtk_jobs.GATE.set()
    drv.run_until(lambda: slow.is_final() and not later.rows, 10, "slow ended")
    manager.shutdown()
    return out


SCENARIOS: dict[str, Callable[..., dict[str, Any]]] = {
    "pause": scenario_pause,
    "show_after": scenario_show_after,
    "follow": scenario_follow,
    "idle": scenario_idle,
    "invisible": scenario_invisible,
    "destroy": scenario_destroy,
    "late_end": scenario_late_end,
}


def main() -> int:
    toolkit, name, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    try:
        drv = DRIVERS[toolkit]()
    except RuntimeError as exc:
        if str(exc).startswith("skip: "):
            print("RESULT " + json.dumps({"skip": str(exc)[6:]}))
            return 0
        raise
    result = SCENARIOS[name](drv, *args)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
