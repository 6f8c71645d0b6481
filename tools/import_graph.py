"""The import graph of the simcc_lab package, from the source alone (AST, standard library only).

``python tools/import_graph.py`` prints one line per module with the simcc_lab modules it imports (at the
top, or inside a function: marked ``*``), then the import cycles and the upward arrows (there should be
none of either). ``--dot`` prints Graphviz instead. :func:`import_graph`, :func:`cycles` and
:func:`upward_arrows` are what tests/test_layout.py checks.

An edge A -> B means module A names module B in an import statement: ``from .b import x`` and
``from . import b`` both give A -> b; importing a package's name (``from ..codecs import SimCCCodec``) gives
A -> the package (its ``__init__``).
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "simcc_lab"
# The floors of the package, bottom first (the data flow, then what is built on it): a module may import
# modules of its own floor and of the floors below it, never above.
FLOORS = ("keypoints", "files", "arguments", "paper", "codecs", "models", "data", "evaluation", "training",
          "lessons", "reproduce", "commands", "cli")


def module_name(path: Path, root: Path = ROOT) -> str:
    """``simcc_lab/data/coco.py`` -> ``simcc_lab.data.coco``; ``.../__init__.py`` -> the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package: name -> path."""
    return {module_name(p, root): p for p in sorted((root / PACKAGE).rglob("*.py"))}


def _resolve(current: str, is_package: bool, level: int, module: str | None) -> str:
    """The absolute name of a relative import ``from <level dots><module> import ...`` in ``current``."""
    base = current.split(".") if is_package else current.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imports(path: Path, name: str, known: set[str]) -> list[tuple[str, bool, int]]:
    """``(imported module, at top level, line)`` for every import of a package module in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    top = set(map(id, tree.body))
    out = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (_resolve(name, path.name == "__init__.py", node.level, node.module) if node.level
                    else node.module or "")
            for a in node.names:  # `from pkg import mod` names a module; `from mod import x` the module
                targets.append(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base)
        for t in targets:
            while t and t not in known:  # `import simcc_lab.data.coco.x` -> the longest known prefix
                t = t.rpartition(".")[0]
            if t and t != name:
                out.append((t, id(node) in top, node.lineno))
    return out


def import_graph(root: Path = ROOT) -> dict[str, dict[str, bool]]:
    """module -> {imported module: True if imported at the top of the module (else inside a function)}."""
    mods = modules(root)
    known = set(mods)
    graph: dict[str, dict[str, bool]] = {}
    for name, path in mods.items():
        edges = graph.setdefault(name, {})
        for target, at_top, _ in imports(path, name, known):
            edges[target] = edges.get(target, False) or at_top
    return graph


def cycles(graph: dict[str, dict[str, bool]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def floor(name: str) -> int:
    """The floor of module ``name`` (an index into :data:`FLOORS`; -1 for the package itself)."""
    parts = name.split(".")
    return FLOORS.index(parts[1]) if len(parts) > 1 else -1


def upward_arrows(graph: dict[str, dict[str, bool]]) -> list[tuple[str, str]]:
    """Every edge A -> B where B lives on a higher floor than A (e.g. data importing lessons)."""
    return sorted((a, b) for a, edges in graph.items() for b in edges if floor(b) > floor(a))


def _short(name: str) -> str:
    return name[len(PACKAGE) + 1:] if name.startswith(PACKAGE + ".") else name


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dot", action="store_true", help="print Graphviz dot")
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout to read (default: this one)")
    args = ap.parse_args(argv)
    graph = import_graph(args.root)
    if args.dot:
        print("digraph simcc_lab {")
        for a, edges in graph.items():
            for b, top in sorted(edges.items()):
                print(f'  "{_short(a)}" -> "{_short(b)}"{"" if top else " [style=dashed]"};')
        print("}")
        return 0
    width = max(len(_short(m)) for m in graph)
    for a, edges in graph.items():
        deps = ", ".join(_short(b) + ("" if top else "*") for b, top in sorted(edges.items()))
        print(f"{_short(a):<{width}}  -> {deps or '-'}")
    found = cycles(graph)
    print(f"\n{len(graph)} modules, {sum(map(len, graph.values()))} edges (* imported inside a function); "
          f"cycles: {len(found)}")
    for c in found:
        print("  cycle:", " <-> ".join(map(_short, c)))
    up = upward_arrows(graph)
    print(f"upward arrows (floors {' < '.join(FLOORS)}): {len(up)}")
    for a, b in up:
        print(f"  up: {_short(a)} -> {_short(b)}")
    return 1 if found or up else 0


if __name__ == "__main__":
    sys.exit(main())
