"""One fresh interpreter: a value of a package's submodule unpickled while another thread imports the package.

    python first_import_app.py make DIR             write the package ``racepkg`` into DIR and
                                                    print a pickled ``racepkg.things.Thing(42)`` (hex)
    python first_import_app.py race DIR LOADER HEX  the race (LOADER: ``tasker``, tasker's
                                                    ``_payload.loads``; ``plain``, ``pickle.loads``)

The package is built the way NumPy is: its ``__init__`` imports a submodule,
then (at the gate) the submodule ``things``, which imports a sibling relatively
(``from . import base``: that waits for the package's own import lock when
another thread is running ``__init__``). The race, step by step, each wait
bounded:

1. thread ``app`` imports ``racepkg`` and stops at the gate (``gate.entered``);
2. thread ``reader`` unpickles the ``Thing``;
3. once ``reader`` waits on the lock of ``racepkg`` (``importlib._bootstrap._blocking_on``)
   the gate opens.

A plain ``pickle.loads`` up to Python 3.13 executes ``racepkg/things.py`` in the
reader (the package is in ``sys.modules``), holding that module's lock, and
waits in its ``from . import base`` for the package: when the app's ``__init__``
then imports ``things``, the import system finds the cycle and hands the app the
half-initialised ``things`` ("cannot import name 'Thing' from partially
initialized module"). The app's import fails, though the reader's value loads.
Prints one line ``RESULT {"app": ..., "reader": ...}`` ("ok" or the error).
"""

from __future__ import annotations

import json
import pickle
import sys
import threading
from pathlib import Path
from typing import Any

#: Each wait's bound (s): far above what any step needs; running out is reported, not waited past.
BOUND_S = 20.0

GATE = """
import threading
entered = threading.Event()   # racepkg/__init__.py reached the gate
release = threading.Event()   # ... and may go on (set: an import that nobody races goes through)
release.set()
"""
INIT = """
from . import base
import {name}_gate as _gate
_gate.entered.set()
if not _gate.release.wait(20):
    raise RuntimeError("the gate was never opened")
from .things import Thing
"""
BASE = """
SCALE = 1
"""
THINGS = """
from . import base


class Thing:
    def __init__(self, value):
        self.value = value * base.SCALE
"""


def write_package(folder: Path, name: str = "racepkg") -> None:
    """Write the package ``name`` (built as above) and its gate module ``{name}_gate`` into ``folder``."""
    (folder / name).mkdir()
    (folder / f"{name}_gate.py").write_text(GATE)
    (folder / name / "__init__.py").write_text(INIT.format(name=name))
    (folder / name / "base.py").write_text(BASE)
    (folder / name / "things.py").write_text(THINGS)


def make(folder: Path) -> bytes:
    write_package(folder)
    sys.path.insert(0, str(folder))
    from racepkg.things import Thing  # type: ignore[import-not-found]

    return pickle.dumps(Thing(42), protocol=5)


def waits_for(thread: threading.Thread, module: str) -> bool:
    """Whether ``thread`` waits for the import lock of ``module`` (3.11: one lock; 3.12+: a list)."""
    from importlib import _bootstrap

    held: Any = _bootstrap._blocking_on.get(thread.ident)  # type: ignore[attr-defined]
    locks = list(held) if isinstance(held, list) else [held]
    return any(getattr(lock, "name", None) == module for lock in locks)


def race(folder: Path, loader: str, data: bytes) -> dict[str, str]:
    sys.path.insert(0, str(folder))
    import racepkg_gate as gate  # type: ignore[import-not-found]

    if loader == "tasker":
        from tasker.runners._remote import _payload

        def load() -> Any:
            return _payload.loads(data, [])
    else:
        def load() -> Any:
            return pickle.loads(data)

    outcome: dict[str, str] = {"app": "did not end", "reader": "did not end"}

    def app() -> None:
        try:
            import racepkg  # type: ignore[import-not-found]

            outcome["app"] = "ok" if racepkg.Thing.__module__ == "racepkg.things" else "no Thing"
        except BaseException as error:
            outcome["app"] = f"{type(error).__name__}: {error}"

    def reader() -> None:
        try:
            value = load()
            outcome["reader"] = "ok" if value.value == 42 else f"value {value.value}"
        except BaseException as error:
            outcome["reader"] = f"{type(error).__name__}: {error}"

    gate.release.clear()
    importer = threading.Thread(target=app, name="app", daemon=True)
    importer.start()
    if not gate.entered.wait(BOUND_S):
        return {"app": "never reached the gate", "reader": "not started"}
    unpickler = threading.Thread(target=reader, name="reader", daemon=True)
    unpickler.start()
    tick = threading.Event()  # never set: each look at the lock table is one bounded wait apart
    for _ in range(int(BOUND_S / 0.001)):
        if waits_for(unpickler, "racepkg") or not unpickler.is_alive():
            break
        tick.wait(0.001)
    else:
        outcome["note"] = "the reader never waited for the package's lock"
    gate.release.set()
    importer.join(BOUND_S)
    unpickler.join(BOUND_S)
    return outcome


if __name__ == "__main__":
    if sys.argv[1] == "make":
        print(make(Path(sys.argv[2])).hex())
    else:
        print("RESULT " + json.dumps(race(Path(sys.argv[2]), sys.argv[3], bytes.fromhex(sys.argv[4]))), flush=True)
