"""Numbers typed into the README and the lessons' conclusions match the committed result files (a re-run that
changes them must change the prose too)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from simcc_lab.reproduce.results import load_results
from simcc_lab.reproduce.statistics import cell

ROOT = Path(__file__).resolve().parents[1]
QUICK, STANDARD = ROOT / "reports", ROOT / "reports" / "standard"

# README headline rows: (input, method label) -> (folder, run, decoding)
HEADLINE = {
    ("64x64", "heatmap + quarter offset"): (QUICK, "heatmap-64x64", "quarter"),
    ("64x64", "heatmap, no post-processing"): (QUICK, "heatmap-64x64", "none"),
    ("64x64", "heatmap + DARK"): (QUICK, "heatmap-64x64", "dark"),
    ("64x64", "SimCC (Gaussian, k=2, the heatmap head's deconvolution)"): (QUICK, "simcc-k2-gauss-deconv1-64x64",
                                                                          "default"),
    ("128x128", "heatmap + quarter offset (standard mode)"): (STANDARD, "heatmap-128x128", "quarter"),
    ("128x128", "heatmap, no post-processing (standard mode)"): (STANDARD, "heatmap-128x128", "none"),
    ("128x128", "heatmap + DARK (standard mode)"): (STANDARD, "heatmap-128x128", "dark"),
    ("128x128", "SimCC (standard mode)"): (STANDARD, "simcc-k2-gauss-deconv1-128x128", "default"),
}


def shown(folder, run, decoding, metric="AP") -> str:
    """The cell as the report prints it: mean (+- std with several seeds), 1 decimal for AP, 2 for px."""
    c = cell(load_results(folder), run, decoding, metric)
    digits = 1 if metric == "AP" else 2
    return f"{c.mean:.{digits}f}" if c.n == 1 else f"{c.mean:.{digits}f} +- {c.std:.{digits}f}"


def gap(folder, a, b) -> str:
    """A - B in AP points over seeds, as the prose writes it (+26.1)."""
    results = load_results(folder)
    return f"{cell(results, *a).mean - cell(results, *b).mean:+.1f}"


needs_results = pytest.mark.skipif(not (STANDARD / "results").is_dir(), reason="committed results not present")


@needs_results
def test_readme_headline_table_is_the_result_files():
    text = (ROOT / "README.md").read_text()
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\| (64x64|128x128) \| ([^|]+) \| [^|]* \| ([^|]+) \| ([^|]+) \|$", line)
        if m:
            rows[(m.group(1), m.group(2).strip())] = (m.group(3).strip("* "), m.group(4).strip("* "))
    assert set(HEADLINE) <= set(rows)
    for key, (folder, run, decoding) in HEADLINE.items():
        assert rows[key] == (shown(folder, run, decoding), shown(folder, run, decoding, "pixel_error")), key


@needs_results
def test_the_gaps_the_readme_and_lessons_quote():
    sc64, hm64 = ("simcc-k2-gauss-deconv1-64x64", "default"), "heatmap-64x64"
    sc128, hm128 = ("simcc-k2-gauss-deconv1-128x128", "default"), "heatmap-128x128"
    expect = {  # the numbers the README and lessons 06 / 08 write
        "+26.1": gap(QUICK, sc64, (hm64, "none")), "+10.3": gap(QUICK, sc64, (hm64, "quarter")),
        "+5.1": gap(QUICK, sc64, (hm64, "dark")), "+15.9": gap(QUICK, (hm64, "quarter"), (hm64, "none")),
        "+23.0": gap(STANDARD, sc128, (hm128, "none")), "+17.0": gap(STANDARD, sc128, (hm128, "quarter")),
        "+13.5": gap(STANDARD, sc128, (hm128, "dark")), "+6.0": gap(STANDARD, (hm128, "quarter"), (hm128, "none")),
    }
    assert {k: k for k in expect} == expect
    readme, lesson06, lesson08 = ((ROOT / p).read_text() for p in ("README.md", "notebooks/06_resolution.py",
                                                                  "notebooks/08_does_it_reproduce.py"))
    for number in expect:
        assert number in readme and number in lesson06, number
        assert number in lesson08 or number == "+13.5", number  # lesson 08 leaves out DARK at 128x128


@needs_results
def test_the_transformer_and_ablation_numbers_the_prose_quotes():
    tf = {"25.9 +- 2.7": shown(STANDARD, "tf-simcc-k2-gauss-deconv1-64x64", "default"),
          "21.8 +- 1.4": shown(STANDARD, "tf-heatmap-64x64", "dark"),
          "0.4 +- 0.1": shown(STANDARD, "tf-simcc-k2-gauss-64x64", "default"),
          "49.2 +- 0.6": shown(STANDARD, "simcc-k2-gauss-64x64", "default"),
          "50.1 +- 0.8": shown(STANDARD, "simcc-k3-gauss-64x64", "default"),
          "43.3 +- 1.3": shown(STANDARD, "simcc-k1-gauss-64x64", "default"),
          "4.8 +- 0.2": shown(STANDARD, "simcc-k2-gauss-crowded-64x64", "default")}
    assert {k: k for k in tf} == tf
    readme, lesson07 = (ROOT / "README.md").read_text(), (ROOT / "notebooks" / "07_ablations.py").read_text()
    for number in ("25.9 +- 2.7", "21.8 +- 1.4"):
        assert number in readme and number in lesson07
