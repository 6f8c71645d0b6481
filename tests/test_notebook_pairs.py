"""Each lesson is a Jupytext pair: notebooks/NN_name.py (the source) and NN_name.ipynb (executed, run by nbval).

The two must hold the same cells (type and source, in order). Outputs live only in the .ipynb and are not
compared. Fix a failing pair with `jupytext --sync notebooks/NN_name.py` (or save it once in `make lab`).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def cells(notebook) -> list[tuple[str, str]]:
    """(cell type, source) of every cell, the part of a notebook that the pair must agree on."""
    return [(c.cell_type, c.source) for c in notebook.cells]


def pair_differences(py_path: Path, ipynb_path: Path) -> list[str]:
    """Human-readable differences between the cells of a percent-format .py and its .ipynb (empty: in sync)."""
    py, nb = cells(jupytext.read(py_path)), cells(nbformat.read(ipynb_path, as_version=4))
    out = []
    if len(py) != len(nb):
        out.append(f"{py_path.name} has {len(py)} cells, {ipynb_path.name} has {len(nb)}")
    for i, (a, b) in enumerate(zip(py, nb)):
        if a[0] != b[0]:
            out.append(f"cell {i}: {a[0]} in the .py, {b[0]} in the .ipynb")
        elif a[1] != b[1]:
            la, lb = a[1].splitlines(), b[1].splitlines()
            first = next((j for j, (u, v) in enumerate(zip(la, lb)) if u != v), min(len(la), len(lb)))
            out.append(f"cell {i} ({a[0]}) differs at line {first + 1}")
    return out


def test_every_notebook_has_a_source_and_back():
    assert LESSONS, "no lessons found"
    py = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py"))
    assert py == LESSONS, "every NN_name.ipynb needs its NN_name.py and vice versa"


def test_jupytext_config_pairs_the_folder():
    cfg = (NOTEBOOKS / "jupytext.toml").read_text()
    assert 'formats = "ipynb,py:percent"' in cfg


@pytest.mark.parametrize("name", LESSONS)
def test_pair_agrees(name):
    diffs = pair_differences(NOTEBOOKS / f"{name}.py", NOTEBOOKS / f"{name}.ipynb")
    assert not diffs, f"{name}: .py and .ipynb disagree ({'; '.join(diffs)}); run jupytext --sync notebooks/{name}.py"


@pytest.fixture
def pair_copy(tmp_path):
    """A copy of lesson 01's pair in tmp_path, free to edit."""
    name = LESSONS[0]
    for ext in (".py", ".ipynb"):
        shutil.copy(NOTEBOOKS / f"{name}{ext}", tmp_path / f"{name}{ext}")
    return tmp_path / f"{name}.py", tmp_path / f"{name}.ipynb"


def test_copy_agrees_before_editing(pair_copy):
    assert pair_differences(*pair_copy) == []


def test_edited_py_is_caught(pair_copy):
    py, nb = pair_copy
    text = py.read_text()
    assert "import numpy as np" in text
    py.write_text(text.replace("import numpy as np", "import numpy as numpy_edited", 1))
    diffs = pair_differences(py, nb)
    assert len(diffs) == 1 and "(code) differs at line" in diffs[0], diffs


def test_edited_ipynb_is_caught(pair_copy):
    py, nb_path = pair_copy
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("A cell added in JupyterLab without saving the pair."))
    nbformat.write(nb, nb_path)
    diffs = pair_differences(py, nb_path)
    assert any("cells" in d for d in diffs) and any(d.startswith("cell 1") for d in diffs), diffs


def test_changed_cell_type_is_caught(pair_copy):
    py, nb_path = pair_copy
    nb = nbformat.read(nb_path, as_version=4)
    idx = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells[idx] = nbformat.v4.new_markdown_cell(nb.cells[idx].source)
    nbformat.write(nb, nb_path)
    assert f"cell {idx}: code in the .py, markdown in the .ipynb" in pair_differences(py, nb_path)


def test_outputs_are_not_compared(pair_copy):
    py, nb_path = pair_copy
    nb = nbformat.read(nb_path, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs = []
    nbformat.write(nb, nb_path)
    assert pair_differences(py, nb_path) == []
