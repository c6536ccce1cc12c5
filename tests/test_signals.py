"""``tasks_updated`` / ``task_ended``: strong receivers by default, blinker's interface kept."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import weakref
from typing import Any

import pytest

from conftest import Harness

pytestmark = pytest.mark.timeout(60)


def _connect_nested(signal: Any, seen: list[Any]) -> None:
    """The README's setup_ui shape: the handler is local and nothing else keeps it."""

    def on_tasks_updated(sender: Any, tasks: Any, progress: float) -> None:
        seen.append(progress)

    signal.connect(on_tasks_updated)


def test_nested_handler_and_lambda_keep_receiving(harness: Harness) -> None:
    nested: list[float] = []
    ended: list[Any] = []
    _connect_nested(harness.mgr.tasks_updated, nested)
    harness.mgr.task_ended.connect(lambda sender, task: ended.append(task))
    gc.collect()
    task = harness.finish(harness.start("thread", "ok", 1))
    harness.settle()
    assert nested and nested[-1] == 1.0
    assert ended == [task]


def test_weak_true_opts_into_weak_references(harness: Harness) -> None:
    seen: list[Any] = []

    class Listener:
        def on_update(self, sender: Any, **kwargs: Any) -> None:
            seen.append(kwargs)

    listener = Listener()
    harness.mgr.tasks_updated.connect(listener.on_update, weak=True)
    ref = weakref.ref(listener)
    del listener
    gc.collect()
    assert ref() is None
    harness.finish(harness.start("thread", "ok", 1))
    harness.settle()
    assert seen == []
    assert all(r is not None for r in harness.mgr.tasks_updated.receivers.values())


def test_disconnect_connected_to_and_decorators(harness: Harness) -> None:
    signal = harness.mgr.tasks_updated
    calls: list[str] = []

    def plain(sender: Any, **kwargs: Any) -> None:
        calls.append("plain")

    signal.connect(plain)
    signal.disconnect(plain)

    @signal.connect
    def decorated(sender: Any, **kwargs: Any) -> None:
        calls.append("decorated")

    @signal.connect_via(harness.mgr)
    def via(sender: Any, **kwargs: Any) -> None:
        calls.append("via")

    def temporary(sender: Any, **kwargs: Any) -> None:
        calls.append("temporary")

    with signal.connected_to(temporary):
        harness.finish(harness.start("thread", "ok", 1))
        harness.settle()
    assert "plain" not in calls
    assert {"decorated", "via", "temporary"} <= set(calls)
    calls.clear()
    harness.finish(harness.start("thread", "ok", 2))
    harness.settle()
    assert "temporary" not in calls and "decorated" in calls


def test_a_muted_signal_stays_silent(harness: Harness) -> None:
    calls: list[Any] = []
    harness.mgr.tasks_updated.connect(lambda sender, **kw: calls.append(kw))
    harness.mgr.task_ended.connect(lambda sender, **kw: calls.append(kw))
    with harness.mgr.tasks_updated.muted(), harness.mgr.task_ended.muted():
        harness.finish(harness.start("thread", "ok", 1))
        harness.settle()
    assert calls == []


def test_a_raising_receiver_names_its_signal(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    after: list[Any] = []
    harness.mgr.task_ended.connect(lambda sender, task: 1 / 0)
    harness.mgr.task_ended.connect(lambda sender, task: after.append(task))
    task = harness.finish(harness.start("thread", "ok", 1))
    assert after == [task]
    assert any("task_ended receiver raised" in r.getMessage() for r in caplog.records)


def test_seed_setup_ui_in_a_plain_script() -> None:
    """The README's UI example, as written, in a script on the default task_mgr."""
    code = textwrap.dedent(
        """
        import time
        from tasker import task_mgr

        class Bar:
            fractions = []
            def set_fraction(self, f): self.fractions.append(f)

        class Label:
            texts = []
            def set_text(self, t): self.texts.append(t)

        def setup_ui(barra_progresso, rotulo_status):
            def on_tasks_updated(sender, tasks, progress):
                barra_progresso.set_fraction(progress)
                if tasks:
                    rotulo_status.set_text(tasks[-1].get_message() or "Trabalhando...")
                else:
                    rotulo_status.set_text("Ocioso")

            task_mgr.tasks_updated.connect(on_tasks_updated)

        bar, label = Bar(), Label()
        setup_ui(bar, label)
        import gc; gc.collect()

        def minha_tarefa_thread(context, duracao):
            context.set_message("Trabalhando na thread...")
            time.sleep(duracao)
            context.set_progress(1.0)
            return "Tarefa thread concluída"

        task_mgr.run_thread(minha_tarefa_thread, 0.2, key="thread_worker")
        task_mgr.wait_until_settled(20)
        print(len(bar.fractions), label.texts[-1], "Trabalhando na thread..." in label.texts)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    count, last, saw_message = done.stdout.split()
    assert int(count) >= 2 and last == "Ocioso" and saw_message == "True"
