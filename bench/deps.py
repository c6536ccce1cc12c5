"""Bench-only dependencies: find what is missing and install it with pip.

``requirements.txt`` beside this file is the list. A line ending in
``# no-deps`` is installed with ``--no-deps`` (Rayforge: only its tasker
subpackage is used, which needs blinker and nothing else of Rayforge's).
A failed install is not fatal: the implementations that need the package
then show an error cell, and the exact command is printed.

``python -m bench.deps`` installs what is missing and exits non-zero if
anything still is (``scripts/setup`` runs it).
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REQUIREMENTS = Path(__file__).with_name("requirements.txt")
PIP_TIMEOUT = 600


@dataclass(frozen=True)
class Requirement:
    spec: str
    name: str
    pinned: str | None
    no_deps: bool


def parse(path: Path = REQUIREMENTS) -> list[Requirement]:
    reqs = []
    for raw in path.read_text().splitlines():
        spec, _, comment = raw.partition("#")
        spec = spec.strip()
        if not spec:
            continue
        name = re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0]
        pinned = spec.split("==", 1)[1].strip() if "==" in spec else None
        reqs.append(Requirement(spec, name, pinned, "no-deps" in comment))
    return reqs


def is_satisfied(req: Requirement) -> bool:
    try:
        version = importlib.metadata.version(req.name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return req.pinned is None or version == req.pinned


def pip_command(reqs: list[Requirement], no_deps: bool) -> list[str]:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet"]
    if no_deps:
        cmd.append("--no-deps")
    return cmd + [req.spec for req in reqs]


def ensure(install: bool = True) -> list[str]:
    """Install what is missing; return messages about what is still missing."""
    missing = [req for req in parse() if not is_satisfied(req)]
    problems = []
    for no_deps in (False, True):
        group = [req for req in missing if req.no_deps == no_deps]
        if not group:
            continue
        cmd = pip_command(group, no_deps)
        shown = " ".join([*cmd[:1], "-m", "pip", "install", *cmd[5:]])
        if install:
            print(f"bench: installing {', '.join(r.spec for r in group)}", file=sys.stderr)
            done = subprocess.run(cmd, check=False, timeout=PIP_TIMEOUT)
            if done.returncode == 0:
                continue
        problems.append(f"missing {', '.join(r.spec for r in group)}: run `{shown}`")
    return problems


def main() -> int:
    problems = ensure()
    for problem in problems:
        print(f"bench: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
