"""Quantisation analysis: analytic values, Monte-Carlo round trips and the study's files."""
from __future__ import annotations

import math

import pytest

from simcc_lab import quantization as Q
from simcc_lab.codecs import HeatmapCodec, SimCCCodec


def test_theory_values():
    assert Q.simcc_theory(2) == {"mean": 0.125, "rms": pytest.approx(1 / (2 * math.sqrt(12))), "max": 0.25, "bias": 0.0}
    assert Q.heatmap_theory(4)["mean"] == 1.0 and Q.heatmap_theory(4)["max"] == 2.0


@pytest.mark.parametrize("k", [1.5, 3.0])
def test_round_trip_agrees_with_theory(k):
    meas = Q.round_trip(SimCCCodec((48, 48), k=k), n=40_000, seed=1)
    th = Q.simcc_theory(k)
    assert meas["mean"] == pytest.approx(th["mean"], rel=0.03)
    assert meas["rms"] == pytest.approx(th["rms"], rel=0.03)
    assert meas["max"] <= th["max"] + 1e-5  # float32 positions at ~48 px: ~4e-6 px rounding
    assert abs(meas["bias"]) < 0.01 / k


def test_dark_beats_argmax_in_round_trips():
    argmax = Q.round_trip(HeatmapCodec((64, 64), stride=4, refinement="none"), n=4_000, margin=24)
    dark = Q.round_trip(HeatmapCodec((64, 64), stride=4, encoding="unbiased", refinement="dark"), n=4_000, margin=24)
    assert argmax["mean"] == pytest.approx(1.0, rel=0.05) and dark["mean"] < 0.05


def test_study_writes_table_and_figure(tmp_path):
    rows, fig = Q.run_study(tmp_path, n=2_000)
    assert {r["setting"] for r in rows} >= {"k=1", "k=1.5", "k=4", "stride=1", "stride=8"}
    text = (tmp_path / "quantization.md").read_text()
    assert "| SimCC argmax | k=2 | 0.1250 |" in text
    assert (tmp_path / "quantization.png").stat().st_size > 10_000
    assert len((tmp_path / "quantization.csv").read_text().splitlines()) == len(rows) + 1
