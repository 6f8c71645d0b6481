"""Widgets and the figures behind them, driven by setting control values (no browser)."""
from __future__ import annotations

import numpy as np
import pytest

from simcc_lab import plots, widgets


def _control(app, description):
    return next(c for c in app.children if getattr(c, "description", None) == description)


def test_smoothing_app_redraws_when_sigma_moves():
    app = widgets.smoothing_app()
    before = app.result.labels["gaussian"].copy()
    _control(app, "sigma (bins)").value = 4.0
    after = app.result.labels["gaussian"]
    assert after.max() < before.max()  # a wider Gaussian has a lower normalised peak


def test_smoothing_app_centre_rule_changes_the_label():
    app = widgets.smoothing_app()
    _control(app, "x (px)").value = 5.3
    cont = app.result.labels["gaussian"].copy()
    _control(app, "centre").value = "rounded"
    assert not np.allclose(cont, app.result.labels["gaussian"])


def test_bins_app_reports_class_and_error():
    app = widgets.bins_app()
    _control(app, "x (px)").value = 3.3
    _control(app, "k").value = 2.0
    assert app.result.axes[0].get_title().startswith("k=2: Nx=16, class 7")
    _control(app, "k").value = 1.0
    assert "class 3" in app.result.axes[0].get_title()


def test_label_shapes_figure_values():
    fig = plots.label_shapes_figure(x=5.0, k=1.0, eps=0.2)
    assert fig.labels["none"].argmax() == 5 and fig.labels["none"].sum() == 1
    assert fig.labels["equal"][5] == pytest.approx(0.8)
    assert len(fig.axes[0].lines) == 5  # four shapes and the keypoint marker


def test_heatmap_vs_simcc_figure_sizes():
    fig = plots.heatmap_vs_simcc_figure(input_size=(48, 64), k=2, stride=4)
    assert "192 heatmap values vs 224 SimCC values" in fig._suptitle.get_text()


def test_fast_mode(monkeypatch):
    monkeypatch.setenv("SIMCC_LAB_FAST", "1")
    assert widgets.fast_mode()
    monkeypatch.setenv("SIMCC_LAB_FAST", "0")
    assert not widgets.fast_mode()
