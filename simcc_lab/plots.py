"""Pure matplotlib figures. Every function returns a Figure (or draws on a given Axes) and shows nothing.

Widgets (widgets.py) and lessons call these; nothing here keeps state.
"""
from __future__ import annotations

import numpy as np

from .keypoints import COCO17, SkeletonSpec


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


def bin_grid_figure(x: float, y: float, ks=(1, 2, 3), width: int = 8, height: int = 3):
    """A strip of ``width`` x ``height`` input pixels with its pixel grid and SimCC's x-bin grid for each k.

    The keypoint (x, y) is drawn, and the x-bin it falls in is shaded: its class index is printed.
    Input pixel i covers [i - 0.5, i + 0.5); bin j covers [j/k - 0.5, (j + 1)/k - 0.5) and decodes to its
    centre (j + 0.5)/k - 0.5.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    fig = Figure(figsize=(2.2 * len(ks) + 1, 2.6))
    axes = fig.subplots(1, len(ks), squeeze=False)[0]
    for ax, k in zip(axes, ks):
        nx = int(round(k * width))
        j = int(np.floor((x + 0.5) * k))  # the bin whose extent holds x
        ax.add_patch(Rectangle((j / k - 0.5, -0.5), 1 / k, height, color="orange", alpha=0.35))
        for i in range(width + 1):
            ax.axvline(i - 0.5, color="k", lw=1.2)
        for b in range(nx + 1):
            ax.axvline(b / k - 0.5, color="tab:blue", lw=0.6, ls="--")
        for r in range(height + 1):
            ax.axhline(r - 0.5, color="k", lw=1.2)
        decoded = (j + 0.5) / k - 0.5
        ax.plot([x], [y], "r*", ms=12, label="keypoint")
        ax.plot([decoded], [y], "bx", ms=9, label="decoded")
        ax.set(xlim=(-0.5, width - 0.5), ylim=(height - 0.5, -0.5), aspect="equal",
               title=f"k={k:g}: Nx={nx}, class {j}\nerror {decoded - x:+.3f} px")
        ax.set_xticks(range(width))
        ax.set_yticks([])
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def label_shapes_figure(x: float = 5.3, k: float = 2.0, sigma: float = 2.0, eps: float = 0.1,
                        centre: str = "continuous", width: int = 12, shapes=("none", "equal", "gaussian", "laplace")):
    """The 1-D SimCC labels of a keypoint at input x for each smoothing shape (values over bins).

    Returns a Figure; ``fig.labels`` holds {shape: (Nx,) array} for inspection and tests.
    """
    from matplotlib.figure import Figure

    from .codecs import SimCCCodec

    fig = Figure(figsize=(8, 3.4))
    ax = fig.add_subplot()
    fig.labels = {}
    for shape in shapes:
        codec = SimCCCodec((width, 1), k=k, smoothing=shape, sigma=sigma, eps=eps, centre=centre)
        lab = codec.encode(np.array([[[x, 0.0]]]), np.ones((1, 1))).x[0, 0]
        fig.labels[shape] = lab
        pos = (np.arange(lab.shape[0]) + 0.5) / k - 0.5
        ax.step(pos, lab, where="mid", label=shape, lw=1.4)
    ax.axvline(x, color="k", ls=":", lw=1, label=f"keypoint x={x:.2f}")
    ax.set(xlabel="input x (px); one step per bin", ylabel="label value",
           title=f"SimCC labels: k={k:g}, sigma={sigma:g} bins, eps={eps:g}, centre={centre}")
    ax.legend(fontsize=8)
    return fig


def heatmap_vs_simcc_figure(x: float = 20.3, y: float = 27.6, input_size=(48, 64), k: float = 2.0, sigma: float = 2.0,
                            stride: int = 4, hm_sigma: float = 2.0):
    """The same keypoint as a 2-D heatmap (stride ``stride``) and as SimCC's two 1-D labels."""
    from matplotlib.figure import Figure

    from .codecs import HeatmapCodec, SimCCCodec

    kp, vis = np.array([[[x, y]]]), np.ones((1, 1))
    hm = HeatmapCodec(input_size, stride=stride, sigma=hm_sigma, encoding="unbiased").encode(kp, vis).heatmaps[0, 0]
    t = SimCCCodec(input_size, k=k, sigma=sigma).encode(kp, vis)
    fig = Figure(figsize=(10, 3.3))
    a, b, c = fig.subplots(1, 3)
    s = stride
    a.imshow(hm, extent=(-0.5 * s, (hm.shape[1] - 0.5) * s, (hm.shape[0] - 0.5) * s, -0.5 * s), cmap="magma")
    a.plot([x], [y], "c+", ms=12)
    a.set_title(f"heatmap {hm.shape[1]}x{hm.shape[0]} (stride {s}): {hm.size} values")
    for ax, lab, v, name in ((b, t.x[0, 0], x, "x"), (c, t.y[0, 0], y, "y")):
        pos = (np.arange(lab.shape[0]) + 0.5) / k - 0.5
        ax.plot(pos, lab)
        ax.axvline(v, color="k", ls=":")
        ax.set_title(f"SimCC {name}: {lab.shape[0]} bins")
        ax.set_xlabel(f"input {name} (px)")
    fig.suptitle(f"one keypoint: {hm.size} heatmap values vs {t.x.shape[-1] + t.y.shape[-1]} SimCC values")
    fig.tight_layout()
    return fig


def history_figure(histories: dict):
    """Training loss per epoch of several runs: ``{name: [{"epoch", "train_loss", ...}, ...]}``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot()
    for name, hist in histories.items():
        ax.plot([h["epoch"] for h in hist], [h["train_loss"] for h in hist], "o-", ms=3, label=name)
    ax.set(xlabel="epoch", ylabel="training loss", yscale="log", title="training loss")
    ax.legend(fontsize=8)
    return fig


def predictions_figure(images, kpts_pred, kpts_true=None, x_probs=None, y_probs=None, k: float = 2.0):
    """Crops with predicted (and true) keypoints; with SimCC probabilities, the 1-D x and y distributions
    of one keypoint (the left wrist, index 9) under each crop.

    Args: images (N, H, W, 3) uint8 or float in [0, 1]; kpts_pred/kpts_true (N, K, 2) input px;
    x_probs (N, K, Nx), y_probs (N, K, Ny).
    """
    from matplotlib.figure import Figure

    n = len(images)
    rows = 2 if x_probs is not None else 1
    fig = Figure(figsize=(2.4 * n, 2.4 * rows + 0.3))
    axes = fig.subplots(rows, n, squeeze=False)
    for i in range(n):
        ax = axes[0, i]
        ax.imshow(images[i])
        if kpts_true is not None:
            ax.scatter(kpts_true[i, :, 0], kpts_true[i, :, 1], s=10, c="w", marker="x")
        draw_skeleton(ax, kpts_pred[i], color="lime", size=8, lw=1)
        ax.set_axis_off()
        if x_probs is not None:
            j = 9
            ax2 = axes[1, i]
            ax2.plot((np.arange(x_probs.shape[-1]) + 0.5) / k - 0.5, x_probs[i, j], label="x")
            ax2.plot((np.arange(y_probs.shape[-1]) + 0.5) / k - 0.5, y_probs[i, j], label="y")
            ax2.set_title("left wrist p(x), p(y)", fontsize=8)
            ax2.legend(fontsize=6)
    fig.tight_layout()
    return fig
