"""Every code example marked runnable in the docs runs (tests/docs_runner.py).

A fenced ```python block right after a ``<!-- runnable: KIND -->`` line is
written to a file and run in a subprocess: KIND ``plain`` as is, ``qt`` with
``QT_QPA_PLATFORM=offscreen``, ``tk`` on the X display (Xvfb under
scripts/test); window examples quit by themselves once their tasks ended.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).with_name("docs_runner.py")
DOCS = ["docs/qt.md", "docs/tk.md", "docs/asyncio.md", "docs/scripts.md", "docs/cluster.md"]
BLOCK = re.compile(r"<!-- runnable: (\w+) -->\s*\n```python\n(.*?)\n```", re.S)
BAD = re.compile(r"(\w+-)?(WARNING|CRITICAL)\b|Warning:|Traceback", re.I)


def examples() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        for index, match in enumerate(BLOCK.finditer((ROOT / doc).read_text(encoding="utf-8"))):
            found.append((f"{doc}#{index + 1}", match.group(1), match.group(2)))
    return found


def test_every_doc_has_a_runnable_example() -> None:
    docs = {name.split("#")[0] for name, _, _ in examples()}
    assert docs == set(DOCS)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("name", "kind", "code"), examples(), ids=[e[0] for e in examples()])
def test_doc_example_runs(name: str, kind: str, code: str, tmp_path: Path) -> None:
    if kind == "qt" and find_spec("PySide6") is None:
        pytest.skip("PySide6 is not installed")
    if kind == "tk" and not os.environ.get("DISPLAY"):
        pytest.skip("Tk needs a display (scripts/test provides Xvfb)")
    if name.startswith("docs/cluster.md") and find_spec("distributed") is None:
        if os.environ.get("CI"):
            pytest.fail("dask[distributed] is not installed (required in CI: the 'dask' extra)")
        pytest.skip("needs dask[distributed]")
    script = tmp_path / "example.py"
    script.write_text(code + "\n", encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "COLUMNS": "100"}
    env.pop("PYTEST_CURRENT_TEST", None)
    proc = subprocess.run(
        [sys.executable, str(RUNNER), kind, str(script)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=100,
    )
    assert proc.returncode == 0, f"{name}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    bad = [line for line in proc.stderr.splitlines() if BAD.search(line)]
    assert not bad, f"{name}:\n" + "\n".join(bad)
