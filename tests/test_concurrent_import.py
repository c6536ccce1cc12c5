"""A process task's result whose class lives in a package that another thread of
the application is importing at that very moment (found with NumPy in the GTK
demo: "cannot import name 'asanyarray' from partially initialized module
'numpy._core.numeric'").

The package is built as NumPy is (``__init__`` imports its submodules, which
import their siblings relatively), with a gate in ``__init__`` where the
application's thread stops. Up to Python 3.13, a plain unpickler loads the
submodule itself while the package is half-run in the other thread, and the
import system breaks the resulting lock cycle by handing the application's
``__init__`` a half-initialised submodule. tasker's loader imports the package
first (``_payload._Loader``): its reader waits on the package's lock, and both
sides end well. The same race in a fresh interpreter: tests/test_first_import_race.py.
"""

from __future__ import annotations

import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import first_import_app

from conftest import Harness

pytestmark = pytest.mark.timeout(60)

JOB = """
def warm(context):
    import gatedpkg.things  # in the worker only: its result is a plain string
    return "warm"


def make_thing(context, value):
    from gatedpkg.things import Thing
    return Thing(value)
"""


def _someone_waits_for(module: str, besides: threading.Thread) -> bool:
    """A thread other than ``besides`` waits for the import lock of ``module``."""
    return any(
        first_import_app.waits_for(thread, module) for thread in threading.enumerate() if thread is not besides
    )


def _wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    tick = threading.Event()  # never set: one bounded wait between looks
    for _ in range(int(timeout / 0.002)):
        if condition():
            return True
        tick.wait(0.002)
    return condition()


@pytest.fixture
def gated_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    first_import_app.write_package(tmp_path, "gatedpkg")
    (tmp_path / "gatedpkg_job.py").write_text(textwrap.dedent(JOB))
    monkeypatch.syspath_prepend(str(tmp_path))  # before the pool starts: workers get this sys.path
    yield tmp_path
    for name in [name for name in sys.modules if name.startswith("gatedpkg")]:
        del sys.modules[name]


def test_a_result_unpickled_while_another_thread_imports_its_package(
    gated_package: Path, make_harness: Callable[..., Harness]
) -> None:
    """Before the fix the application's import failed ("partially initialized module
    'gatedpkg.things'") and the task with it; now the reader waits for the import."""
    import gatedpkg_gate  # type: ignore[import-not-found]
    import gatedpkg_job  # type: ignore[import-not-found]

    h = make_harness(max_processes=1)  # the worker that imported the package runs the task
    h.finish(h.mgr.run_process(gatedpkg_job.warm, when_done=h.when_done))  # the worker is up, with the package
    assert "gatedpkg" not in sys.modules, "the application has not imported the package yet"
    imported: list[str] = []

    def app_import() -> None:
        try:
            import gatedpkg  # type: ignore[import-not-found]

            imported.append(gatedpkg.Thing.__module__)
        except BaseException as error:
            imported.append(f"{type(error).__name__}: {error}")

    gatedpkg_gate.release.clear()
    importer = threading.Thread(target=app_import, name="app-importer", daemon=True)
    try:
        importer.start()
        assert gatedpkg_gate.entered.wait(10), "the application's import did not start"
        task = h.mgr.run_process(gatedpkg_job.make_thing, 42, key="thing", when_done=h.when_done)
        assert _wait_until(lambda: _someone_waits_for("gatedpkg", importer)), "the result was not unpickled"
        gatedpkg_gate.release.set()  # only now: the reader waits for the package
        h.finish(task)
    finally:
        gatedpkg_gate.release.set()
        importer.join(10)
    assert not importer.is_alive()
    assert imported == ["gatedpkg.things"], f"the application's own import failed: {imported}"
    assert str(task.get_status()) == "completed", f"lost to the half-initialised package: {task.exception()!r}"
    value = task.result()
    assert type(value).__module__ == "gatedpkg.things" and value.value == 42


def test_an_import_error_that_waiting_cannot_cure_still_fails_the_task(
    gated_package: Path, make_harness: Callable[..., Harness]
) -> None:
    """A class the application cannot import at all: the same clear failure as before."""
    import gatedpkg_job

    h = make_harness()
    task = h.finish(h.mgr.run_process(gatedpkg_job.make_thing, 1, when_done=h.when_done))
    assert task.result().value == 1
    (gated_package / "gatedpkg" / "things.py").write_text("raise ImportError('gone', name='gatedpkg.things')\n")
    for name in [name for name in sys.modules if name.startswith("gatedpkg.")]:
        del sys.modules[name]
    import importlib

    importlib.invalidate_caches()
    failed = h.finish(h.mgr.run_process(gatedpkg_job.make_thing, 2, when_done=h.when_done))
    assert str(failed.get_status()) == "failed"
    assert "could not be unpickled" in str(failed.exception())
