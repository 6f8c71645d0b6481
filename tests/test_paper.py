"""simcc_lab.paper is a faithful copy of the result table in ../shared/PAPER.md."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from simcc_lab import paper

PAPER_MD = Path(__file__).resolve().parents[2] / "shared" / "PAPER.md"


@pytest.mark.skipif(not PAPER_MD.exists(), reason=f"{PAPER_MD} is absent (../shared is not beside the checkout)")
def test_resolution_table_matches_paper_md():
    rows = re.findall(r"^\| (\S+(?: \S+)?) \| (\d+x\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$",
                      PAPER_MD.read_text(), re.M)
    assert len(rows) == 12, "PAPER.md's result table should have 12 rows"
    for backbone, size, post, none, simcc in rows:
        assert paper.RESOLUTION_AP[backbone][size] == (float(post), float(none), float(simcc)), (backbone, size)


def test_paper_trend_as_stated():
    # PAPER.md: SimCC beats heatmap by far the most at 64x64; post-processing matters most at 64x64.
    g = paper.resolution_gains()
    assert g["64x64"]["simcc_minus_hm_post"] > g["128x128"]["simcc_minus_hm_post"] > g["256x192"]["simcc_minus_hm_post"] > 0
    assert g["64x64"]["post_gain"] > g["256x192"]["post_gain"]
