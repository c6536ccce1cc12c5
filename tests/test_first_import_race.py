"""A value unpickled while another thread imports its package for the first time, in fresh interpreters.

``first_import_app.py`` builds the race deterministically (a gate in the
package's ``__init__``, opened once the reader waits on the package's import
lock). The control shows that the race is real on this Python: a plain
``pickle.loads`` makes the import system hand the application's thread a
half-initialised module (up to Python 3.13). tasker's loader (``_payload.loads``)
must leave both sides whole. Warm unpickling stays as it was: see
``test_a_warm_loader_imports_nothing``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tasker.runners._remote import _payload

HERE = Path(__file__).parent
APP = HERE / "first_import_app.py"

pytestmark = pytest.mark.timeout(120)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(_payload.__file__).parents[3])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


@pytest.fixture
def pickled_thing(tmp_path: Path) -> str:
    """The package written to ``tmp_path``; a ``racepkg.things.Thing(42)`` pickled by another interpreter."""
    made = subprocess.run(
        [sys.executable, str(APP), "make", str(tmp_path)], capture_output=True, text=True, timeout=60, env=_env()
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def _race(folder: Path, loader: str, pickled: str) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, str(APP), "race", str(folder), loader, pickled],
        capture_output=True, text=True, timeout=90, env=_env(),
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"exit {done.returncode}: {done.stderr[-2000:]}"
    result: dict[str, str] = json.loads(lines[-1][len("RESULT "):])
    return result


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="Python 3.14's import system waits for the package itself")
def test_control_a_plain_unpickler_breaks_the_applications_import(tmp_path: Path, pickled_thing: str) -> None:
    """The race is real: without tasker's loader the application's ``import racepkg`` fails."""
    result = _race(tmp_path, "plain", pickled_thing)
    assert "note" not in result, result
    assert "partially initialized module 'racepkg.things'" in result["app"], result


def test_taskers_loader_waits_for_the_package_and_both_sides_end_well(tmp_path: Path, pickled_thing: str) -> None:
    """Failed before the fix: the application's import raised as in the control, and the
    reader's ``find_class`` raised ``KeyError: 'racepkg'``."""
    result = _race(tmp_path, "tasker", pickled_thing)
    assert result == {"app": "ok", "reader": "ok"}, result


def test_a_warm_loader_imports_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A module in ``sys.modules`` and initialised: no import at all (the common case)."""
    import collections

    calls: list[str] = []
    monkeypatch.setattr(_payload, "_import_top_down", calls.append)
    data = _payload.dumps((collections.OrderedDict(a=1), os.path.join), in_band=True)[0]
    assert _payload.loads(data, []) == (collections.OrderedDict(a=1), os.path.join)
    assert calls == [], "a module already imported was imported again"


def test_a_module_that_is_initialising_is_imported_top_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dotted module still initialising (or missing) goes through the top-down import."""
    import json.decoder

    calls: list[str] = []
    monkeypatch.setattr(_payload, "_import_top_down", calls.append)
    data = _payload.dumps(json.decoder.JSONDecodeError("bad", "doc", 1), in_band=True)[0]
    monkeypatch.setattr(json.decoder.__spec__, "_initializing", True, raising=False)
    assert isinstance(_payload.loads(data, []), json.decoder.JSONDecodeError)
    assert calls == ["json.decoder"]


def test_names_that_cannot_be_imported_fail_as_pickle_always_did() -> None:
    """A module missing from the application: pickle's own error, not one of the top-down walk's."""
    data = b"cno_such.pkg\nGone\n."  # protocol 0: GLOBAL no_such.pkg Gone; STOP
    with pytest.raises(ModuleNotFoundError, match="no_such"):
        _payload.loads(data, [])


def _names_a_global(data: bytes) -> bool:
    import pickletools

    imports = {"GLOBAL", "STACK_GLOBAL", "INST", "EXT1", "EXT2", "EXT4"}
    return any(op.name in imports for op, _arg, _pos in pickletools.genops(data))


def test_the_fast_path_is_taken_only_for_pickles_that_name_no_global(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain values skip the loader (``pickle.loads``); anything that names a class or
    function goes through it, whatever bytes the values hold (cloudpickle too)."""
    import collections
    import copyreg
    import fractions

    copyreg.add_extension("fractions", "Fraction", 0x7A3F1)  # EXT4: a registered global
    try:
        values: list[object] = [
            None, 1, -(2**70), 1.5, "text \x93\x82", b"\x93\x82\x83\x84", bytearray(b"\x84"), ("R", 12, None),
            [1, {"a": (2, 3)}], {1, 2}, frozenset({3}), collections.OrderedDict(a=1), fractions.Fraction(1, 3),
            os.path.join, ValueError("x"), range(3), complex(1, 2), lambda: 1,
        ]
        for value in values:
            data = _payload.dumps_portable(value, in_band=True)[0]
            assert data[:2] == b"\x80\x05"
            if _names_a_global(data):
                assert _payload._may_import(data), f"{value!r}: a global, and the fast path would be taken"
            loaded: list[str] = []

            class Recording(_payload._Loader):
                def find_class(self, module: str, name: str, seen: list[str] = loaded) -> Any:
                    seen.append(module)
                    return super().find_class(module, name)

            monkeypatch.setattr(_payload, "_Loader", Recording)
            _payload.loads(data, [])
            assert bool(loaded) == _names_a_global(data), f"{value!r}: {loaded}"
    finally:
        copyreg.remove_extension("fractions", "Fraction", 0x7A3F1)
