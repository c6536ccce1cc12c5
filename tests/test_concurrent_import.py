"""A process task's result whose class lives in a package that another thread of
the application is importing at that very moment (found with NumPy in the GTK
demo: "cannot import name 'asanyarray' from partially initialized module
'numpy._core.numeric'").

When two threads' imports of one package would deadlock on its module locks,
CPython hands one of them the half-initialised module, and a ``from … import
name`` there fails. The package here does what that thread then sees, at a
moment the test chooses: its ``things`` module reads the package from
``sys.modules`` while the application's thread is stopped in the package's
``__init__`` (a gate), and raises the same ImportError.
"""

from __future__ import annotations

import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import Harness

pytestmark = pytest.mark.timeout(60)

GATE = """
import threading
init_entered = threading.Event()   # the package's __init__ has started
init_release = threading.Event()   # it may finish (set in a worker: nothing waits there)
things_seen = threading.Event()    # things.py has looked at the package
init_release.set()
"""
PACKAGE_INIT = """
import gatedpkg_gate as _gate
_gate.init_entered.set()
if not _gate.init_release.wait(30):
    raise RuntimeError("the test never released the package's import")
helper = "helper"
"""
THINGS = """
import sys

import gatedpkg_gate as _gate

_package = sys.modules["gatedpkg"]  # as CPython hands it over to break an import deadlock
_half = not hasattr(_package, "helper")
_gate.things_seen.set()
if _half:
    raise ImportError(
        "cannot import name 'helper' from partially initialized module 'gatedpkg' "
        "(most likely due to a circular import)", name="gatedpkg"
    )


class Thing:
    def __init__(self, value):
        self.value = value
"""
JOB = """
def warm(context):
    import gatedpkg.things  # in the worker only: its result is a plain string
    return "warm"


def make_thing(context, value):
    from gatedpkg.things import Thing
    return Thing(value)
"""


def _waits_for_the_package_import() -> bool:
    """A thread waits for the lock of the package another thread is importing (Python 3.14+).

    Python 3.14's import system makes ``import gatedpkg.things`` wait until the
    package's own import has finished, when another thread is in the middle of it
    (``importlib._bootstrap._find_and_load_unlocked``): the reader never sees the
    half-initialised package there, unless the two imports form a cycle.
    ``_blocking_on`` (Python 3.12+) maps each thread's id to the module locks it waits for.
    """
    from importlib import _bootstrap

    blocking = getattr(_bootstrap, "_blocking_on", None)
    if blocking is None:
        return False
    waiting = [lock for thread in threading.enumerate() for lock in list(blocking.get(thread.ident) or ())]
    return any(getattr(lock, "name", None) == "gatedpkg" for lock in waiting)


def _the_reader_looked(things_seen: threading.Event, timeout: float = 10.0) -> bool:
    """The result's reader has reached the package: it saw it half-initialised (up to
    Python 3.13), or it waits for the application's import of it to finish (3.14+)."""
    if sys.version_info < (3, 14):
        return things_seen.wait(timeout)
    polls = int(timeout / 0.01)
    return any(things_seen.wait(0.01) or _waits_for_the_package_import() for _ in range(polls))


@pytest.fixture
def gated_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "gatedpkg").mkdir()
    (tmp_path / "gatedpkg_gate.py").write_text(textwrap.dedent(GATE))
    (tmp_path / "gatedpkg" / "__init__.py").write_text(textwrap.dedent(PACKAGE_INIT))
    (tmp_path / "gatedpkg" / "things.py").write_text(textwrap.dedent(THINGS))
    (tmp_path / "gatedpkg_job.py").write_text(textwrap.dedent(JOB))
    monkeypatch.syspath_prepend(str(tmp_path))  # before the pool starts: workers get this sys.path
    yield tmp_path
    for name in [name for name in sys.modules if name.startswith("gatedpkg")]:
        del sys.modules[name]


def test_a_result_unpickled_while_another_thread_imports_its_package(
    gated_package: Path, make_harness: Callable[..., Harness]
) -> None:
    """Before the fix the task failed ("could not be unpickled"); now the reader waits for the import.

    (On Python 3.14+ the import system itself makes the reader wait; the task must complete there too.)"""
    import gatedpkg_gate  # type: ignore[import-not-found]
    import gatedpkg_job  # type: ignore[import-not-found]

    h = make_harness(max_processes=1)  # the worker that imported the package runs the task
    h.finish(h.mgr.run_process(gatedpkg_job.warm, when_done=h.when_done))  # the worker is up, with the package
    assert "gatedpkg" not in sys.modules, "the application has not imported the package yet"
    gatedpkg_gate.init_release.clear()
    importer = threading.Thread(target=__import__, args=("gatedpkg",), name="app-importer", daemon=True)
    try:
        importer.start()
        assert gatedpkg_gate.init_entered.wait(10), "the application's import did not start"
        task = h.mgr.run_process(gatedpkg_job.make_thing, 42, key="thing", when_done=h.when_done)
        assert _the_reader_looked(gatedpkg_gate.things_seen), "the result was not unpickled"
        gatedpkg_gate.init_release.set()  # only now: the reader has seen the half-initialised package
        h.finish(task)
    finally:
        gatedpkg_gate.init_release.set()
        importer.join(10)
    assert not importer.is_alive()
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
