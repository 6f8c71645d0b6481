"""What the lessons' figures share: a new Figure, SimCC's bin centres, a skeleton drawn on an Axes, plain
log-scale tick labels and the names of the label shapes and the losses."""
from __future__ import annotations

import numpy as np

from ...keypoints import COCO17, SkeletonSpec

SHAPE_NAMES = ("none", "equal", "gaussian", "laplace")
_SHAPE_LABEL = {"none": "one-hot", "equal": "equal (eps)", "gaussian": "Gaussian", "laplace": "Laplace"}


def _figure(width: float, height: float):
    """A new Figure with a constrained layout (no pyplot, no global figure registry)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _bin_centres(n: int, k: float) -> np.ndarray:
    """Input-pixel positions (n,) of SimCC's bins: (j + 0.5) / k - 0.5."""
    return (np.arange(n) + 0.5) / k - 0.5


def draw_skeleton(ax, keypoints, visible=None, spec: SkeletonSpec = COCO17, color="lime", size=12, lw=1.5):
    """Draw one or more people on ``ax``.

    Args:
        keypoints: (K, 2) or (N, K, 2) in the axes' pixel coordinates.
        visible: (K,) or (N, K) COCO visibility; keypoints with v <= 0 are not drawn, v == 1 (labelled,
            hidden) are drawn hollow.
    """
    kpts = np.asarray(keypoints, dtype=float).reshape(-1, spec.num_keypoints, 2)
    vis = np.full(kpts.shape[:2], 2.0) if visible is None else np.asarray(visible, dtype=float).reshape(kpts.shape[:2])
    for person, v in zip(kpts, vis):
        for a, b in spec.limbs:
            if v[a] > 0 and v[b] > 0:
                ax.plot(person[[a, b], 0], person[[a, b], 1], color=color, lw=lw, alpha=0.9)
        shown = v > 1
        hidden = (v > 0) & ~shown
        ax.scatter(person[shown, 0], person[shown, 1], s=size, c=color, edgecolors="k", linewidths=0.5, zorder=3)
        ax.scatter(person[hidden, 0], person[hidden, 1], s=size, facecolors="none", edgecolors=color, zorder=3)
    return ax


def plain_log_ticks(fig):
    """Relabel every log-scaled axis of ``fig`` with plain numbers (0.1, 0.3, 1, 3) instead of
    matplotlib's labels such as "10^0" and minor ones such as "3x10^0"; ticks a figure set itself
    (e.g. strides 1, 2, 4, 8) are kept, only relabelled. Returns ``fig``."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fmt = FuncFormatter(lambda v, _: f"{v:g}")
    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log":
                if isinstance(axis.get_major_locator(), LogLocator):  # keep ticks a figure chose itself
                    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 3.0)))
                axis.set_major_formatter(fmt)
                axis.set_minor_formatter(NullFormatter())
    return fig


def loss_name(run: str) -> str:
    """The training loss of a run named like ``run`` ("... SimCC ..." or "... heatmap ..."), for axis labels."""
    low = run.lower()
    return "KL divergence" if "simcc" in low else "MSE" if "heatmap" in low else "loss"
