"""ipywidgets apps for the lessons: thin wrappers around the pure figures of plots.py.

Each app is an :class:`ipywidgets.interactive` whose ``.result`` is the last Figure drawn, so tests
(and curious readers) can set a control's ``.value`` and look at what changed, without a browser.
"""
from __future__ import annotations

import os

import ipywidgets as W

from . import plots


def fast_mode() -> bool:
    """True when SIMCC_LAB_FAST is set (the test suite's small, quick version of each lesson)."""
    return os.environ.get("SIMCC_LAB_FAST", "") not in ("", "0", "false", "False")


def _app(fn, **controls) -> W.interactive:
    """``interactive(fn, **controls)`` drawn once; ``app.result`` is the current Figure."""
    app = W.interactive(fn, {"manual": False}, **controls)
    app.update()
    return app


def bins_app(width: int = 8) -> W.interactive:
    """Move a keypoint along x and change k: the bin grid, the class index and the decoding error."""
    def draw(x=3.3, k=2.0):
        return plots.bin_grid_figure(x, 1.0, ks=(k,), width=width)

    return _app(draw, x=W.FloatSlider(value=3.3, min=-0.5, max=width - 0.51, step=0.01, description="x (px)"),
                k=W.FloatSlider(value=2.0, min=1.0, max=4.0, step=0.5, description="k"))


def smoothing_app() -> W.interactive:
    """Label shapes over bins with controls for sigma, eps, k, the keypoint's x and the centre rule."""
    def draw(sigma=2.0, x=5.3, k=2.0, eps=0.1, centre="continuous", shape="all"):
        shapes = ("none", "equal", "gaussian", "laplace") if shape == "all" else (shape,)
        return plots.label_shapes_figure(x=x, k=k, sigma=sigma, eps=eps, centre=centre, shapes=shapes)

    return _app(draw,
                sigma=W.FloatSlider(value=2.0, min=0.3, max=6.0, step=0.1, description="sigma (bins)"),
                x=W.FloatSlider(value=5.3, min=0.0, max=11.0, step=0.05, description="x (px)"),
                k=W.FloatSlider(value=2.0, min=1.0, max=4.0, step=0.5, description="k"),
                eps=W.FloatSlider(value=0.1, min=0.0, max=0.5, step=0.01, description="eps"),
                centre=W.Dropdown(options=["continuous", "rounded"], value="continuous", description="centre"),
                shape=W.Dropdown(options=["all", "none", "equal", "gaussian", "laplace"], value="all",
                                 description="shape"))
