"""simcc_lab.paper is a faithful copy of the result table in ../shared/PAPER.md."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from simcc_lab import paper
from simcc_lab.models.counting import count_like_paper

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
    def mean_gain(size, a, b):  # mean over backbones of column a - column b (post, none, simcc)
        rows = [v[size] for v in paper.RESOLUTION_AP.values()]
        return sum(r[a] - r[b] for r in rows) / len(rows)

    simcc_minus_post = [mean_gain(s, 2, 0) for s in ("64x64", "128x128", "256x192")]
    assert simcc_minus_post[0] > simcc_minus_post[1] > simcc_minus_post[2] > 0
    assert mean_gain("64x64", 0, 1) > mean_gain("256x192", 0, 1)


def test_count_like_paper_small_model_by_hand():
    # conv 3->4 k3 on 8x6 out (4*3*9*48), deconv 4->2 k4 s2 to 16x12 (4*2*16*192), Linear 2*16*12 -> 5
    from torch import nn

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.up = nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1)
            self.fc = nn.Linear(2 * 16 * 12, 5)

        def forward(self, x):
            return self.fc(self.up(self.conv(x)).flatten(1))

    c = count_like_paper(Tiny(), (6, 8))
    assert c["conv"] * 2**30 == 4 * 3 * 9 * 48
    assert c["deconv"] * 2**30 == 4 * 2 * 16 * 192  # every output pixel pays the whole kernel
    assert c["linear"] * 2**30 == 384 * 5
    assert c["total_1e9"] == pytest.approx(c["total"] * 2**30 / 1e9)


@pytest.mark.slow
def test_count_like_paper_matches_the_paper_res50_gflops():
    # The paper's SimBa-Res50 heatmap GFLOPs (0.7 / 3.0 / 8.9) and SimCC 9.0 at 256x192, to 0.1
    from simcc_lab.codecs import HeatmapCodec, SimCCCodec
    from simcc_lab.models import build_model

    for size, name in (((64, 64), "64x64"), ((128, 128), "128x128"), ((192, 256), "256x192")):
        hm, sc = paper.RES50_GFLOPS[name]
        got = count_like_paper(build_model("resnet50", HeatmapCodec(size, stride=4), 17), size)["total"]
        assert abs(got - hm) <= 0.1, (name, got, hm)
        if sc is not None:
            got = count_like_paper(build_model("resnet50", SimCCCodec(size, k=2), 17, deconvs=3), size)["total"]
            assert abs(got - sc) <= 0.1, (name, got, sc)
