"""The process engine's platform seam: which implementation of ``_base.Platform`` runs here.

    sys.platform        default      TASKER_PLATFORM may force
    linux               linux        linux, posix
    darwin, *bsd, ...   posix        posix
    win32               windows      windows

``current()`` picks it once per process (imported on first use: a worker loads
only its own); a worker takes the parent's choice, which travels on its command
line, with ``adopt(name)``. ``TASKER_PLATFORM`` is for tests: the posix lane
(``scripts/test-posix``) runs the process suites on Linux with the implementation
macOS and the BSDs use.
"""

from __future__ import annotations

import importlib
import os
import sys

from ._base import ENV_VAR

TYPE_CHECKING = False  # (typing is not imported at run time: see docs/bench-method.md, cold start)

if TYPE_CHECKING:
    from ._base import Platform

__all__ = ["ENV_VAR", "NAMES", "adopt", "chosen_name", "current", "default_name", "named", "possible"]

#: Every implementation, by name.
NAMES = ("linux", "posix", "windows")

_current: Platform | None = None


def default_name(system: str = sys.platform) -> str:
    """The implementation a system uses unless ``TASKER_PLATFORM`` says otherwise."""
    if system.startswith("linux"):
        return "linux"
    if system == "win32":
        return "windows"
    return "posix"


def possible(system: str = sys.platform) -> tuple[str, ...]:
    """The implementations that can run on ``system``."""
    if system.startswith("linux"):
        return ("linux", "posix")
    if system == "win32":
        return ("windows",)
    return ("posix",)


def chosen_name(value: str | None = None, system: str = sys.platform) -> str:
    """The implementation to use: ``value`` (``TASKER_PLATFORM``'s) checked, else the default.

    Raises ``RuntimeError`` naming the variable for an unknown name, or one that
    cannot run on ``system`` (e.g. windows on Linux).
    """
    if value is None:
        value = os.environ.get(ENV_VAR, "")
    choice = value.strip().lower()
    if not choice:
        return default_name(system)
    if choice not in NAMES:
        raise RuntimeError(
            f"{ENV_VAR}={value!r} is not a platform tasker knows: use one of {', '.join(NAMES)} "
            f"(or leave {ENV_VAR} unset for this system's own, {default_name(system)!r})"
        )
    if choice not in possible(system):
        raise RuntimeError(
            f"{ENV_VAR}={value!r} cannot run on this system ({system!r}): here it may be "
            f"{' or '.join(possible(system))}; unset {ENV_VAR} for the default, {default_name(system)!r}"
        )
    return choice


def named(name: str) -> Platform:
    """The implementation called ``name`` (checked as ``TASKER_PLATFORM`` would be), loaded now."""
    choice = chosen_name(name)
    module = importlib.import_module(f"{__name__}._{choice}")
    platform: Platform = module.PLATFORM
    return platform


def adopt(name: str) -> Platform:
    """Make ``name`` this process's implementation (a worker: the one its parent uses)."""
    global _current
    _current = named(name)
    return _current


def current() -> Platform:
    """This process's implementation: ``TASKER_PLATFORM`` if set, else the system's (once)."""
    global _current
    if _current is None:
        _current = named(chosen_name())
    return _current
