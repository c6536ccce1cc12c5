"""An AT-SPI client of tasker's GTK widgets (what a screen reader sees), and their keyboard use.

``python tests/gtk/a11y_client.py tree|keys|demo`` runs inside its own session bus
(``dbus-run-session``; the bus starts the AT-SPI bus and registry of
at-spi2-core by D-Bus activation) and the X display of the test. It starts
``a11y_app.py`` as a child process, sends it commands, and:

* ``tree`` walks the app's accessibility tree with ``gi.repository.Atspi``
  (names, roles, relations, values, descriptions), presses buttons through
  their AT-SPI action, and listens to the events the toolkit emits (value and
  description changes; announcements where GTK has ``announce``);
* ``keys`` drives the window with real key events (``xdotool``: Tab, Return,
  space) and reads where the focus is;
* ``demo`` uses ``python -m tasker.demo --gtk --no-tour`` through AT-SPI alone.

It prints ``RESULT {json}`` last; ``test_a11y.py`` asserts on it. Every wait has a deadline.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi, GLib  # noqa: E402

HERE = Path(__file__).resolve().parent
APP_NAME = "tasker-a11y-test"
TITLE = "tasker accessibility test"


class AppProcess:
    """``a11y_app.py`` in a child process: one command, one answer."""

    def __init__(self, log: Path) -> None:
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "a11y_app.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, bufsize=1,
        )
        self.ready = self._line("READY ", 60.0)

    def _line(self, prefix: str, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {prefix.strip()} line from the app within {timeout} s")
            readable, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.05))
            if not readable:
                pump(0.0)  # keep the client's own events flowing meanwhile
                continue
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the app exited ({self.proc.wait(5)}) before {prefix.strip()}")
            if line.startswith("ERROR"):
                raise RuntimeError(f"the app: {line.strip()}")
            if line.startswith(prefix):
                result: dict[str, Any] = json.loads(line[len(prefix):])
                return result

    def __call__(self, command: str, timeout: float = 30.0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._line("OK ", timeout)

    def close(self) -> int:
        try:
            self("quit", 15.0)
        finally:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                code = self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # our own child, by its Popen handle
                code = self.proc.wait(5)
            self.log.close()
        return code


def pump(seconds: float) -> None:
    """Dispatch the client's D-Bus events (AT-SPI events arrive on the default main context)."""
    context = GLib.MainContext.default()
    end = time.monotonic() + seconds
    while True:
        while context.pending():
            context.iteration(False)
        if time.monotonic() >= end:
            return
        time.sleep(0.005)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        pump(0.02)


# -- the accessibility tree -------------------------------------------------------------------
def find_app() -> Any:
    def look() -> Any:
        desktop = Atspi.get_desktop(0)
        for i in range(desktop.get_child_count()):
            app = desktop.get_child_at_index(i)
            if app is not None and app.get_name() == APP_NAME:
                return app
        return None

    return wait_for(look, 30.0, f"the application {APP_NAME!r} on the AT-SPI bus")


def walk(node: Any) -> list[Any]:
    """``node`` and everything below it (a part that goes meanwhile is left out)."""
    found = [node]
    try:
        children = [node.get_child_at_index(i) for i in range(node.get_child_count())]
    except GLib.Error:  # gone while we looked (a row of a task that just ended)
        return found
    for child in children:
        if child is not None:
            found += walk(child)
    return found


#: Roles that newer at-spi2-core renamed, by their number in the AT-SPI protocol (which
#: did not change): 43 is ``PUSH_BUTTON`` ("push button", GTK 4.8 on Debian 12), which
#: Debian 13's at-spi2-core calls ``BUTTON`` ("button", with GTK 4.18).
RENAMED_ROLES = {43: "push button"}


def role_of(node: Any) -> str | None:
    """``node``'s AT-SPI role, named the same on every at-spi2-core ("push button", "progress bar").

    The role is a number of the protocol (``Atspi.Role``); its name is not
    stable (see ``RENAMED_ROLES``), so the assertions compare the number's
    name from this one place, whatever the installed library calls it.
    """
    try:
        number = int(node.get_role())
    except GLib.Error:  # gone meanwhile
        return None
    return RENAMED_ROLES.get(number) or str(Atspi.Role(number).value_nick).replace("-", " ")


def find(app: Any, role: str, name: str | None = None) -> list[Any]:
    return [n for n in walk(app) if role_of(n) == role and (name is None or n.get_name() == name)]


def one(app: Any, role: str, name: str, timeout: float = 20.0) -> Any:
    try:
        return wait_for(lambda: (found := find(app, role, name)) and found[0], timeout, f"a {role} named {name!r}")
    except TimeoutError as error:  # say what is there instead: a role or a name that differs
        raise TimeoutError(f"{error}; the tree has:\n{dump(app)}") from None


def dump(node: Any, depth: int = 0) -> str:
    """``node`` and what is below it, one line each: role, the toolkit's name of it, name (for failures)."""
    try:
        line = f"{'  ' * depth}{role_of(node)!r} ({node.get_role_name()!r}) {node.get_name()!r}"
        children = [node.get_child_at_index(i) for i in range(node.get_child_count())]
    except GLib.Error:  # gone while we looked
        return f"{'  ' * depth}(gone)"
    return "\n".join([line] + [dump(child, depth + 1) for child in children if child is not None])


def relations(node: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for relation in node.get_relation_set():
        nick = relation.get_relation_type().value_nick
        out[nick] = [relation.get_target(i).get_name() for i in range(relation.get_n_targets())]
    return out


def related(node: Any, nick: str) -> list[Any]:
    for relation in node.get_relation_set():
        if relation.get_relation_type().value_nick == nick:
            return [relation.get_target(i) for i in range(relation.get_n_targets())]
    return []


def text_of(node: Any) -> str:
    """A label's text (GTK exports a label's text as its name)."""
    return str(node.get_name() or "")


def describe(node: Any) -> dict[str, Any]:
    return {"role": role_of(node), "name": node.get_name(), "description": node.get_description()}


class Events:
    """AT-SPI events of the app, as they arrive."""

    TYPES = (
        "object:property-change:accessible-value",
        "object:property-change:accessible-description",
        "object:announcement",
    )

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.sources: list[Any] = []  # the object of each event in ``seen``, same order
        self.listener = Atspi.EventListener.new(self._on_event)
        for kind in self.TYPES:
            self.listener.register(kind)

    def _on_event(self, event: Any) -> None:
        source = event.source
        try:
            entry = {"type": event.type, "role": role_of(source) if source else None,
                     "name": source.get_name() if source else None}
        except GLib.Error:  # its object is gone already
            entry = {"type": event.type, "role": None, "name": None}
        if "value" in event.type:
            try:
                entry["value"] = source.get_current_value() if source is not None else None
            except GLib.Error:
                entry["value"] = None
        else:  # the new text comes with the event (the source's may have moved on since)
            entry["text"] = event.any_data if isinstance(event.any_data, str) else str(event.any_data)
        self.seen.append(entry)
        self.sources.append(source)

    def texts_from(self, *sources: Any) -> list[str]:
        """The new descriptions (and announcements) that ``sources`` sent, oldest first."""
        return [entry["text"] for entry, source in zip(self.seen, self.sources, strict=True)
                if "text" in entry and any(source == wanted for wanted in sources)]

    def close(self) -> None:
        for kind in self.TYPES:
            self.listener.deregister(kind)


def scenario_tree(app_proc: AppProcess) -> dict[str, Any]:
    events = Events()
    app = find_app()
    out: dict[str, Any] = {"gtk": app_proc.ready["gtk"], "announce": app_proc.ready["announce"]}
    task_list = one(app, "list", "Tasks")
    out["list"] = describe(task_list)

    app_proc("start export")
    row = one(app, "list item", "export")
    bar = wait_for(lambda: [n for n in walk(row) if role_of(n) == "progress bar"], 10, "the row's bar")
    out["row_bars"] = len(bar)  # the visible bar is hidden: one progress bar per row
    bar = bar[0]
    out["bar"] = {**describe(bar), "relations": relations(bar)}
    out["buttons"] = sorted(n.get_name() for n in walk(row) if role_of(n) == "push button")

    values = []
    for fraction, message in ((0.05, "step 1"), (0.07, "step 2"), (0.35, "step 3")):
        shown = app_proc(f"progress export {fraction} {message}")
        if fraction == 0.35:  # a new step: published at once or when its second is over
            wait_for(lambda: abs(bar.get_current_value() - 0.35) < 1e-6, 10, "the value of the new step")
        values.append({
            "shown": shown["fraction"], "value": bar.get_current_value(),
            "description": bar.get_description(),
            "described_by": [text_of(n) for n in related(bar, "described-by")],
        })
    out["values"] = values

    status_bar = one(app, "progress bar", "Overall progress")
    out["status_bar"] = {**describe(status_bar), "relations": relations(status_bar)}

    pause = one(row, "push button", "Pause export")
    pause.do_action(0)  # the button's "click" action, as a screen reader's user would
    out["after_pause"] = wait_for(lambda: find(row, "push button", "Resume export"), 10, "Resume export") and True
    one(row, "push button", "Resume export").do_action(0)
    wait_for(lambda: find(row, "push button", "Pause export"), 10, "Pause export again")

    app_proc("start upload")
    app_proc("finish upload fail")
    alert = one(app, "alert", "upload failed")
    out["alert"] = {**describe(alert), "relations": relations(alert),
                    "buttons": [n.get_name() for n in walk(alert) if role_of(n) == "push button"]}

    app_proc("finish export ok")
    app_proc("start scan")
    state = app_proc("cancel scan")
    out["announced"] = state["announcements"]
    expected = state["announcements"][-1]
    if app_proc.ready["announce"]:
        wait_for(lambda: any(e.get("text") == expected for e in events.seen if "announcement" in e["type"]),
                 10, "the announcement")
    else:
        wait_for(lambda: task_list.get_description() == expected, 10, "the list's description")
    out["list_description"] = task_list.get_description()
    pump(0.3)
    events.close()
    out["events"] = events.seen
    return out


# -- the keyboard ---------------------------------------------------------------------------------------
def key(*keys: str) -> None:
    subprocess.run(["xdotool", "key", "--clearmodifiers", *keys], check=True, timeout=30)


def focus_window() -> None:
    found = subprocess.run(["xdotool", "search", "--sync", "--name", TITLE], check=True, timeout=30,
                           capture_output=True, text=True)
    window = found.stdout.split()[0]
    subprocess.run(["xdotool", "windowfocus", "--sync", window], check=True, timeout=30)


def tab_to(app_proc: AppProcess, target: str, limit: int = 30) -> list[str]:
    """Press Tab until ``target`` has the focus; the focus after each press."""
    seen: list[str] = []
    for _ in range(limit):
        key("Tab")
        focus = app_proc("state")["focus"]
        seen.append(focus)
        if focus == target:
            return seen
    raise AssertionError(f"Tab never reached {target}: {seen}")


def scenario_keys(app_proc: AppProcess) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("alpha", "beta", "gamma"):
        app_proc(f"start {name}")
        app_proc(f"progress {name} 0.5 working")
    focus_window()
    out["tab_order"] = tab_to(app_proc, "cancel:gamma")
    out["tab_order_again"] = tab_to(app_proc, "cancel:beta")
    key("Return")  # cancel beta with Enter: its row goes, the focus goes to the next row's cancel button
    out["after_enter"] = wait_for(lambda: (s := app_proc("state"))["rows"] == ["alpha", "gamma"] and s, 15, "beta gone")
    out["status_beta"] = out["after_enter"]["announcements"]
    tab_to(app_proc, "pause:gamma")
    key("space")  # pause gamma with Space
    out["after_space"] = wait_for(lambda: (s := app_proc("state"))["paused"] == ["gamma"] and s, 10, "gamma paused")
    key("Return")  # and resume it with Enter
    out["after_return"] = wait_for(lambda: (s := app_proc("state"))["paused"] == [] and s, 10, "gamma resumed")
    state = app_proc("finish gamma ok")  # the last row goes while it holds the focus: the row before gets it
    out["after_last_row_ended"] = state["focus"]
    app_proc("start delta")
    app_proc("finish delta fail")
    tab_to(app_proc, "dismiss:delta failed")
    key("Return")
    out["after_dismiss"] = wait_for(lambda: (s := app_proc("state"))["banner"] == [] and s, 10, "the banner empty")
    return out


# -- the demo ------------------------------------------------------------------------------------------------
def scenario_demo(log: Path) -> dict[str, Any]:
    """``python -m tasker.demo --gtk --no-tour``, used through AT-SPI alone.

    The client reads the window's buttons, presses "Index photos" through its AT-SPI
    action, reads the task's row, presses "Cancel index photos" (the row's bar is then
    described "Canceling… (…)": read from the description-change event, as the row
    may be gone by then), and closes the window with the frame's "Close" button.
    """
    with log.open("w") as out_file:
        demo = subprocess.Popen(
            [sys.executable, "-m", "tasker.demo", "--gtk", "--no-tour"], stdout=out_file, stderr=subprocess.STDOUT
        )
        try:
            def look() -> Any:
                desktop = Atspi.get_desktop(0)
                for i in range(desktop.get_child_count()):
                    app = desktop.get_child_at_index(i)
                    for j in range(app.get_child_count() if app is not None else 0):
                        frame = app.get_child_at_index(j)
                        if frame is not None and frame.get_name() == "tasker demo":
                            return app
                return None

            app = wait_for(look, 60, "the demo on the AT-SPI bus")
            buttons = sorted({n.get_name() for n in find(app, "push button")})
            task_list = one(app, "list", "Tasks", 60.0)
            one(app, "push button", "Index photos").do_action(0)
            item = one(task_list, "list item", "index photos", 60.0)
            # The status strip's bar is in the tree while work runs (GTK 4.18 leaves the
            # idle, unrevealed bar out; GTK 4.8 exported it while idle too).
            one(app, "progress bar", "Overall progress", 60.0)
            status_bars = [n.get_name() for n in find(app, "progress bar", "Overall progress")]
            row = {
                "name": item.get_name(),
                "bars": [n.get_name() for n in find(item, "progress bar")],
                "buttons": [n.get_name() for n in find(item, "push button")],
            }
            bar = find(item, "progress bar")[0]
            # The task's own first message: its worker has started it (a task still waiting
            # for a worker is canceled as plain "Canceling…"; the demo's workers are niced
            # and start late on a busy machine). The row then reads "Canceling… (Indexing …)".
            wait_for(lambda: (bar.get_description() or "").startswith("Indexing"), 120,
                     "the task's own message on its bar (a worker has started it)")
            described_by = related(bar, "described-by")
            # The row says "Canceling…" only until its task ends, which may come before
            # this process reads anything (its worker stops at once): listen from before
            # the press. The description-change event leaves the app while the cancel
            # button's action runs, and the bus keeps it for this process, whenever it reads.
            events = Events()
            one(item, "push button", "Cancel index photos").do_action(0)
            canceling = wait_for(
                lambda: [text for text in events.texts_from(bar, *described_by) if text.startswith("Canceling")],
                30, "the row's bar described Canceling… (a description-change event)",
            )[0]
            events.close()
            one(app, "push button", "Close").do_action(0)
            deadline = time.monotonic() + 60
            while demo.poll() is None and time.monotonic() < deadline:
                pump(0.1)
            result = {"rows": [row], "buttons": buttons, "status_bars": status_bars, "canceling": canceling,
                      "demo_exit": demo.poll()}
        finally:
            if demo.poll() is None:
                demo.kill()  # our own child, by its Popen handle
                demo.wait(10)
    result["demo_log"] = log.read_text()
    return result


def main() -> int:
    name = sys.argv[1]
    log = Path(os.environ.get("A11Y_APP_LOG", "/tmp/tasker-a11y-app.log"))
    if name == "demo":
        print("RESULT " + json.dumps(scenario_demo(log)), flush=True)
        return 0
    app_proc = AppProcess(log)
    try:
        result = {"tree": scenario_tree, "keys": scenario_keys}[name](app_proc)
    finally:
        code = app_proc.close()
    result["app_exit"] = code
    result["app_log"] = log.read_text()
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
