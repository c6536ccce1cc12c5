"""The embedded cluster is private: another local user cannot get in.

The app (``private_app.py``) runs tasker's default ``cluster="local"`` in its own
process group; a throwaway second user (``useradd``, removed afterwards) runs
``private_probe.py`` through ``runuser``: connecting to the scheduler (code on the
workers, code in the app's own process — the embedded scheduler runs there —, the
app's events) and calling each worker and nanny, with no credentials, as plain TCP,
and with TLS credentials of its own. Every attempt must be refused. The same probe
against an open scheduler (``real_cluster``: plain TCP, as the embedded one was)
gets in: the probe can tell.

``ss`` lists the app's listening sockets: only the cluster's TLS ports, no
dashboard unless ``cluster_dashboard`` asks for one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import HERE, ROOT, RealCluster, need_dask

PROBE_TIMEOUT_S = 300.0  # (a hang guard: each of the probe's attempts has its own 20 s bound)
RUNUSER = shutil.which("runuser") or "runuser"


@dataclass
class OtherUser:
    name: str
    python: list[str]  # how this user runs a Python with distributed
    env: dict[str, str]

    home: Path

    def run(self, script: Path, *args: str) -> dict[str, str]:
        own = self.home / script.name  # the checkout may sit where this user cannot read (root's home)
        shutil.copyfile(script, own)
        try:
            done = subprocess.run(
                [RUNUSER, "-u", self.name, "--", *self.python, str(own), *args],
                env=self.env, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as hung:  # say which attempts ended (the probe prints each)
            seen = hung.stderr.decode(errors="replace") if isinstance(hung.stderr, bytes) else hung.stderr
            pytest.fail(f"the probe ran past {PROBE_TIMEOUT_S} s; what it had done:\n{(seen or '')[-3000:]}")
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        assert done.returncode == 0 and lines, f"the probe failed: {done.stdout}\n{done.stderr[-3000:]}"
        result: dict[str, str] = json.loads(lines[-1])
        return result


@pytest.fixture(scope="module")
def other_user() -> Iterator[OtherUser]:
    need_dask()
    if os.geteuid() != 0 or not (shutil.which("useradd") and shutil.which("runuser") and shutil.which("userdel")):
        pytest.skip("needs root with useradd, runuser and userdel (a second local user)")
    name = f"tkprobe{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True, capture_output=True, timeout=60,
    )
    home = tempfile.mkdtemp(prefix=f"{name}-")
    try:
        shutil.chown(home, user=name)
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8"}
        yield OtherUser(name, _python_for(name, env, Path(home)), env, Path(home))
    finally:
        shutil.rmtree(home, ignore_errors=True)
        subprocess.run(["userdel", name], capture_output=True, timeout=60)


def _python_for(name: str, env: dict[str, str], home: Path) -> list[str]:
    """The venv's python if that user may run it; else the system's python of the same version
    with the venv's packages on its path; else that python with its own copy of the client
    packages in its home (the venv may sit in root's home, which no other user reads: a fresh
    checkout in a pristine Debian 12). An attacker brings a client of their own just the same."""
    check = ["-c", "import distributed, cryptography"]
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = [sys.executable, f"/usr/bin/{version}", f"/usr/local/bin/{version}"]
    pythons = [c for c in candidates if os.access(c, os.X_OK)]
    paths = ["", os.pathsep.join(site.getsitepackages())]
    tries = [(p, extra) for p in pythons for extra in paths if not (p == sys.executable and extra)]
    tries += [(p, "copy") for p in pythons if p != sys.executable]
    for python, extra in tries:
        if extra == "copy":
            extra = str(_copy_client_packages(home / "site"))
        if extra:
            env["PYTHONPATH"] = extra
        probe = subprocess.run([RUNUSER, "-u", name, "--", python, *check], env=env, capture_output=True, timeout=60)
        if probe.returncode == 0:
            return [python]
        env.pop("PYTHONPATH", None)
    pytest.skip(f"no Python with distributed that the user {name} may run")


def _copy_client_packages(dest: Path) -> Path:
    """``distributed`` and ``cryptography`` with everything they require, copied into ``dest``."""
    from importlib import metadata

    from packaging.requirements import Requirement

    if dest.exists():
        return dest
    todo, seen = ["distributed", "cryptography"], set()
    while todo:
        dist = metadata.distribution(todo.pop())
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
        base = Path(str(dist.locate_file(""))).resolve()
        for file in dist.files or []:
            source = Path(str(dist.locate_file(file))).resolve()
            if source.is_file() and source.is_relative_to(base):
                target = dest / source.relative_to(base)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    return dest


class App:
    """private_app.py in its own process group; stopped by its pid (its group) at the end."""

    def __init__(self, dashboard: bool) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "private_app.py"), "yes" if dashboard else "no"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=HERE, start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # bounded by the app's own 120 s limit
        assert line.startswith("{"), f"the app did not start: {line!r}"
        self.state: dict[str, Any] = json.loads(line)

    def finish(self) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        ending = json.loads(self.proc.stdout.readline())["status"]
        self.proc.wait(60)
        return str(ending)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(10)


@pytest.fixture
def start_app() -> Iterator[Any]:
    need_dask()
    apps: list[App] = []

    def start(dashboard: bool = False) -> App:
        apps.append(App(dashboard))
        return apps[-1]

    yield start
    for app in apps:
        app.stop()


def listening(pids: set[int]) -> set[int]:
    """The TCP ports these processes listen on (``ss``)."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, timeout=30, check=True).stdout
    ports = set()
    for line in out.splitlines():
        owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            ports.add(int(line.split()[3].rsplit(":", 1)[1]))
    return ports


def app_pids(app: App) -> set[int]:
    """The app and its descendants (the worker processes)."""
    pids, todo = {app.proc.pid}, [app.proc.pid]
    while todo:
        try:
            children = Path(f"/proc/{todo.pop()}/task").glob("*/children")
            found = {int(c) for f in children for c in f.read_text().split()}
        except OSError:
            continue
        todo += list(found - pids)
        pids |= found
    return pids


def port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def test_another_local_user_cannot_reach_the_embedded_cluster(start_app: Any, other_user: OtherUser) -> None:
    app = start_app()
    state = app.state
    results = other_user.run(HERE / "private_probe.py", json.dumps(state))
    assert results.pop("uid") != "ok: 0"  # really another user
    assert {name: r for name, r in results.items() if not r.startswith("refused")} == {}
    assert state["scheduler"].startswith("tls://127.0.0.1:")
    assert len(results) == 3 + 2 * (len(state["workers"]) + len(state["nannies"]))
    cluster = {port(a) for a in [state["scheduler"], *state["workers"], *state["nannies"]]}
    assert listening(app_pids(app)) == cluster  # no dashboard, no other HTTP server
    assert app.finish() == "canceled"  # the app's own task ran, and stopped when asked


def test_the_probe_gets_into_an_open_scheduler(real_cluster: RealCluster, other_user: OtherUser) -> None:
    """The control: plain TCP, as the embedded cluster was — the same probe runs code there."""
    real_cluster.recover()
    with real_cluster.client() as client:
        info = client.scheduler_info()
    state = {
        "scheduler": real_cluster.address, "topic": "tasker-none",
        "workers": sorted(info["workers"]), "nannies": sorted(w["nanny"] for w in info["workers"].values()),
    }
    results = other_user.run(HERE / "private_probe.py", json.dumps(state))
    taken = results[f"client of {real_cluster.address}"]
    assert taken.startswith("ok: ") and "'worker uid': 0" in taken, results
    assert all(results[f"call {a}"] == "ok: 'Worker'" for a in state["workers"]), results


def test_the_dashboard_listens_only_when_asked(start_app: Any) -> None:
    app = start_app(dashboard=True)
    state = app.state
    cluster = {port(a) for a in [state["scheduler"], *state["workers"], *state["nannies"]]}
    extra = listening(app_pids(app)) - cluster
    assert extra, "no dashboard"
    import urllib.request

    served = []
    for each in sorted(extra):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{each}/json/identity.json", timeout=10) as page:
                served.append(json.loads(page.read())["address"])
        except OSError:
            pass
    assert served == [state["scheduler"]]  # the scheduler's dashboard, as the app asked
    assert app.finish() == "canceled"


def test_without_a_dashboard_port_8787_is_left_alone() -> None:
    """Another program on Dask's dashboard port (8787): the embedded cluster neither tries it
    nor warns "Port 8787 is already in use" (which failed the GTK cluster tests beside
    another cluster on the same machine)."""
    import socket
    import warnings

    need_dask()
    from tasker.runners.cluster._connect import Connection

    with socket.socket() as other:
        try:
            other.bind(("127.0.0.1", 8787))
            other.listen()
        except OSError:  # some other program has it already: the same situation
            pass
        connection = Connection("local", 1)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                connection.get()
        finally:
            connection.close()
    assert not [str(w.message) for w in caught if "8787" in str(w.message)]



def test_a_worker_slow_to_exit_at_close_leaves_no_warning_in_the_apps_log() -> None:
    """A worker of the embedded cluster that outlives the nanny's grace period when tasker
    closes the cluster (an idle worker on a loaded machine: the GTK demo's stderr got
    "Worker process still alive after 4.0 seconds, killing" at quit) is killed by its nanny
    as before, and the app's log gets tasker's debug record instead of Dask's warning.
    A worker plugin whose teardown never returns keeps the worker from exiting by itself."""
    import logging
    import threading

    need_dask()
    from distributed.diagnostics.plugin import WorkerPlugin

    from tasker.runners.cluster._connect import SLOW_EXIT, Connection

    class NeverExits(WorkerPlugin):  # shipped by value (defined here)
        def teardown(self, worker: object) -> None:
            threading.Event().wait()  # the nanny's kill ends it

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep(logging.DEBUG)
    watched = [logging.getLogger("distributed.nanny"), logging.getLogger("tasker")]
    levels = [log.level for log in watched]
    for log in watched:
        log.addHandler(keep)
        log.setLevel(logging.DEBUG)
    connection = Connection("local", 1)
    try:
        connection.get().register_plugin(NeverExits(), name="never-exits")
        connection.close()
    finally:
        connection.close()
        for log, level in zip(watched, levels, strict=True):
            log.removeHandler(keep)
            log.setLevel(level)
    warned = [r.getMessage() for r in records if r.levelno >= logging.WARNING and SLOW_EXIT in r.getMessage()]
    assert not warned, warned
    debug = [r.getMessage() for r in records if r.name == "tasker" and SLOW_EXIT in r.getMessage()]
    assert debug, "the nanny never gave up on the worker: the case was not reached"
    assert debug[0].startswith("tasker: closing the embedded cluster: Dask's nanny: ")
