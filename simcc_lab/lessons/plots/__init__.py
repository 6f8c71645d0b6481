"""Pure matplotlib figures for the lessons. Every function returns a new ``matplotlib.figure.Figure``
(or draws on an Axes it is given); nothing calls ``pyplot``, shows a window or keeps state.

Figures that compute something also attach it to the Figure (``fig.bins``, ``fig.labels``,
``fig.errors``, ``fig.decoded``, ``fig.kl``, ``fig.table``), so tests and widgets can read the numbers
behind the picture. Coordinates follow docs/architecture.md: pixel centres at integer coordinates, an
input of width W spans [-0.5, W - 0.5), SimCC bin j sits at input x = (j + 0.5)/k - 0.5.

One module per lesson group (``bins``: 00-01, ``quantisation``: 02, ``smoothing``: 03, ``diagrams``: 04,
``training``: 05-08; ``common``: what they share); every figure is importable from here. The calculations
behind the figures live in :mod:`simcc_lab.evaluation` (``keypoint_oks``: :mod:`~simcc_lab.evaluation.oks`;
``simcc_classes``, ``quantisation_ap``: :mod:`~simcc_lab.evaluation.quantization`) and are re-exported here
for the lessons.
"""
from __future__ import annotations

from ...evaluation.oks import OKS_THRESHOLDS, keypoint_oks
from ...evaluation.quantization import quantisation_ap, simcc_classes
from .bins import bin_grid_figure, crop_figure, representations_figure, round_trip_error_figure
from .common import SHAPE_NAMES, draw_skeleton, loss_name, plain_log_ticks
from .diagrams import architecture_figure, compute_figure
from .quantisation import oks_figure, oracle_figure, refinement_figure
from .smoothing import heatmap_vs_simcc_figure, kl_vs_offset_figure, label_shapes_figure
from .training import cell_phase_figure, history_figure, predictions_figure

__all__ = ["OKS_THRESHOLDS", "keypoint_oks", "quantisation_ap", "simcc_classes", "SHAPE_NAMES", "draw_skeleton",
           "loss_name", "plain_log_ticks", "representations_figure", "crop_figure", "bin_grid_figure",
           "round_trip_error_figure", "refinement_figure", "oracle_figure", "oks_figure", "label_shapes_figure",
           "kl_vs_offset_figure", "heatmap_vs_simcc_figure", "architecture_figure", "compute_figure",
           "history_figure", "cell_phase_figure", "predictions_figure"]
