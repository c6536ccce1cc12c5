"""run_on_cluster's API without a cluster: options, imports, bad input, the event channel."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import cluster_jobs as jobs
import pytest

from tasker import TaskManager, task_mgr
from tasker._core._options import Options
from tasker._core._runner import METHODS, RUNNERS
from tasker.runners.cluster._events import AppGoneError, Inbox, Outbox, Seen

from .conftest import ROOT, need_dask


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_importing_tasker_or_configuring_a_cluster_never_imports_dask() -> None:
    need_dask()
    proc = run_python(
        "import sys\n"
        "import tasker\n"
        "from tasker import TaskManager, task_mgr\n"
        "task_mgr.initialize(cluster='tcp://127.0.0.1:8786')\n"
        "with TaskManager(cluster='local') as mgr:\n"
        "    mgr.run_thread(lambda ctx: 1).wait(30)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_without_dask_run_on_cluster_says_how_to_get_it() -> None:
    proc = run_python(
        "import sys\n"
        "sys.modules['distributed'] = None  # as if the extra were not installed\n"
        "from tasker import TaskManager\n"
        "with TaskManager() as mgr:\n"
        "    try:\n"
        "        mgr.run_on_cluster(lambda ctx: 1)\n"
        "    except ImportError as error:\n"
        "        print('ImportError:', error)\n"
        "    print(mgr.run_thread(lambda ctx: 2).wait(30))\n"
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "pip install tasker-ui[dask]" in lines[0] and lines[0].startswith("ImportError: run_on_cluster()")
    assert lines[1] == "True"  # the manager goes on


@pytest.mark.parametrize("value", [None, "local", "tcp://127.0.0.1:8786", "tls://scheduler.lan:8786", "10.0.0.5:8786"])
def test_the_cluster_option_accepts(value: Any) -> None:
    assert Options(cluster=value).cluster == value


class ClientLike:
    def submit(self) -> None: ...
    def run(self) -> None: ...
    def subscribe_topic(self) -> None: ...


def test_the_cluster_option_accepts_a_client_without_importing_dask() -> None:
    client = ClientLike()
    assert Options(cluster=client).cluster is client


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        ("cluster.lan", ValueError, "a Dask scheduler address such as 'tcp://host:8786'"),
        ("tcp://host", ValueError, "got the string 'tcp://host'"),
        ("tcp://host:port", ValueError, "got the string"),
        (8786, TypeError, "got int: 8786"),
        (object(), TypeError, "or a dask.distributed.Client"),
    ],
)
def test_the_cluster_option_refuses(value: Any, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        TaskManager(cluster=value)
    with pytest.raises(error):
        task_mgr.initialize(cluster=value)


class SecurityLike:
    def get_connection_args(self, role: str) -> dict[str, Any]:
        return {}


def test_the_cluster_dashboard_and_security_options_accept() -> None:
    assert Options().cluster_dashboard is False and Options().cluster_security is None
    assert Options(cluster_dashboard=True).cluster_dashboard is True
    assert Options(cluster="local", cluster_dashboard="127.0.0.1:8787").cluster_dashboard == "127.0.0.1:8787"
    security = SecurityLike()
    assert Options(cluster="tls://10.0.0.5:8786", cluster_security=security).cluster_security is security


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"cluster_dashboard": 8787}, ValueError, "cluster_dashboard must be False, True or an address"),
        ({"cluster_dashboard": "nowhere"}, ValueError, "cluster_dashboard must be False, True or an address"),
        ({"cluster": "tcp://h:1", "cluster_dashboard": True}, ValueError, "cluster_dashboard is for the embedded"),
        ({"cluster": "tls://h:1", "cluster_security": "certs"}, TypeError, "must be a distributed.security.Security"),
        ({"cluster_security": SecurityLike()}, ValueError, "the embedded cluster makes its own temporary TLS"),
        ({"cluster": ClientLike(), "cluster_security": SecurityLike()}, ValueError, "a Client given as cluster="),
    ],
)
def test_the_cluster_dashboard_and_security_options_refuse(
    options: dict[str, Any], error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text.replace("(", r"\(").replace(".", r"\.")):
        TaskManager(**options)


def test_seen_accepts_each_message_number_once_in_any_order() -> None:
    seen = Seen()
    assert [seen.accept(n) for n in (1, 3, 3, 2, 1, 0, -1, 4)] == [True, True, False, True, False, False, False, True]
    assert (seen.floor, seen.above) == (4, set())  # nothing kept below the floor


def test_the_runner_is_registered_like_any_other() -> None:
    assert RUNNERS["cluster"] == "tasker.runners.cluster:ClusterRunner"
    assert METHODS["cluster"] == "run_on_cluster"


def test_bad_calls_fail_at_the_call() -> None:
    need_dask()
    with TaskManager(cluster="tcp://127.0.0.1:9") as mgr:

        async def coroutine(ctx: Any) -> None: ...

        with pytest.raises(TypeError, match=r"run_on_cluster\(\) got the coroutine function"):
            mgr.run_on_cluster(coroutine)
        with pytest.raises(TypeError, match="needs a callable"):
            mgr.run_on_cluster(42)  # type: ignore[call-overload]
        with pytest.raises(TypeError, match="key must be hashable"):
            mgr.run_on_cluster(jobs.ok, key=[1])
    with pytest.raises(RuntimeError, match="shut down"):
        mgr.run_on_cluster(jobs.ok)


# -- the event channel ----------------------------------------------------------------------------
def test_the_inbox_delivers_in_order_holds_early_ones_and_drops_duplicates() -> None:
    inbox = Inbox(window=8)
    assert inbox.accept(2, "b") == []  # early: held
    assert inbox.accept(1, "a") == ["a", "b"]
    assert inbox.accept(1, "a") == []  # a duplicate
    assert inbox.accept(5, "e") == []
    assert inbox.missing(6) == [3, 4, 6]
    assert inbox.accept(3, "c") + inbox.accept(4, "d") == ["c", "d", "e"]
    assert inbox.delivered == 5


def test_the_inbox_acknowledges_every_half_window_or_when_idle() -> None:
    inbox = Inbox(window=8)
    for seq in (1, 2, 3):
        inbox.accept(seq, seq)
    assert inbox.ack_due() is None
    assert inbox.ack_due(idle=True) == 3
    assert inbox.ack_due(idle=True) is None
    for seq in range(4, 8):
        inbox.accept(seq, seq)
    assert inbox.ack_due() == 7


def test_the_outbox_waits_for_room_and_an_ack_or_a_cancel_frees_it() -> None:
    outbox = Outbox(window=2)
    assert (outbox.reserve(), outbox.reserve()) == (1, 2)
    got: list[int] = []
    sender = threading.Thread(target=lambda: got.append(outbox.reserve()))
    sender.start()
    sender.join(0.2)
    assert sender.is_alive() and got == []  # the window is full: it waits
    outbox.ack(1)
    sender.join(10)
    assert got == [3]
    closing = threading.Thread(target=lambda: got.append(outbox.reserve()))
    closing.start()
    outbox.close()  # canceled: senders stop waiting
    closing.join(10)
    assert got == [3, 4]


def test_the_outbox_gives_up_on_an_app_that_never_acknowledges(monkeypatch: pytest.MonkeyPatch) -> None:
    from tasker.runners.cluster import _events

    monkeypatch.setattr(_events, "SILENT_APP_S", 0.05)
    outbox = Outbox(window=1)
    outbox.reserve()
    with pytest.raises(AppGoneError, match="acknowledged none"):
        outbox.reserve()
