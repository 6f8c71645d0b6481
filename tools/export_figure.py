"""Save a figure a lesson drew, from its executed notebook, as a PNG (for docs/ and issue notes).

    python tools/export_figure.py notebooks/00_why_classify.ipynb "architecture_figure(" docs/lesson00_architecture.png

The cell is the first code cell with a PNG output whose source contains the given text; that PNG is
written as it is (the committed notebook's own pixels, no re-execution).
"""
from __future__ import annotations

import base64
import sys
from pathlib import Path

import nbformat


def cell_png(notebook: Path, text: str) -> bytes:
    """The first PNG output of the first code cell of ``notebook`` that contains ``text`` and has one."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and text in cell.source:
            for out in cell.get("outputs", []):
                png = out.get("data", {}).get("image/png")
                if png:
                    return base64.b64decode(png)
    raise SystemExit(f"no code cell of {notebook} contains {text!r} and has a PNG output (execute it first)")


def main(argv: list[str]) -> None:
    """CLI: NOTEBOOK TEXT OUT.png."""
    if len(argv) != 3:
        raise SystemExit(__doc__)
    notebook, text, out = Path(argv[0]), argv[1], Path(argv[2])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(cell_png(notebook, text))
    print("wrote", out)


if __name__ == "__main__":
    main(sys.argv[1:])
