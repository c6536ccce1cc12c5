"""The process engine's platform seam (``tasker._platform``): which implementation runs, and what it does.

The choice: ``TASKER_PLATFORM`` (linux, posix, windows) or the system's own,
with an error naming the variable for a name that is unknown or cannot run here.
The posix lane (``scripts/test-posix``: the process suites with
``TASKER_PLATFORM=posix``) is proven to run the posix implementation by what its
workers hold: no memfd, no pidfd in the parent, the platform's name on the
worker's command line. Each implementation that can run on this system is also
checked here directly, whatever the lane: large payloads both ways, and the
workers' death with their killed application (its tasks holding the GIL in
native code too) inside a PID namespace.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import platform_jobs
from tasker import _platform
from tasker._platform import ENV_VAR, chosen_name, default_name, named, possible

from conftest import Harness

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc: the Linux host's lanes"),
]

HERE = Path(__file__).parent
LANE = os.environ.get(ENV_VAR) or default_name()


# -- choosing --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("system", "expected"), [("linux", "linux"), ("darwin", "posix"), ("freebsd14", "posix"), ("win32", "windows")]
)
def test_each_system_has_its_default(system: str, expected: str) -> None:
    assert chosen_name("", system) == expected == default_name(system)
    assert expected in possible(system)


@pytest.mark.parametrize(("value", "system"), [("posix", "linux"), (" Linux ", "linux"), ("posix", "darwin")])
def test_the_variable_forces_a_possible_implementation(value: str, system: str) -> None:
    assert chosen_name(value, system) == value.strip().lower()


@pytest.mark.parametrize(
    ("value", "system", "says"),
    [
        ("windows", "linux", "cannot run on this system ('linux')"),
        ("linux", "darwin", "cannot run on this system ('darwin')"),
        ("posix", "win32", "cannot run on this system ('win32')"),
        ("macos", "linux", "is not a platform tasker knows"),
    ],
)
def test_an_impossible_or_unknown_choice_names_the_variable(value: str, system: str, says: str) -> None:
    with pytest.raises(RuntimeError) as caught:
        chosen_name(value, system)
    assert f"{ENV_VAR}={value!r}" in str(caught.value) and says in str(caught.value)


def test_a_worker_loads_the_implementation_named_on_its_command_line() -> None:
    for name in possible():
        platform = named(name)
        assert platform.name == platform.features.name == name
    with pytest.raises(RuntimeError, match=ENV_VAR):
        named("windows")


# -- which implementation this lane runs -------------------------------------------------
def pidfds() -> int:
    return sum(link == "anon_inode:[pidfd]" for link in platform_jobs.descriptors())


def pidfds_work() -> bool:
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return True


@pytest.fixture(params=possible())
def forced(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This process uses the implementation named by the parameter for the test."""
    monkeypatch.setattr(_platform, "_current", named(str(request.param)))
    yield str(request.param)


def check_worker(h: Harness, name: str) -> None:
    before = pidfds()
    task = h.mgr.run_process(platform_jobs.worker_report, when_done=h.when_done)
    report = h.finish(task).result()
    assert report["name"] == name, "the worker adopts the parent's implementation"
    assert report["argv"][-4] == name, "the implementation's name is on the worker's command line"
    assert report["pgid"] == report["pid"], "the worker leads its own process group"
    flags = [link for link in report["fds"] if "tasker-flags" in link]
    assert len(flags) == 1 and flags[0].endswith("(deleted)"), report["fds"]
    if name == "posix":
        assert not any("memfd:" in link for link in report["fds"]), "posix makes no memfd"
        assert flags[0].startswith("/dev/shm/tasker-flags-"), "a shm_open segment, unlinked"
        assert pidfds() == before, "posix holds its workers by no pidfd"
    else:
        assert flags[0] == "/memfd:tasker-flags (deleted)"
        if pidfds_work():
            assert pidfds() > before, "linux holds its worker by a pidfd"


def test_this_lane_runs_the_implementation_it_asks_for(make_harness: Any) -> None:
    """The posix lane (TASKER_PLATFORM=posix) really runs posix: seen in its workers and in the parent."""
    assert _platform.current().name == LANE
    check_worker(make_harness(max_processes=1), LANE)


def test_each_implementation_runs_its_workers_its_own_way(make_harness: Any, forced: str) -> None:
    check_worker(make_harness(max_processes=1), forced)


def test_large_payloads_travel_both_ways_in_the_implementations_shared_memory(
    make_harness: Any, forced: str
) -> None:
    h: Harness = make_harness(max_processes=1)
    data = bytes(range(256)) * ((3 << 20) // 256)
    echo = h.mgr.run_process(platform_jobs.big_bytes, len(data), when_done=h.when_done)
    assert h.finish(echo).result() == data
    platform = _platform.current()
    segment = platform.payload_segment(memoryview(data))
    try:
        view = platform.map_segment(segment)
        assert bytes(view) == data and len(view) == len(data)
        link = os.readlink(f"/proc/self/fd/{segment}")
        assert "tasker-payload" in link and link.endswith("(deleted)"), "nothing named remains"
    finally:
        platform.close_handle(segment)


def test_a_posix_segment_without_its_header_is_refused() -> None:
    posix = named("posix")
    from tasker._platform._posix import shared_file

    fd = shared_file("payload", 8)
    try:
        with pytest.raises(ValueError, match="no header"):
            posix.map_segment(fd)
    finally:
        os.close(fd)


# -- parent death, in a PID namespace -----------------------------------------------------
@pytest.mark.parametrize("mode", ["trees", "paused"])
@pytest.mark.parametrize("name", possible())
def test_workers_and_their_trees_die_with_the_killed_app(tmp_path: Path, name: str, mode: str) -> None:
    """The app (tree_app.py) SIGKILLs itself while its tasks run process trees, one holding the GIL
    (``trees``), or while its one task's tree is paused: stopped by SIGSTOP (``paused``).

    With posix, only the lifeline pipe's EOF, seen by each worker's watcher
    process (outside the stopped group), can end them: nothing Linux-only is armed.
    """
    from test_frozen import _need, _pidns_problem

    problem = _pidns_problem()
    _need(problem is None, f"needs `unshare --pid --mount-proc` (root): {problem}")
    report_path = tmp_path / "pidns.json"
    env = dict(os.environ)
    env[ENV_VAR] = name
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__import__("tasker").__file__).parent.parent), env.get("PYTHONPATH")) if p
    )
    argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", sys.executable, str(HERE / "pidns.py")]
    argv += [str(report_path), "40", "60", "--", sys.executable, str(HERE / "tree_app.py"), mode]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=90)
    report = json.loads(report_path.read_text())
    assert report["returncode"] == -signal.SIGKILL, done.stdout + done.stderr
    assert f"PLATFORM {name}" in done.stdout, done.stdout
    trees = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("TREES "))[6:])
    assert len(trees) == (1 if mode == "paused" else 3)
    print(f"\n{name}, {mode}: app killed: namespace empty after {report['empty_after_s']} s")
    assert report["left_after_5s"] == {}, "processes outlived the killed app"
    assert report["empty_after_s"] is not None, "the namespace never emptied by itself"


def test_without_shm_open_posix_uses_an_unlinked_temporary_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where ``shm_open`` is refused (no /dev/shm), a segment is an unlinked file: still nothing named."""
    import _posixshmem

    def refused(*args: Any, **kwargs: Any) -> int:
        raise PermissionError("shm_open refused (a test)")

    monkeypatch.setattr(_posixshmem, "shm_open", refused)
    posix = named("posix")
    data = b"tasker" * 300_000
    segment = posix.payload_segment(memoryview(data))
    try:
        link = os.readlink(f"/proc/self/fd/{segment}")
        assert "/dev/shm/" not in link and link.endswith("(deleted)"), link
        assert bytes(posix.map_segment(segment)) == data
    finally:
        posix.close_handle(segment)


def test_a_handoff_closes_its_handles_once() -> None:
    from tasker._platform._base import Handoff

    closed: list[int] = []
    read_end, write_end = os.pipe()
    handoff = Handoff(str(read_end), (read_end, write_end), lambda fd: (closed.append(fd), os.close(fd)))
    handoff.close()
    handoff.close()
    assert closed == [read_end, write_end] and handoff.inherit == ()
