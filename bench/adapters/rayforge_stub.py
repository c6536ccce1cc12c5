"""Import ``rayforge.shared.tasker`` without running Rayforge's package init.

``pip install --no-deps rayforge==1.13.1`` plus ``blinker`` is enough for the
tasker subpackage, but ``rayforge/__init__.py`` looks its version up on
import, which (the wheel has no version.txt) runs ``git describe`` in a
child process, in the app and in every spawned worker. That is Rayforge's
packaging, not its tasker, so the bench registers empty ``rayforge`` and
``rayforge.shared`` package modules pointing at the real folders and lets
the normal import machinery load only ``rayforge/shared/tasker/*.py``.

``bench._one`` calls :func:`install` at import time when ``ENV_FLAG`` is
set, so Rayforge's spawned workers (which re-import ``bench._one`` as their
``__mp_main__``) get the same treatment before they unpickle anything.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

ENV_FLAG = "BENCH_RAYFORGE_STUB"


def install() -> None:
    """Register the two stub package modules (idempotent)."""
    if "rayforge" in sys.modules:
        return
    spec = importlib.util.find_spec("rayforge")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "rayforge is not installed: pip install --no-deps rayforge==1.13.1 blinker"
        )
    root = next(iter(spec.submodule_search_locations))
    top = types.ModuleType("rayforge")
    top.__path__ = [root]
    shared = types.ModuleType("rayforge.shared")
    shared.__path__ = [os.path.join(root, "shared")]
    top.shared = shared  # type: ignore[attr-defined]
    sys.modules["rayforge"] = top
    sys.modules["rayforge.shared"] = shared
    os.environ[ENV_FLAG] = "1"


def install_if_flagged() -> None:
    if os.environ.get(ENV_FLAG) == "1":
        install()
