"""Fail if any two modules of src/tasker import each other, directly or through others,
or if a runner imports another runner's private module.

Every import counts — at module level or inside a function — except those under
``if TYPE_CHECKING:`` (they never run). ``from . import x`` is an import of the
module ``x``; ``from .. import name`` (a name, not a module) is an import of the
package's ``__init__``. The implicit import of a package's ``__init__`` when one
of its modules is imported is not counted: it is how packages work, not a
design choice.

A runner is a package under ``tasker/runners`` (``process``, ``cluster``, …; not
``_remote``, whose name says it is shared); a
private module is one whose name starts with ``_``. What two runners share lives
in a package they may both import (``runners/_remote``: the worker kit), never in
one of them: ``cluster`` importing ``process._payload`` is refused.

    python scripts/check_imports.py [SRC]      (exit 1 and the cycles/crossings, if any)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def graph(src: Path, root: str = "tasker") -> dict[str, set[str]]:
    files = {module_name(p, src): p for p in (src / root).rglob("*.py")}
    packages = {name for name, p in files.items() if p.name == "__init__.py"}
    edges: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if name in packages else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base_parts = package.split(".")
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for target in targets:
                while target and target not in files:  # "import a.b" of a package
                    target = target.rpartition(".")[0]
                if target.startswith(root) and target != name:
                    edges[name].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def connect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            connect(v)
    return found


RUNNERS = "tasker.runners"


def _runner_of(module: str, runners: set[str]) -> str | None:
    """The runner package ``module`` belongs to (``tasker.runners.process``), or None."""
    for runner in runners:
        if module == runner or module.startswith(runner + "."):
            return runner
    return None


def crossings(edges: dict[str, set[str]], src: Path) -> list[tuple[str, str]]:
    """(importer, imported): a runner's module importing another runner's private module."""
    base = src / RUNNERS.replace(".", "/")
    runners = {  # (a package named "_…" is shared by runners, not one of them)
        f"{RUNNERS}.{p.name}" for p in base.iterdir() if (p / "__init__.py").exists() and not p.name.startswith("_")
    } if base.is_dir() else set()
    found = []
    for name, targets in sorted(edges.items()):
        mine = _runner_of(name, runners)
        if mine is None:
            continue
        for target in sorted(targets):
            theirs = _runner_of(target, runners)
            private = any(part.startswith("_") for part in target[len(theirs or "") :].split(".") if part)
            if theirs is not None and theirs != mine and private:
                found.append((name, target))
    return found


def main() -> int:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "src"
    edges = graph(src)
    found = cycles(edges)
    for component in found:
        print("import cycle: " + " ⇄ ".join(component))
    crossed = crossings(edges, src)
    for importer, imported in crossed:
        print(
            f"private import across runners: {importer} imports {imported}; "
            "move what both need to a shared package (tasker.runners._remote)"
        )
    if not found and not crossed:
        print(f"check_imports: no import cycle, no runner imports another's private module in {src / 'tasker'}")
    return 1 if found or crossed else 0


if __name__ == "__main__":
    sys.exit(main())
