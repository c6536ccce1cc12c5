"""tasker's pytest plugin (``tasker._pytest_plugin``), run by pytester on an application's tests.

Each test writes a small application (``app.py``, using ``tasker.task_mgr`` as
apps do) and test files, runs pytest on them in a subprocess — real worker
processes, its own leak checks — and reads the outcome. The plugin is loaded
with ``-p`` and entry points off (so the run is the same before and after
tasker is reinstalled); ``test_the_wheel_registers_the_plugin`` checks that an
installed wheel brings it in by itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parent.parent

APP = '''
    import time

    from tasker import task_mgr

    task_mgr.initialize(max_processes=1)   # what the app asks for at import


    def square(context, x):                # module level: worker processes import it
        context.set_message(f"squaring {x}")
        return x * x


    def until_canceled(context):
        context.set_message("waiting")
        while not context.is_cancelled():
            time.sleep(0.005)


    def ignores_cancel(context, seconds):
        context.set_message("not listening")
        time.sleep(seconds)


    def big_array(context):
        import numpy
        return numpy.arange(1 << 18)        # 2 MiB: through shared memory


    def start_export(done):                # application code: the shared task_mgr
        task_mgr.initialize(main_thread_scheduler="headless", max_threads=3)
        return task_mgr.run_process(square, 7, key="export", when_done=done)
'''


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], pytest.RunResult]:
    """``run(tests)``: pytest on ``app.py`` and these tests, in a subprocess, with the plugin."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")

    def run(tests: str) -> pytest.RunResult:
        pytester.makepyfile(app=textwrap.dedent(APP), test_app=textwrap.dedent(tests))
        return pytester.runpytest_subprocess("-p", "tasker._pytest_plugin", "-p", "no:cacheprovider")

    return run


def test_fixtures_run_every_kind_of_task_and_drive_fake_time(run: Callable[[str], pytest.RunResult]) -> None:
    result = run('''
        import asyncio

        import pytest
        from tasker import TaskTimeoutError
        from tasker.schedulers import ManualScheduler
        from tasker.testing import pump, pump_until, wait_settled

        import app


        async def fetch(context, n):
            await asyncio.sleep(0)
            return n + 1


        def test_three_kinds(task_manager):
            assert isinstance(task_manager.scheduler, ManualScheduler)
            done = []
            tasks = [
                task_manager.run_thread(app.square, 3, when_done=done.append),
                task_manager.run_process(app.square, 4, when_done=done.append),
                task_manager.add_coroutine(fetch, 5, when_done=done.append),
            ]
            wait_settled(task_manager)
            assert [t.result() for t in tasks] == [9, 16, 6]
            assert sorted(t.kind for t in done) == ["coroutine", "process", "thread"]


        def test_when_done_waits_for_the_pump(task_manager):
            done = []
            task = task_manager.run_thread(app.square, 2, when_done=done.append)
            assert task.wait(10)
            assert done == []                       # nothing runs until the test pumps
            pump_until(task_manager, lambda: done == [task])


        def test_fake_time(task_manager, fake_clock):
            assert task_manager.options.clock is fake_clock
            calls = []
            task_manager.schedule_delayed_on_main_thread(30.0, calls.append, "late")
            task = task_manager.run_thread(app.until_canceled, timeout=5.0)
            pump_until(task_manager, lambda: task.get_message() == "waiting")
            fake_clock.advance(4.9)
            pump(task_manager)
            assert not task.is_final() and calls == []
            fake_clock.advance(0.1)                 # the timeout, exactly
            pump_until(task_manager, task.is_final)
            assert isinstance(task.exception(), TaskTimeoutError)
            fake_clock.advance(25.0)
            pump(task_manager)
            assert calls == ["late"]


        @pytest.mark.parametrize("tasker_options", [{"max_threads": 1, "update_rate": 5}])
        def test_options(task_manager):
            assert task_manager.options.max_threads == 1 and task_manager.options.update_rate == 5
    ''')
    result.assert_outcomes(passed=4)


def test_the_default_task_mgr_runs_on_the_manual_scheduler_for_a_test(run: Callable[[str], pytest.RunResult]) -> None:
    result = run('''
        from tasker import task_mgr
        from tasker.schedulers import ManualScheduler
        from tasker.testing import pump_until

        import app


        def test_app_code_uses_the_test_manager(manual_task_mgr):
            assert manual_task_mgr.options.max_processes == 1   # the app's initialize() at import
            done = []
            task = app.start_export(done.append)                # calls initialize() and run_process
            assert task_mgr.get_task("export") is task
            assert manual_task_mgr.options.max_threads == 3      # its other options apply...
            assert isinstance(task_mgr.scheduler, ManualScheduler)  # ...not its scheduler
            pump_until(manual_task_mgr, lambda: done == [task])
            assert task.result() == 49


        def test_afterwards_the_proxy_is_as_it_was(manual_task_mgr):
            assert task_mgr.scheduler is manual_task_mgr.scheduler   # a new one for this test
            assert task_mgr.get_task("export") is None


        def test_no_fixture_no_manager():
            assert task_mgr.__dict__["_manager"] is None
            assert task_mgr.initialized_options() == {"max_processes": 1}
    ''')
    result.assert_outcomes(passed=3)


def test_what_a_test_leaves_behind_fails_it(run: Callable[[str], pytest.RunResult], tmp_path: Path) -> None:
    """Each kind of leak fails its test at teardown, naming what was left.

    (On Windows payloads travel in band over the pipe: no shared memory is mapped, so
    that case is Linux's and the POSIX platform's.)
    """
    pid_file = tmp_path / "pid"
    shares_memory = sys.platform != "win32"
    tests = f'''
        import os
        import subprocess
        import sys

        import pytest
        from tasker.testing import pump_until

        import app

        kept = []


        def test_a_task_left_running(task_manager):
            task = task_manager.run_thread(app.until_canceled, key="poller")
            # its message, not only its start: the thread may set it after running begins
            pump_until(task_manager, lambda: task.get_message() == "waiting")


        @pytest.mark.tasker_allow_live_tasks
        def test_allowed(task_manager):
            task = task_manager.run_thread(app.until_canceled, key="poller")
            pump_until(task_manager, task.is_running)


        def test_a_thread_that_ignores_cancel(task_manager):
            task = task_manager.run_thread(app.ignores_cancel, 30, key="deaf")
            pump_until(task_manager, lambda: task.get_message() == "not listening")
            task.cancel()


        def test_a_process_left_behind(task_manager):
            python = getattr(sys, "_base_executable", sys.executable)  # (not a venv launcher: one process)
            proc = subprocess.Popen([python, "-c", "import time; time.sleep(60)"], stdin=subprocess.DEVNULL)
            open({str(pid_file)!r}, "w").write(f"{{proc.pid}} {{os.getpid()}}")
    '''
    if shares_memory:
        tests += '''

        def test_shared_memory_left_mapped(task_manager):
            task = task_manager.run_process(app.big_array)
            pump_until(task_manager, task.is_final)
            kept.append(task.result())          # still referenced after the test
        '''
    result = run(tests)
    try:
        result.assert_outcomes(passed=4 + shares_memory, errors=3 + shares_memory)
        out = result.stdout.str()
        assert "ERROR at teardown of test_a_task_left_running" in out
        result.stdout.fnmatch_lines([
            "*tasker: 1 task left running (wait for them*",
            "*#* 'poller' (thread) running 'waiting'",
        ])
        assert "test_allowed" not in out.split("= ERRORS =")[1]
        assert "During handling" not in out
        result.stdout.fnmatch_lines(["*'deaf' (thread) running 'not listening', cancel requested"])
        result.stdout.fnmatch_lines(["*threads left behind: tasker-thread-1"])
        result.stdout.fnmatch_lines(["*processes left behind: * (*-c import time; time.sleep(60))"])
        if shares_memory:
            result.stdout.fnmatch_lines(["*shared memory left mapped: 1 tasker payload mapping (*"])
    finally:
        if pid_file.exists():
            _stop(*map(int, pid_file.read_text().split()))


def test_waits_fail_with_the_live_tasks_instead_of_hanging(run: Callable[[str], pytest.RunResult]) -> None:
    result = run('''
        from tasker.testing import pump_until, wait_settled

        import app


        def test_pump_until(task_manager):
            task = task_manager.run_thread(app.until_canceled, key="poller")
            try:
                pump_until(task_manager, task.is_final, timeout=0.3)
            finally:
                task.cancel()
                wait_settled(task_manager)


        def test_wait_settled_with_fake_time(task_manager, fake_clock):
            task = task_manager.run_thread(app.until_canceled, key="timed", timeout=5)
            try:
                wait_settled(task_manager, timeout=0.3)   # its timeout is on fake time
            finally:
                fake_clock.advance(5)
                wait_settled(task_manager)
    ''')
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*tasker.testing.WaitTimeout: pump_until: *Task*is_final() still false after 0.3 s",
        "*1 live task:",
        "*#* 'poller' (thread) running 'waiting'",
    ])
    # The timeout's timer; and the throttle's too when the task's "waiting" came after the
    # first tasks_updated (at 0 s, within its interval): which one depends on which thread
    # ran first (with the GIL, nearly always the task's), and both states are told exactly.
    result.stdout.re_match_lines([
        r".*WaitTimeout: wait_settled: not settled after 0\.3 s",
        r".*#\d+ 'timed' \(thread\) running 'waiting', timeout 5 s",
        r".*the fake clock is at 0 s with (1 timer pending, the next one due in 5 s"
        r"|2 timers pending, the next one due in 0\.05 s): time moves only.*",
    ])


def test_bad_options_fail_at_setup(run: Callable[[str], pytest.RunResult]) -> None:
    result = run('''
        import pytest


        @pytest.mark.parametrize("tasker_options", [{"max_thread": 2}])
        def test_typo(task_manager):
            pass
    ''')
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*TypeError: unknown TaskManager option(s): max_thread; known:*"])


def test_the_module_docstring_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    import tasker.testing

    example = textwrap.dedent(tasker.testing.__doc__.split("calls exactly:\n", 1)[1])  # type: ignore[union-attr]
    exec(compile(example, "tasker.testing docstring", "exec"), {})
    assert capsys.readouterr().out == "five seconds later\n"


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, pytest; before = set(sys.modules); import tasker._pytest_plugin; "
        "print(sorted(m for m in set(sys.modules) - before if m.startswith(('tasker', 'gi', 'PySide6'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = eval(out)
    assert set(loaded) <= {"tasker", "tasker._core", "tasker._core._proxy", "tasker._core._public",
                           "tasker._pytest_plugin"}, loaded


@pytest.mark.skipif(find_spec("hatchling") is None, reason="needs hatchling (the dev extra) to build the wheel")
def test_the_wheel_registers_the_plugin(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", wheels, ROOT], check=True)
    (wheel,) = wheels.glob("tasker_ui-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", site, wheel], check=True)
    pytester.makepyfile(test_installed=f'''
        import tasker

        def test_fixture_from_the_entry_point(request, task_manager):
            assert tasker.__file__.startswith({str(site)!r})
            assert request.config.pluginmanager.has_plugin("tasker")
            task = task_manager.run_thread(lambda ctx: 42)
            assert task.wait(10) and task.result() == 42
    ''')
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def _stop(pid: int, parent: int) -> None:
    """End the process the app's test left behind (``pid``, started by the test run ``parent``)."""
    if sys.platform == "win32":  # no signals: TerminateProcess, once the snapshot shows it is that child
        from tasker._platform import _windows_procs

        if _windows_procs.processes().get(pid, (0, ""))[0] == parent:
            os.kill(pid, signal.SIGTERM)  # (TerminateProcess)
            _windows_procs.wait_gone(pid, 30.0)
        return
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
