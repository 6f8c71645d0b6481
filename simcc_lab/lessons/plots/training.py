"""Figures of the training lessons (05 to 08): loss histories, where predictions land inside a heatmap cell,
and crops with their predicted keypoints and SimCC distributions."""
from __future__ import annotations

import numpy as np

from .common import _bin_centres, _figure, draw_skeleton, loss_name, plain_log_ticks


def history_figure(histories: dict, metric: str = "train_loss"):
    """Training loss per epoch, one panel per run (their losses are different quantities, SimCC's KL
    divergence and the heatmap's MSE, so they never share an axis): ``{name: [{"epoch", "train_loss", ...}]}``."""
    n = len(histories)
    fig = _figure(3.4 * n, 3.0)
    for ax, (name, hist) in zip(np.atleast_1d(fig.subplots(1, n)), histories.items()):
        ax.plot([h["epoch"] for h in hist], [h[metric] for h in hist], "o-", ms=3, color="C0")
        ax.set(xlabel="epoch", ylabel=f"{metric.replace('_', ' ')} ({loss_name(name)})", yscale="log",
               title=name)
        ax.grid(alpha=0.3, which="both")
    return plain_log_ticks(fig)


def cell_phase_figure(predictions: dict, stride: float = 4.0, bins: int = 64):
    """Where predicted coordinates land inside one heatmap cell, one panel per decoding.

    ``predictions``: ``{name: (N, K, 2) array}`` of keypoints in input px (x and y pooled). The phase is
    ``(coordinate + stride / 2) mod stride`` in input px, so that heatmap pixel j, which decodes to input
    ``j * stride`` (codecs.heatmap), sits in the middle of the cell. A heatmap decoded by argmax can only land
    there (one spike); SimCC's k bins per pixel give ``k * stride`` evenly spaced spikes; a refinement (DARK)
    spreads continuously.
    ``fig.phases``: ``{name: (M,) phases}``."""
    n = len(predictions)
    fig = _figure(3.0 * n, 2.8)
    fig.phases = {}
    for ax, (name, pts) in zip(np.atleast_1d(fig.subplots(1, n, sharey=True)), predictions.items()):
        phase = np.mod(np.asarray(pts, dtype=np.float64).reshape(-1) + stride / 2, stride)
        fig.phases[name] = phase
        ax.hist(phase, bins=bins, range=(0, stride), color="C0")
        ax.set(title=name, xlabel=f"offset in a {stride:g}-px cell (input px)", xlim=(0, stride))
        ax.axvline(stride / 2, color="0.5", ls=":", lw=1)
    np.atleast_1d(fig.axes)[0].set_ylabel("keypoint coordinates")
    return fig


def predictions_figure(images, kpts_pred, kpts_true=None, x_probs=None, y_probs=None, k: float = 2.0,
                       joint: int = 9, joint_name: str = "left wrist"):
    """Crops with predicted (and true) keypoints; with SimCC probabilities, the 1-D x and y distributions
    of one keypoint (``joint``, default the left wrist) under each crop, with its true x and y marked.

    Args: images (N, H, W, 3) uint8 or float in [0, 1]; kpts_pred/kpts_true (N, K, 2) input px;
    x_probs (N, K, Nx), y_probs (N, K, Ny); k: SimCC bins per pixel (bin j sits at (j + 0.5) / k - 0.5 px).
    """
    from matplotlib.lines import Line2D

    n = len(images)
    rows = 2 if x_probs is not None else 1
    fig = _figure(2.5 * n, 2.5 * rows + 0.6)
    axes = fig.subplots(rows, n, squeeze=False)
    for i in range(n):
        ax = axes[0, i]
        ax.imshow(images[i])
        draw_skeleton(ax, kpts_pred[i], color="lime", size=8, lw=1)
        if kpts_true is not None:
            ax.scatter(kpts_true[i, :, 0], kpts_true[i, :, 1], s=14, c="w", marker="x", lw=1)
        ax.scatter(*kpts_pred[i, joint], s=50, facecolors="none", edgecolors="yellow", lw=1.2)
        ax.set_axis_off()
        if x_probs is not None:
            ax2 = axes[1, i]
            ax2.plot(_bin_centres(x_probs.shape[-1], k), x_probs[i, joint], color="C0", label="p(x)")
            ax2.plot(_bin_centres(y_probs.shape[-1], k), y_probs[i, joint], color="C1", label="p(y)")
            if kpts_true is not None:
                ax2.axvline(kpts_true[i, joint, 0], color="C0", ls=":", lw=1)
                ax2.axvline(kpts_true[i, joint, 1], color="C1", ls=":", lw=1)
            ax2.set_xlabel("input px", fontsize=8)
            if i == 0:
                ax2.set_ylabel(f"{joint_name}: probability", fontsize=8)
            ax2.tick_params(labelsize=7)
    handles = [Line2D([], [], color="lime", marker="o", ms=4, lw=1, label="prediction"),
               Line2D([], [], color="w", marker="x", ls="", markeredgecolor="k", label="truth"),
               Line2D([], [], color="yellow", marker="o", ls="", mfc="none", label=f"predicted {joint_name}")]
    if x_probs is not None:
        handles += [Line2D([], [], color="C0", label="p(x)"), Line2D([], [], color="C1", label="p(y)"),
                    Line2D([], [], color="gray", ls=":", label="true x / y")]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 3), fontsize=8, frameon=False)
    return fig
