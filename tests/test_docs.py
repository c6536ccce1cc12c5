"""The docs: every Python example in them runs, and the site builds with ``mkdocs build --strict``.

Every fenced ```python block of every page in docs/ carries one of three marks
on the line before it:

* ``<!-- runnable: KIND -->`` — a complete program, written to a file and run in
  a subprocess by tests/docs_runner.py: KIND ``plain`` as is, ``gtk`` and ``tk``
  on the X display (Xvfb under scripts/test), ``qt`` with
  ``QT_QPA_PLATFORM=offscreen`` (window examples quit by themselves once their
  tasks ended; each runs twice: as written, on PySide6, and as ``qt-pyqt6`` with
  ``PyQt6`` for ``PySide6`` and ``TASKER_QT_API=pyqt6``), ``pytest`` as a test
  file run by pytest with tasker's plugin;
* ``<!-- file: NAME -->`` — a module the page's runnable examples import,
  written next to them (``app.py`` for a test file, say; the folders of a
  ``pkg/mod/__init__.py`` become packages);
* ``<!-- excerpt -->`` — lines shown on their own that are part of a runnable
  example or file of the same page (checked here), so they run with it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).with_name("docs_runner.py")
DOCS = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))
#: The guides: each has a complete example that runs.
GUIDES = ["docs/asyncio.md", "docs/cluster.md", "docs/faq.md", "docs/gtk.md", "docs/qt.md", "docs/scripts.md",
          "docs/testing.md", "docs/tk.md"]
BLOCK = re.compile(r"(?:<!-- (runnable|file|excerpt)(?:: ([\w./-]+))? -->[ \t]*\n)?```python\n(.*?)\n```", re.S)
BAD = re.compile(r"(\w+-)?(WARNING|CRITICAL)\b|Warning:|Traceback", re.I)


def blocks(doc: str) -> list[tuple[str | None, str | None, str]]:
    """(mark, argument, code) of every python block of a page."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), m.group(3)) for m in BLOCK.finditer(text)]


def examples() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        runnable = [(arg, code) for mark, arg, code in blocks(doc) if mark == "runnable"]
        for index, (kind, code) in enumerate(runnable):
            assert kind is not None
            found.append((f"{doc}#{index + 1}", kind, code))
            if kind == "qt":  # the same program on PyQt6
                found.append((f"{doc}#{index + 1}-pyqt6", "qt-pyqt6", code.replace("PySide6", "PyQt6")))
    return found


def code_lines(code: str) -> set[str]:
    """The lines that do something, without comments, indentation and ``...``."""
    lines = (line.split("  #")[0].strip() for line in code.splitlines())
    return {line for line in lines if line and not line.startswith("#") and line != "..."}


def test_every_python_block_runs() -> None:
    unmarked, strays = [], []
    for doc in DOCS:
        found = blocks(doc)
        unmarked += [f"{doc}: {code.splitlines()[0]!r}" for mark, _, code in found if mark is None]
        run = set().union(*(code_lines(code) for mark, _, code in found if mark in ("runnable", "file")))
        for mark, _, code in found:
            if mark == "excerpt":
                strays += [f"{doc}: {line!r}" for line in sorted(code_lines(code) - run)]
    assert not unmarked, "python blocks with no runnable/file/excerpt mark:\n" + "\n".join(unmarked)
    assert not strays, "excerpt lines found in no runnable example of their page:\n" + "\n".join(strays)


def test_every_guide_has_a_runnable_example() -> None:
    assert {name.split("#")[0] for name, _, _ in examples()} >= set(GUIDES)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("name", "kind", "code"), examples(), ids=[e[0] for e in examples()])
def test_doc_example_runs(name: str, kind: str, code: str, tmp_path: Path) -> None:
    if kind == "qt" and find_spec("PySide6") is None:
        pytest.skip("PySide6 is not installed")
    if kind == "qt-pyqt6" and find_spec("PyQt6") is None:
        pytest.skip("PyQt6 is not installed")
    if kind in ("tk", "gtk") and not os.environ.get("DISPLAY"):
        pytest.skip("needs a display (scripts/test provides Xvfb)")
    if kind == "gtk" and find_spec("gi") is None:
        pytest.skip("PyGObject is not installed")
    if name.startswith("docs/cluster.md") and find_spec("distributed") is None:
        if os.environ.get("CI"):
            pytest.fail("dask[distributed] is not installed (required in CI: the 'dask' extra)")
        pytest.skip("needs dask[distributed]")
    doc = name.split("#")[0]
    for mark, path, text in blocks(doc):
        if mark == "file":
            assert path is not None
            target = tmp_path / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text + "\n", encoding="utf-8")
            for folder in target.relative_to(tmp_path).parents:
                if folder != Path(".") and not (tmp_path / folder / "__init__.py").exists():
                    (tmp_path / folder / "__init__.py").write_text("", encoding="utf-8")
    script = tmp_path / ("test_example.py" if kind == "pytest" else "example.py")
    script.write_text(code + "\n", encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "COLUMNS": "100", "GTK_A11Y": "none",
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "TASKER_QT_API": "pyqt6" if kind == "qt-pyqt6" else "pyside6"}
    env.pop("PYTEST_CURRENT_TEST", None)
    proc = subprocess.run(
        [sys.executable, str(RUNNER), kind.removesuffix("-pyqt6"), str(script)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=100,
    )
    assert proc.returncode == 0, f"{name}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    bad = [line for line in proc.stderr.splitlines() if BAD.search(line)]
    assert not bad, f"{name}:\n" + "\n".join(bad)


@pytest.mark.timeout(300)
@pytest.mark.skipif(find_spec("mkdocs") is None, reason="needs the docs extra (mkdocs, mkdocstrings)")
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    """``mkdocs build --strict``: every page, link and API docstring without a warning."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=280,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    site = tmp_path / "site"
    for page in ["index.html", "testing/index.html", "faq/index.html", "reference/tasker/index.html"]:
        assert (site / page).is_file(), page
    reference = (site / "reference/tasker/index.html").read_text(encoding="utf-8")
    assert "run_process" in reference and "wait_until_settled" in reference
    shutil.rmtree(site)
