"""Widgets driven by setting control values, as a reader would with the mouse (no browser, no kernel)."""
from __future__ import annotations

import ipywidgets as W
import numpy as np
import pytest
from matplotlib.figure import Figure

from simcc_lab.lessons import widgets
from simcc_lab.lessons.widgets import control


def test_fast_mode(monkeypatch):
    monkeypatch.setenv("SIMCC_LAB_FAST", "1")
    assert widgets.fast_mode()
    for off in ("0", "", "false"):
        monkeypatch.setenv("SIMCC_LAB_FAST", off)
        assert not widgets.fast_mode()
    monkeypatch.delenv("SIMCC_LAB_FAST")
    assert not widgets.fast_mode()


def test_control_lookup_names_the_choices():
    app = widgets.bins_app()
    assert isinstance(app, W.interactive)
    assert control(app, "k").description.startswith("k")
    with pytest.raises(KeyError, match="'x', 'y', 'k'"):
        control(app, "sigma")


def test_bins_app_reports_class_and_error():
    app = widgets.bins_app()
    assert isinstance(app.result, Figure)
    control(app, "x").value = 3.3
    control(app, "k").value = 2.0
    info = app.result.bins[2.0]
    assert info["index"][0] == 7 and info["decoded"][0] == pytest.approx(3.25)
    assert app.result.axes[0].get_title().startswith("k=2: Nx=16")
    control(app, "k").value = 1.0
    assert app.result.bins[1.0]["index"][0] == 3
    assert "class (3," in app.result.axes[0].get_title()
    control(app, "x").value = 3.6  # the next pixel
    assert app.result.bins[1.0]["index"][0] == 4
    assert app.result.bins[1.0]["error"][0] == pytest.approx(0.4, abs=1e-6)


def test_bins_app_moves_y_too_and_keeps_the_window():
    img = np.zeros((40, 30), np.uint8)
    app = widgets.bins_app(img, window=(10, 20, 6, 4), x=12.2, y=21.7)
    ax = app.result.axes[0]
    assert ax.get_xlim() == (9.5, 15.5) and len(ax.images) == 1
    assert control(app, "y").min == pytest.approx(19.5)  # the sliders stay inside the window
    before = app.result.bins[2.0]["index"]
    control(app, "y").value = 23.1
    after = app.result.bins[2.0]["index"]
    assert after[0] == before[0] and after[1] == int(np.floor((23.1 + 0.5) * 2)) != before[1]


def test_smoothing_app_redraws_when_sigma_moves():
    app = widgets.smoothing_app()
    before = app.result.labels["gaussian"].copy()
    control(app, "sigma").value = 4.0
    after = app.result.labels["gaussian"]
    assert after.max() < before.max()  # a wider Gaussian has a lower normalised peak
    assert after.sum() == pytest.approx(1.0, abs=0.01)  # normalised pdf (a little is cut off at the ends)


def test_smoothing_app_every_control_changes_the_labels():
    app = widgets.smoothing_app()
    changes = {"x": 7.1, "k": 3.0, "eps": 0.3, "centre": "rounded"}
    for name, value in changes.items():
        before = {s: v.copy() for s, v in app.result.labels.items()}
        control(app, name).value = value
        after = app.result.labels
        assert any(before[s].shape != after[s].shape or not np.allclose(before[s], after[s]) for s in before), name
    control(app, "shape").value = "laplace"
    assert list(app.result.labels) == ["laplace"]


def test_smoothing_app_first_control_is_a_slider():
    # tools/browser_check.py moves the first slider of lesson 03's first app
    assert isinstance(widgets.smoothing_app().children[0], W.FloatSlider)


def test_refinement_app_stride_and_encoding():
    app = widgets.refinement_app()
    assert abs(app.result.decoded["dark"] - 30.3) < 0.05
    control(app, "stride").value = 8
    assert app.result.decoded["argmax"] == pytest.approx(32.0)  # 30.3 / 8 = 3.8 -> heatmap px 4
    control(app, "encoding").value = "biased"
    d = app.result.decoded
    assert d["quarter"] == pytest.approx(d["argmax"])
    control(app, "x").value = 33.0
    assert app.result.decoded["argmax"] == pytest.approx(32.0)
    assert any("true x = 33.00" in t.get_text() for t in app.result.axes[0].get_legend().get_texts())


def test_heatmap_vs_simcc_app_counts():
    app = widgets.heatmap_vs_simcc_app()
    assert app.result.sizes == {"heatmap": 192, "simcc": 224}
    control(app, "k").value = 3.0
    assert app.result.sizes["simcc"] == 3 * (48 + 64)
    control(app, "x").value = 5.0
    ax = app.result.axes[1]
    peak = ax.lines[0].get_xdata()[np.argmax(ax.lines[0].get_ydata())]
    assert abs(peak - 5.0) <= 1 / 6 + 1e-6  # the x label now peaks at the new position


def test_bins_app_sliders_stay_inside_the_input():
    app = widgets.bins_app(np.zeros((10, 10)), window=(-2, 6, 6, 6))  # the window hangs over two edges
    assert control(app, "x").min == pytest.approx(-0.5) and control(app, "y").max < 9.5
    control(app, "x").value = control(app, "x").min
    control(app, "y").value = control(app, "y").max
    assert app.result.bins[2.0]["index"] == (0, 19)  # the first x bin and the last y bin of 20


@pytest.mark.parametrize("make", [widgets.bins_app, widgets.refinement_app, widgets.smoothing_app,
                                  widgets.heatmap_vs_simcc_app])
def test_apps_display_each_new_figure(monkeypatch, make):
    # interactive() only shows its result with auto_display; without it the output area stays empty
    import ipywidgets.widgets.interaction as interaction

    shown = []
    monkeypatch.setattr(interaction, "display", lambda obj, **kw: shown.append(obj))
    app = make()
    assert len(shown) == 1 and shown[0] is app.result  # drawn once, not twice
    first = app.result
    slider = next(c for c in app.kwargs_widgets if isinstance(c, W.FloatSlider))
    slider.value = slider.min
    assert len(shown) == 2 and shown[-1] is app.result and app.result is not first
