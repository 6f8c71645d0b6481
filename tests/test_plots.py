"""lessons/plots/: every function returns a Figure (no pyplot), and the numbers it attaches are the right ones."""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from simcc_lab.lessons import plots
from simcc_lab.codecs import HeatmapCodec, SimCCCodec
from simcc_lab.keypoints import COCO17


def _dashed(lines):
    return [ln for ln in lines if ln.get_linestyle() == "--"]


def test_no_pyplot_figures_are_created():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = plots.bin_grid_figure(3.3, 1.2)
    plots.label_shapes_figure()
    assert isinstance(fig, Figure) and plt.get_fignums() == before


def test_bin_grid_figure_draws_one_dashed_line_per_bin_edge():
    fig = plots.bin_grid_figure(3.3, 1.2, ks=(1, 2, 3), input_size=(8, 3))
    assert len(fig.axes) == 3 and set(fig.bins) == {1, 2, 3}
    for ax, k in zip(fig.axes, (1, 2, 3)):
        # bin edges inside [-0.5, 7.5] x [-0.5, 2.5]: 8k + 1 vertical and 3k + 1 horizontal ones
        assert len(_dashed(ax.lines)) == (8 * k + 1) + (3 * k + 1)
        assert f"k={k}" in ax.get_title()
        assert len(ax.patches) == 2  # the shaded x class and y class
        x0 = ax.patches[0].get_x()
        assert x0 == pytest.approx(fig.bins[k]["index"][0] / k - 0.5)  # shading starts at the class's edge
    # the error of each panel is within the bound 1/(2k)
    assert all(abs(b["error"][0]) <= 1 / (2 * k) + 1e-9 for k, b in fig.bins.items())


def test_bin_grid_figure_with_image_and_window():
    img = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    fig = plots.bin_grid_figure(12.3, 8.6, ks=(2,), image=img, window=(10, 6, 5, 4))
    ax = fig.axes[0]
    assert len(ax.images) == 1 and ax.images[0].get_array().shape == (20, 30, 3)
    assert ax.get_xlim() == (9.5, 14.5) and ax.get_ylim() == (9.5, 5.5)  # y points down, as in an image
    assert fig.bins[2]["simcc_size"] == (60, 40)  # the input size comes from the image
    assert len(_dashed(ax.lines)) == (5 * 2 + 1) + (4 * 2 + 1)


def test_crop_figure_marks_window_and_skeleton():
    img = np.zeros((64, 48, 3), np.uint8)
    kpts = np.random.default_rng(1).uniform(5, 40, (17, 2))
    vis = np.full(17, 2)
    vis[3] = 0
    fig = plots.crop_figure(img, kpts, vis, window=(10, 10, 8, 6), highlight=9)
    ax = fig.axes[0]
    drawn = sum(1 for a, b in COCO17.limbs if vis[a] > 0 and vis[b] > 0)
    assert len(ax.lines) == drawn
    assert len(ax.patches) == 1 and ax.patches[0].get_width() == 8
    assert "48x64" in ax.get_title()


def test_draw_skeleton_hides_unlabelled_and_hollows_hidden():
    fig = Figure()
    ax = fig.add_subplot()
    vis = np.full(17, 2)
    vis[[0, 1]] = 0
    vis[2] = 1
    plots.draw_skeleton(ax, np.zeros((17, 2)), vis)
    shown, hidden = ax.collections
    assert len(shown.get_offsets()) == 14 and len(hidden.get_offsets()) == 1


def test_round_trip_error_figure_sawtooth():
    codecs = {f"k={k}": SimCCCodec((16, 16), k=k, smoothing="none") for k in (1, 2)}
    fig = plots.round_trip_error_figure(codecs, x_range=(4.0, 8.0), num=2001)
    for k in (1, 2):
        xs, err = fig.errors[f"k={k}"]
        assert np.abs(err).max() == pytest.approx(1 / (2 * k), abs=1e-3)
        assert np.abs(err).mean() == pytest.approx(1 / (4 * k), abs=2e-3)
        # the jumps of the sawtooth: one per bin edge crossed (4 px * k edges)
        assert int((np.diff(err) > 0.5 / k).sum()) == 4 * k
    dotted = [ln for ln in fig.axes[0].lines if ln.get_linestyle() == ":"]
    assert len(dotted) == 4  # +-1/(2k) for each SimCC codec


def test_round_trip_error_figure_heatmaps():
    codecs = {"argmax": HeatmapCodec((64, 64), stride=4),
              "dark": HeatmapCodec((64, 64), stride=4, encoding="unbiased", refinement="dark")}
    fig = plots.round_trip_error_figure(codecs, x_range=(24, 40), num=401)
    assert np.abs(fig.errors["argmax"][1]).max() == pytest.approx(2.0, abs=0.05)
    assert np.abs(fig.errors["dark"][1]).max() < 0.05


def test_refinement_figure_decoders():
    fig = plots.refinement_figure(30.3, input_size=(64, 64), stride=4)
    d = fig.decoded
    assert d["argmax"] == pytest.approx(32.0)  # heatmap pixel 8 (30.3 / 4 = 7.6 rounds to 8)
    assert d["quarter"] == pytest.approx(31.0)  # a quarter heatmap pixel (1 input px) back toward 30.3
    assert abs(d["dark"] - 30.3) < 0.05
    biased = plots.refinement_figure(30.3, input_size=(64, 64), stride=4, encoding="biased").decoded
    assert biased["quarter"] == pytest.approx(biased["argmax"])  # symmetric peak: nothing to move toward


def test_oracle_figure_table_and_lines():
    rows = [dict(data=d, input=s, codec=c, AP=ap)
            for d in ("A", "B") for s, ap0 in (("64x64", 0.5), ("256x192", 0.9))
            for c, ap in (("SimCC k=2", 1.0), ("heatmap argmax", ap0))]
    fig = plots.oracle_figure(rows)
    assert len(fig.axes) == 2
    assert fig.table["A"]["heatmap argmax"] == [0.5, 0.9]
    assert fig.table["B"]["SimCC k=2"] == [1.0, 1.0]
    assert all(len(ax.lines) == 2 for ax in fig.axes)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["64x64", "256x192"]


def test_label_shapes_figure_values():
    fig = plots.label_shapes_figure(x=5.0, k=1.0, eps=0.2, sigma=2.0)
    lab = fig.labels
    assert lab["none"].argmax() == 5 and lab["none"].sum() == 1
    assert lab["equal"][5] == pytest.approx(0.8) and lab["equal"][0] == pytest.approx(0.2 / 11)
    assert lab["gaussian"].argmax() == 5 and lab["gaussian"][4] == pytest.approx(lab["gaussian"][6])
    assert lab["laplace"][5] > lab["gaussian"][5]  # b = sigma = 2: Laplace is peakier
    assert len(fig.axes[0].lines) == 6  # four shapes, the keypoint and the nearest bin


def test_label_shapes_figure_centre_rule():
    cont = plots.label_shapes_figure(x=5.2, k=2.0, shapes=("gaussian",)).labels["gaussian"]
    rnd = plots.label_shapes_figure(x=5.2, k=2.0, shapes=("gaussian",), centre="rounded").labels["gaussian"]
    pos = (np.arange(24) + 0.5) / 2 - 0.5
    assert (cont * pos).sum() / cont.sum() == pytest.approx(5.2, abs=1e-3)
    assert (rnd * pos).sum() / rnd.sum() == pytest.approx(5.25, abs=1e-3)


def test_kl_vs_offset_figure_minima():
    offsets = np.linspace(-1, 1, 41)
    fig = plots.kl_vs_offset_figure(x=20.3, offsets=offsets, width=48, k=2)
    best = {s: offsets[kl.argmin()] for s, (_, kl) in fig.kl.items()}
    assert best["gaussian"] == pytest.approx(0.0) and best["laplace"] == pytest.approx(0.0)
    assert best["none"] == pytest.approx(-0.05)  # the centre of the bin holding 20.3 is 20.25
    assert best["equal"] > 0.1  # equal smoothing pulls toward the middle of the axis (23.5)
    floors = {s: kl.min() for s, (_, kl) in fig.kl.items()}
    assert floors["laplace"] < floors["gaussian"] < floors["none"] < floors["equal"]
    assert len(fig.axes) == 2


def test_heatmap_vs_simcc_figure_sizes():
    fig = plots.heatmap_vs_simcc_figure(input_size=(48, 64), k=2, stride=4)
    assert fig.sizes == {"heatmap": 12 * 16, "simcc": 96 + 128}
    assert "192 heatmap values vs 224 SimCC values" in fig._suptitle.get_text()
    assert fig.axes[0].images[0].get_array().shape == (16, 12)


def test_history_and_predictions_figures():
    fig = plots.history_figure({"a": [dict(epoch=0, train_loss=2.0), dict(epoch=1, train_loss=1.0)]})
    assert list(fig.axes[0].lines[0].get_ydata()) == [2.0, 1.0]
    # two runs' losses (KL vs MSE) on two axes, each named
    fig = plots.history_figure({"simcc": [dict(epoch=1, train_loss=2.0)], "heatmap": [dict(epoch=1, train_loss=0.01)]})
    assert [ax.get_ylabel() for ax in fig.axes] == ["train loss (KL divergence)", "train loss (MSE)"]
    assert [plots.loss_name(n) for n in ("Transformer, SimCC", "heatmap model", "other")] == \
        ["KL divergence", "MSE", "loss"]
    imgs = np.zeros((2, 16, 16, 3), np.uint8)
    kp = np.full((2, 17, 2), 8.0)
    probs = np.full((2, 17, 32), 1 / 32)
    fig = plots.predictions_figure(imgs, kp, kp, probs, probs, k=2)
    assert len(fig.axes) == 4
    assert fig.axes[2].lines[0].get_xdata()[0] == pytest.approx(-0.25)  # bin 0 at (0 + 0.5)/2 - 0.5


def test_backend_is_not_needed():
    # plots never switch or query the pyplot backend
    backend = matplotlib.get_backend()
    plots.refinement_figure()
    assert matplotlib.get_backend() == backend


# lesson 00 ----------------------------------------------------------------------------------------
def test_representations_figure_decodes_each_target():
    fig = plots.representations_figure(x=20.3, width=64, stride=4, k=2)
    assert fig.decoded["regression"] == pytest.approx(20.3)
    assert fig.decoded["heatmap"] == pytest.approx(20.0)     # argmax at heatmap px 5 (biased centre) x 4
    assert fig.decoded["simcc"] == pytest.approx(20.25)      # bin 41 of 128: (41 + 0.5) / 2 - 0.5
    assert fig.values == {"regression": 2, "heatmap": 256, "simcc": 256}
    assert len(fig.axes) == 3 and all(ax.get_legend() is not None for ax in fig.axes)


def test_architecture_figure_shapes_match_a_built_model():
    import torch

    from simcc_lab.models import build_model

    fig = plots.architecture_figure(input_size=(64, 64), k=2, num_keypoints=17, feature_stride=32)
    model = build_model("resnet50", SimCCCodec((64, 64), k=2), 17, deconvs=0).eval()
    with torch.no_grad():
        xl, yl = model(torch.zeros(1, 3, 64, 64))
    assert fig.shapes["x_logits"] == tuple(xl.shape[1:]) and fig.shapes["y_logits"] == tuple(yl.shape[1:])
    assert fig.shapes["features"] == (2048, 2, 2) and fig.shapes["heatmaps"] == (17, 16, 16)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "Linear(4, 128)" in texts and "argmax / k" in texts


# lesson 02: OKS ----------------------------------------------------------------------------------
def test_oks_figure_marks_grids_and_keeps_legends_off_the_data():
    fig = plots.oks_figure({"area 500": 500.0, "area 300": 300.0}, grids={"SimCC k=2": 0.5, "heatmap s=4": 4.0})
    assert set(fig.ap) == {"SimCC k=2", "heatmap s=4"} and fig.ap["SimCC k=2"]["AP"] > fig.ap["heatmap s=4"]["AP"]
    assert set(fig.curves) == {"area 500", "area 300"}
    for ax in fig.axes[:2]:
        anchor = ax.get_legend().get_bbox_to_anchor().transformed(ax.transAxes.inverted())
        assert anchor.y1 < 0  # the legend sits below the axes


def test_plain_log_ticks_has_no_power_labels():
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([0.05, 5], [1, 2])
    ax.set_xscale("log")
    plots.plain_log_ticks(fig)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    labels = [t.get_text() for t in ax.get_xticklabels() + ax.get_xticklabels(minor=True) if t.get_text()]
    assert labels and not any("10^" in s or "times" in s for s in labels)
    assert "0.1" in labels and "3" in labels


# lesson 04 ----------------------------------------------------------------------------------------
def test_compute_figure_ratios():
    rows = [dict(input="64x64", model="heatmap", backbone=1.0, upsampling=0.5, head=0.0),
            dict(input="64x64", model="simcc", backbone=1.0, upsampling=0.0, head=0.2),
            dict(input="128x128", model="heatmap", backbone=4.0, upsampling=2.0, head=0.0),
            dict(input="128x128", model="simcc", backbone=4.0, upsampling=0.0, head=0.5)]
    fig = plots.compute_figure(rows)
    assert fig.ratios["64x64"] == pytest.approx({"heatmap": 1.0, "simcc": 0.8})
    assert fig.ratios["128x128"]["simcc"] == pytest.approx(0.75)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["64x64", "128x128"]


def test_oracle_figure_merges_identical_codecs_into_one_visible_line():
    rows = [dict(data="A", input=s, codec=c, AP=ap)
            for s, hm in (("64x64", 0.5), ("256x192", 0.9))
            for c, ap in (("SimCC k=2", 1.0), ("SimCC k=3", 1.0), ("heatmap argmax", hm), ("heatmap quarter", hm),
                          ("heatmap DARK", 0.99))]
    fig = plots.oracle_figure(rows)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["SimCC k=2 = SimCC k=3", "heatmap argmax = heatmap quarter", "heatmap DARK"]
    assert len(ax.lines) == 3
    xs = [tuple(ln.get_xdata()) for ln in ax.lines]
    assert len(set(xs)) == 3  # dodged: no two lines share x positions
    assert fig.table["A"]["heatmap quarter"] == [0.5, 0.9]  # the table keeps every codec


def test_bin_grid_and_heatmap_vs_simcc_axes_are_labelled():
    fig = plots.bin_grid_figure(3.3, 1.2)
    assert all(ax.get_xlabel() == "input x (px)" for ax in fig.axes) and fig.axes[0].get_ylabel() == "input y (px)"
    assert all(t.get_fontsize() >= 8 for ax in fig.axes for t in ax.get_legend().get_texts())
    fig = plots.heatmap_vs_simcc_figure()
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)


def test_plain_log_ticks_keeps_fixed_ticks():
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([1, 8], [1, 2])
    ax.set_xscale("log")
    ax.set_xticks([1, 2, 4, 8])
    plots.plain_log_ticks(fig)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "4", "8"]
    assert not any(t.get_text() for t in ax.get_xticklabels(minor=True))


def test_cell_phase_figure_shows_the_grid():
    grid = np.arange(10)[:, None, None] * 4.0 * np.ones((1, 17, 2))  # heatmap pixels j -> input j * stride
    simcc = (np.arange(40)[:, None, None] + 0.5) / 2 - 0.5 * np.ones((1, 17, 2))  # SimCC k=2 bin centres
    fig = plots.cell_phase_figure({"argmax": grid, "SimCC": simcc})
    assert np.allclose(fig.phases["argmax"], 2.0)  # one spike in the middle of the cell
    assert len(np.unique(np.round(fig.phases["SimCC"], 6))) == 8  # k x stride evenly spaced spikes
    assert len(fig.axes) == 2
