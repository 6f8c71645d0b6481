"""Quantisation analysis: analytic values, Monte-Carlo round trips, the study's files and the command."""
from __future__ import annotations

import math

import numpy as np
import pytest

from simcc_lab import cli
from simcc_lab.evaluation import quantization as Q
from simcc_lab.codecs import HeatmapCodec, SimCCCodec


def test_theory_values():
    assert Q.simcc_theory(2) == {"mean": 0.125, "rms": pytest.approx(1 / (2 * math.sqrt(12))), "max": 0.25, "bias": 0.0}
    assert Q.heatmap_theory(4) == {"mean": 1.0, "rms": pytest.approx(4 / math.sqrt(12)), "max": 2.0, "bias": 0.0}
    assert Q.heatmap_theory(4, "quarter") == {"mean": 0.5, "rms": pytest.approx(4 / math.sqrt(48)), "max": 1.0,
                                              "bias": 0.0}
    # the uniform distribution on [-a, a]: E|e| = a/2, RMS = a/sqrt(3)
    e = np.linspace(-0.125, 0.125, 100_001)
    assert np.abs(e).mean() == pytest.approx(Q.simcc_theory(4)["mean"], rel=1e-4)
    assert np.sqrt((e**2).mean()) == pytest.approx(Q.simcc_theory(4)["rms"], rel=1e-4)
    with pytest.raises(ValueError, match="refinement"):
        Q.heatmap_theory(4, "dark")


@pytest.mark.parametrize("k", [1.5, 3.0])
def test_round_trip_agrees_with_theory(k):
    meas = Q.round_trip(SimCCCodec((48, 48), k=k), n=40_000, seed=1)
    th = Q.simcc_theory(k)
    for key in ("mean", "rms", "mean_x", "mean_y", "rms_x", "rms_y"):
        assert meas[key] == pytest.approx(th[key[:4].rstrip("_")], rel=0.03), key
    assert meas["max"] <= th["max"] + 4e-6  # float32 keypoints at ~48 px: ~2e-6 px rounding
    assert abs(meas["bias"]) < 0.01 / k and abs(meas["bias_x"]) < 0.015 / k


def test_round_trip_is_seeded_and_checks_its_arguments():
    codec = SimCCCodec((32, 32), k=2)
    assert Q.round_trip(codec, n=500, seed=3) == Q.round_trip(codec, n=500, seed=3)
    assert Q.round_trip(codec, n=500, seed=3) != Q.round_trip(codec, n=500, seed=4)
    with pytest.raises(ValueError, match="n must"):
        Q.round_trip(codec, n=0)
    with pytest.raises(ValueError, match="margin"):
        Q.round_trip(codec, n=10, margin=16)


def test_dark_beats_argmax_in_round_trips():
    argmax = Q.round_trip(HeatmapCodec((64, 64), stride=4, refinement="none"), n=4_000, margin=24)
    dark = Q.round_trip(HeatmapCodec((64, 64), stride=4, encoding="unbiased", refinement="dark"), n=4_000, margin=24)
    assert argmax["mean"] == pytest.approx(1.0, rel=0.05) and dark["mean"] < 0.05


def test_study_writes_table_csv_and_figure(tmp_path):
    rows, fig = Q.run_study(tmp_path, n=2_000)
    assert len(rows) == len(Q.STUDY_KS) + len(Q.STUDY_STRIDES) * len(Q.STUDY_HEATMAP)
    assert {r["setting"] for r in rows} >= {"k=1", "k=1.5", "k=4", "stride=1", "stride=8"}
    for r in rows:  # measured beside theory wherever a theory exists
        if not math.isnan(r["theory_mean"]):
            assert r["mean"] == pytest.approx(r["theory_mean"], rel=0.1), (r["decoder"], r["setting"])
            assert r["max"] <= r["theory_max"] + 1e-4
    dark = [r for r in rows if "DARK" in r["decoder"]]
    assert len(dark) == 4 and all(r["mean"] < 0.05 * float(r["setting"][7:]) for r in dark)
    text = (tmp_path / "quantization.md").read_text()
    assert "| SimCC argmax | k=2 | 0.1250 |" in text and text.count("\n") == len(rows) + 2
    csv = (tmp_path / "quantization.csv").read_text().splitlines()
    assert len(csv) == len(rows) + 1 and {"mean_x", "bias_y", "theory_rms"} <= set(csv[0].split(","))
    assert (tmp_path / "quantization.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes) == 2


def test_quantization_command(tmp_path, capsys):
    assert cli.main(["quantization", "--out", str(tmp_path / "q"), "--samples", "400", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "| SimCC argmax | k=1 |" in out and "heatmap DARK (unbiased)" in out
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == ["quantization.csv", "quantization.md",
                                                                 "quantization.png"]
    assert cli.main(["quantization", "--out", str(tmp_path / "r"), "--samples", "0"]) == 2


# what SimCC makes of one keypoint, and the AP a grid alone costs (the lessons' calculations) ----------
@pytest.mark.parametrize("x, k, index, decoded", [
    (3.3, 1, 3, 3.0),        # pixel 3 covers [2.5, 3.5)
    (3.3, 2, 7, 3.25),       # bin 7 covers [3.0, 3.5), centre 3.25
    (3.3, 3, 11, 10 / 3),    # bin 11 covers [3.1667, 3.5)
    (-0.5, 2, 0, -0.25),     # the input's left edge is in bin 0
    (7.49, 2, 15, 7.25),     # the last bin of an 8 px input
])
def test_simcc_classes_table(x, k, index, decoded):
    info = Q.simcc_classes(x, 1.2, k, (8, 3))
    assert info["index"][0] == index
    assert info["decoded"][0] == pytest.approx(decoded, abs=1e-6)
    assert info["error"][0] == pytest.approx(decoded - x, abs=1e-6)
    assert info["simcc_size"] == (8 * k, 3 * k)


def test_simcc_classes_rejects_outside_keypoint():
    with pytest.raises(ValueError, match="outside"):
        Q.simcc_classes(7.6, 1.0, 2, (8, 3))


def test_quantisation_ap_limits_and_trend():
    fine = Q.quantisation_ap(0.01, 500.0)
    assert fine["AP"] == 1.0 and fine["mean_error"] < 0.01
    aps = [Q.quantisation_ap(s, 500.0)["AP"] for s in (1, 2, 4, 8)]
    assert aps == sorted(aps, reverse=True) and aps[-1] < 0.2
    r = Q.quantisation_ap(4.0, 500.0, n=20000)
    assert r["mean_error"] == pytest.approx(0.3826 * 4, rel=0.02)  # mean distance in a square cell
    assert Q.quantisation_ap(4.0, 2000.0)["AP"] > r["AP"]       # bigger people forgive more
