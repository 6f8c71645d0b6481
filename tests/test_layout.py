"""The package's layout rules (issue 12), checked on the source: no import cycles among simcc_lab modules,
no library module imports the command line, no private function with more than six parameters, and one
folder per stage of the data flow."""
from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "tools" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_graph", module)
    spec.loader.exec_module(module)
    return module


def test_no_import_cycles():
    graph = _tool().import_graph(ROOT)
    assert "simcc_lab.codecs.simcc" in graph and "simcc_lab.training.engine" in graph
    assert _tool().cycles(graph) == []


def test_no_upward_arrows():
    # e.g. data/ importing lessons/, or reproduce/ reading the paper's numbers from lessons/
    tool = _tool()
    assert tool.upward_arrows(tool.import_graph(ROOT)) == []
    assert {p.name for p in (ROOT / "simcc_lab").iterdir() if (p / "__init__.py").is_file()} | {
        p.stem for p in (ROOT / "simcc_lab").glob("*.py") if p.stem != "__init__"} == set(tool.FLOORS)
    assert tool.upward_arrows({"simcc_lab.data.x": {"simcc_lab.lessons.y": False}}) == [
        ("simcc_lab.data.x", "simcc_lab.lessons.y")]


def test_the_cycle_finder_finds_a_cycle():
    tool = _tool()
    assert tool.cycles({"a": {"b": True}, "b": {"c": False}, "c": {"a": True}, "d": {}}) == [["a", "b", "c"]]


def test_no_library_module_imports_the_cli():
    graph = _tool().import_graph(ROOT)
    importers = sorted(m for m, edges in graph.items() if "simcc_lab.cli" in edges)
    assert importers == [], f"{importers} import simcc_lab.cli; shared argument types live in simcc_lab.arguments"


def _parameters(node: ast.FunctionDef) -> list[str]:
    a = node.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return [n for n in names if n not in ("self", "cls")]


def test_no_private_function_with_more_than_six_parameters():
    offenders = []
    for path in sorted((ROOT / "simcc_lab").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("_")
                    and not node.name.startswith("__") and len(_parameters(node)) > 6):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert offenders == []


def test_one_folder_per_stage_of_the_flow():
    pkg = ROOT / "simcc_lab"
    stages = {"codecs", "data", "models", "training", "evaluation", "reproduce", "lessons"}
    assert stages <= {p.name for p in pkg.iterdir() if (p / "__init__.py").is_file()}
    top = sorted(p.stem for p in pkg.glob("*.py"))
    assert top == ["__init__", "arguments", "cli", "files", "keypoints", "paper"], top
    assert not (pkg / "io.py").exists()  # it shadowed the standard library's name
