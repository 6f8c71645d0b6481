"""ipywidgets apps for the lessons: thin wrappers around the pure figures of :mod:`simcc_lab.lessons.plots`.

Each app is an :class:`ipywidgets.interactive` (drawn once on creation) whose ``.result`` is the
Figure of the current control values, carrying its numbers (``fig.bins``, ``fig.labels``, ...). Tests
and curious readers can set a control's ``.value`` (find it with :func:`control`) and read what
changed, without a browser:

    app = widgets.smoothing_app()
    control(app, "sigma").value = 4.0
    app.result.labels["gaussian"]        # the label at the new sigma
"""
from __future__ import annotations

import os

import ipywidgets as W
import numpy as np

from . import plots

__all__ = ["fast_mode", "control", "bins_app", "refinement_app", "smoothing_app", "heatmap_vs_simcc_app"]

_STYLE = {"description_width": "initial"}


def fast_mode() -> bool:
    """True when SIMCC_LAB_FAST is set (the test suite's small, quick version of each lesson)."""
    return os.environ.get("SIMCC_LAB_FAST", "") not in ("", "0", "false", "False")


def control(app: W.interactive, name: str) -> W.Widget:
    """The control of ``app`` bound to the drawing function's argument ``name`` (e.g. "sigma")."""
    for c in app.kwargs_widgets:
        if getattr(c, "_kwarg", None) == name:
            return c
    raise KeyError(f"no control {name!r}; controls: {[getattr(c, '_kwarg', None) for c in app.kwargs_widgets]}")


def _app(fn, **controls) -> W.interactive:
    """``interactive(fn, **controls)``: draws once now and again on every change, shows each Figure in its
    output area (``auto_display``, which ``interactive`` leaves off by default) and keeps it as ``.result``."""
    return W.interactive(fn, {"manual": False, "auto_display": True}, **controls)


def _slider(value, lo, hi, step, description, readout_format=".2f"):
    return W.FloatSlider(value=value, min=lo, max=hi, step=step, description=description, style=_STYLE,
                         readout_format=readout_format)


def bins_app(image=None, input_size=None, window=None, x: float = 3.3, y: float = 1.2) -> W.interactive:
    """Move a keypoint and change k: the pixel and bin grids, the class indices, the decoded position
    and the error (:func:`simcc_lab.lessons.plots.bin_grid_figure` with one k).

    Args: as :func:`~simcc_lab.lessons.plots.bin_grid_figure`; ``x``, ``y`` the keypoint's start (input px),
    which the sliders move within the window.
    """
    if image is not None:
        input_size = input_size or (np.asarray(image).shape[1], np.asarray(image).shape[0])
    input_size = tuple(input_size or (8, 3))
    x0, y0, ww, wh = window or (0, 0, *input_size)
    # the sliders cover the window, clipped to the input: x in [-0.5, W - 0.5) (likewise y)
    xlo, xhi = max(x0, 0) - 0.5, min(x0 + ww, input_size[0]) - 0.51
    ylo, yhi = max(y0, 0) - 0.5, min(y0 + wh, input_size[1]) - 0.51

    def draw(x=x, y=y, k=2.0):
        return plots.bin_grid_figure(x, y, ks=(k,), input_size=input_size, image=image, window=window)

    return _app(draw,
                x=_slider(x, xlo, xhi, 0.01, "x (input px)"),
                y=_slider(y, ylo, yhi, 0.01, "y (input px)"),
                k=_slider(2.0, 1.0, 4.0, 0.5, "k (bins per px)", ".1f"))


def refinement_app(input_size=(64, 64), x: float = 30.3) -> W.interactive:
    """Move a keypoint under a heatmap and watch argmax, the quarter offset and DARK decode it
    (:func:`simcc_lab.lessons.plots.refinement_figure`); the stride, the target sigma and the encoding are
    controls too."""
    w = input_size[0]

    def draw(x=x, stride=4, sigma=2.0, encoding="unbiased"):
        return plots.refinement_figure(x, input_size=input_size, stride=stride, sigma=sigma, encoding=encoding)

    return _app(draw,
                x=_slider(x, w * 0.25, w * 0.75, 0.05, "x (input px)"),
                stride=W.Dropdown(options=[2, 4, 8], value=4, description="stride", style=_STYLE),
                sigma=_slider(2.0, 1.0, 3.0, 0.25, "sigma (heatmap px)"),
                encoding=W.Dropdown(options=["unbiased", "biased"], value="unbiased", description="target",
                                    style=_STYLE))


def smoothing_app(width: int = 12, x: float = 5.3) -> W.interactive:
    """SimCC's label shapes over bins (:func:`simcc_lab.lessons.plots.label_shapes_figure`) with controls for
    sigma (Gaussian sigma / Laplace b, bins), the keypoint's x, k, eps, the centre rule and the shape."""
    def draw(sigma=2.0, x=x, k=2.0, eps=0.1, centre="continuous", shape="all"):
        shapes = plots.SHAPE_NAMES if shape == "all" else (shape,)
        return plots.label_shapes_figure(x=x, k=k, sigma=sigma, eps=eps, centre=centre, width=width, shapes=shapes)

    return _app(draw,
                sigma=_slider(2.0, 0.3, 6.0, 0.1, "sigma (bins)"),
                x=_slider(x, 0.0, width - 1.0, 0.05, "x (input px)"),
                k=_slider(2.0, 1.0, 4.0, 0.5, "k (bins per px)", ".1f"),
                eps=_slider(0.1, 0.0, 0.5, 0.01, "eps"),
                centre=W.ToggleButtons(options=["continuous", "rounded"], value="continuous", description="centre",
                                       style=_STYLE),
                shape=W.Dropdown(options=["all", *plots.SHAPE_NAMES], value="all", description="shape",
                                 style=_STYLE))


def heatmap_vs_simcc_app(input_size=(48, 64)) -> W.interactive:
    """One keypoint as a 2-D heatmap beside SimCC's two 1-D labels
    (:func:`simcc_lab.lessons.plots.heatmap_vs_simcc_figure`): move it, change k and the SimCC sigma."""
    w, h = input_size

    def draw(x=20.3, y=27.6, k=2.0, sigma=2.0):
        return plots.heatmap_vs_simcc_figure(x=x, y=y, input_size=input_size, k=k, sigma=sigma)

    return _app(draw,
                x=_slider(20.3, 0.0, w - 1.0, 0.1, "x (input px)"),
                y=_slider(27.6, 0.0, h - 1.0, 0.1, "y (input px)"),
                k=_slider(2.0, 1.0, 4.0, 0.5, "k (bins per px)", ".1f"),
                sigma=_slider(2.0, 0.5, 6.0, 0.5, "SimCC sigma (bins)"))
