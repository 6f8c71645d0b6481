"""Every lesson teaches with the same frame: the paper, takeaways, exercises with folded answers, checked tables."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FRAMED = ("00_why_classify", "01_bins", "02_quantization", "03_label_smoothing", "04_heads_compute", "05_training",
          "06_resolution", "07_ablations", "08_does_it_reproduce")


@pytest.mark.parametrize("name", FRAMED)
def test_lesson_has_paper_takeaways_and_exercises(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "Where this stands in the paper" in md
    assert "2107.03332" in md
    assert "**Key takeaways**" in md
    assert "## Exercises" in md
    exercises = md.split("## Exercises", 1)[1]
    assert exercises.count("<details><summary>Answer</summary>") >= 2
    assert exercises.count("<details>") == exercises.count("</details>")


@pytest.mark.parametrize("name", FRAMED)
def test_lesson_checks_its_tables(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    checked = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert checked, f"{name} has no cell whose output nbval checks"
    assert all(c.outputs for c in checked), f"{name}: a checked cell has no committed output (execute it)"
