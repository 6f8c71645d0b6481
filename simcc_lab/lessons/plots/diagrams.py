"""Figures of lesson 04 (and the overview): SimCC's architecture as a box diagram, and compute per model
variant and input size."""
from __future__ import annotations

import numpy as np

from .common import _figure


def _box(ax, rect, text, **style):
    """A rounded box ``rect`` (x, y, w, h) with centred text on a diagram Axes; ``style``: ``color`` (fill),
    ``edge``, ``ls``, ``fontsize``. Returns its (left, right, centre y) anchors."""
    from matplotlib.patches import FancyBboxPatch

    style = dict(dict(color="#dbe9f6", edge="tab:blue", ls="-", fontsize=8.5), **style)
    x, y, w, h = rect
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=style["color"], ec=style["edge"],
                                ls=style["ls"], lw=1.2))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=style["fontsize"])
    return (x, x + w, y + h / 2)


def _arrow(ax, start, end, color="k", ls="-"):
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color=color, lw=1.2, ls=ls, shrinkA=2, shrinkB=2))


def architecture_figure(input_size=(192, 256), k: float = 2.0, num_keypoints: int = 17, feature_stride: int = 32,
                        feature_channels: int = 2048, heatmap_stride: int = 4, deconv_channels: int = 256):
    """SimCC's architecture as a box diagram with the tensor shapes for ``input_size`` (W, H):
    image -> backbone -> features -> 1x1 conv and flatten -> two Linear heads -> two 1-D distributions
    per keypoint -> argmax / k. A dashed grey branch shows SimpleBaseline's heatmap head on the same
    features (3 deconvolutions to stride ``heatmap_stride``) for comparison.

    Returns:
        Figure with ``fig.shapes``: ``features`` (C, H', W'), ``flat`` (K, H'W'), ``x_logits`` (K, Nx),
        ``y_logits`` (K, Ny), ``heatmaps`` (K, H/s, W/s), all per image.
    """
    from matplotlib.patches import Rectangle

    w, h = (int(v) for v in input_size)
    fh, fw = -(-h // feature_stride), -(-w // feature_stride)
    nx, ny = int(np.floor(k * w + 0.5)), int(np.floor(k * h + 0.5))
    K = num_keypoints
    fig = _figure(12, 4.6)
    ax = fig.add_subplot()
    ax.set(xlim=(0, 15.6), ylim=(-0.2, 6.2))
    ax.set_axis_off()
    fig.shapes = {"features": (feature_channels, fh, fw), "flat": (K, fh * fw), "x_logits": (K, nx),
                  "y_logits": (K, ny), "heatmaps": (K, h // heatmap_stride, w // heatmap_stride)}
    img = _box(ax, (0.1, 3.0, 1.5, 1.4), f"image\n3 x {h} x {w}", color="#eeeeee", edge="0.3")
    bb = _box(ax, (2.2, 3.0, 1.7, 1.4), f"backbone\n(ResNet, HRNet,\nTransformer)\nstride {feature_stride}",
              color="#fde8d0", edge="tab:orange")
    ft = _box(ax, (4.5, 3.0, 1.6, 1.4), f"features\n{feature_channels} x {fh} x {fw}", color="#fde8d0",
              edge="tab:orange")
    fl = _box(ax, (6.7, 3.0, 1.7, 1.4), f"1x1 conv: {K} maps\nflatten\n{K} x {fh * fw}")
    hx = _box(ax, (9.0, 4.3, 1.9, 1.1), f"Linear({fh * fw}, {nx})\nx head: {K} x {nx}")
    hy = _box(ax, (9.0, 2.0, 1.9, 1.1), f"Linear({fh * fw}, {ny})\ny head: {K} x {ny}")
    for a_, b_ in ((img, bb), (bb, ft), (ft, fl)):
        _arrow(ax, (a_[1], a_[2]), (b_[0], b_[2]))
    _arrow(ax, (fl[1], fl[2]), (hx[0], hx[2]))
    _arrow(ax, (fl[1], fl[2]), (hy[0], hy[2]))
    # the two 1-D distributions, drawn as small curves
    t = np.linspace(-1, 1, 80)
    for head, y0, name, n in ((hx, 4.3, "x", nx), (hy, 2.0, "y", ny)):
        x0 = 11.5
        ax.add_patch(Rectangle((x0, y0), 1.6, 1.1, fc="white", ec="tab:green", lw=1.0))
        ax.plot(x0 + 0.8 + 0.75 * t, y0 + 0.12 + 0.75 * np.exp(-((t - 0.15) ** 2) / 0.02), color="tab:green", lw=1.3)
        ax.text(x0 + 0.8, y0 - 0.12, f"softmax: p({name}) over {n} bins", ha="center", va="top", fontsize=7.5)
        _arrow(ax, (head[1], head[2]), (x0, y0 + 0.55))
        _arrow(ax, (x0 + 1.6, y0 + 0.55), (13.9, 3.7))
    _box(ax, (13.9, 3.1, 1.5, 1.2), "decode\nargmax / k\n(x, y) input px", color="#e3f4e3", edge="tab:green")
    # the heatmap branch for comparison
    hm = _box(ax, (6.7, 0.0, 4.2, 1.5), f"heatmap head (SimpleBaseline), for comparison:\n3 deconvs "
              f"({deconv_channels} ch) to stride {heatmap_stride}, 1x1 conv\n"
              f"-> {K} x {h // heatmap_stride} x {w // heatmap_stride} heatmaps", color="#f2f2f2", edge="0.5",
              ls="--", fontsize=8)
    _arrow(ax, ((ft[0] + ft[1]) / 2, 3.0), (hm[0], hm[2]), color="0.5", ls="--")
    dec = _box(ax, (11.5, 0.0, 3.9, 1.5), f"decode: 2-D argmax x {heatmap_stride}\n(+ quarter offset or DARK)",
               color="#f2f2f2", edge="0.5", ls="--", fontsize=8)
    _arrow(ax, (hm[1], hm[2]), (dec[0], dec[2]), color="0.5", ls="--")
    ax.text(0.1, 6.1, f"SimCC at input {h}x{w} (H x W), k = {k:g}: each keypoint's feature map is flattened and "
            f"classified twice, into {nx} x-bins and {ny} y-bins", fontsize=10, va="top")
    return fig


def compute_figure(rows, parts=("backbone", "upsampling", "head")):
    """Compute per model variant and input size, and its ratio to the first variant at each size.

    Args:
        rows: dicts with ``input`` (e.g. "64x64"), ``model`` (variant label) and one GMACs value per name
            in ``parts``; the first variant seen at a size is the reference of the ratios.
    Returns:
        Figure (left: stacked bars of the parts; right: total / reference total) with
        ``fig.ratios = {input: {model: ratio}}``.
    """
    sizes = list(dict.fromkeys(r["input"] for r in rows))
    models = list(dict.fromkeys(r["model"] for r in rows))
    fig = _figure(11, 3.8)
    a, b = fig.subplots(1, 2)
    width = 0.8 / len(models)
    fig.ratios = {}
    colors = {"backbone": "0.8", "upsampling": "tab:purple", "head": "k"}  # unlike the model colours on the right
    for i, size in enumerate(sizes):
        sub = {r["model"]: r for r in rows if r["input"] == size}
        ref = sum(sub[models[0]][p] for p in parts) if models[0] in sub else np.nan
        fig.ratios[size] = {}
        for j, m in enumerate(models):
            if m not in sub:
                continue
            pos = i + (j - (len(models) - 1) / 2) * width
            bottom = 0.0
            for p in parts:
                a.bar(pos, sub[m][p], width * 0.95, bottom=bottom, color=colors.get(p), edgecolor="k", lw=0.4,
                      label=p if (i == 0 and j == 0) else None)
                bottom += sub[m][p]
            ratio = fig.ratios[size][m] = bottom / ref
            b.bar(pos, ratio, width * 0.95, color=f"C{j}", edgecolor="k", lw=0.4, label=m if i == 0 else None)
            b.text(pos, ratio + 0.02, f"{ratio:.2f}", ha="center", va="bottom", fontsize=7.5)
            a.text(pos, bottom, f"{bottom:.2f}", ha="center", va="bottom", fontsize=7)
    for ax in (a, b):
        ax.set_xticks(range(len(sizes)), sizes)
        ax.set_xlabel("input size (H x W)")
        ax.grid(axis="y", alpha=0.3)
    a.set(ylabel="GMACs per image", title="compute by part (bars in each group as in the right legend)")
    a.legend(fontsize=8, loc="upper left")
    b.set(ylabel=f"total / {models[0]}", ylim=(0, 1.25), title="compute relative to the first variant")
    b.axhline(1.0, color="k", lw=0.8, ls=":")
    b.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=len(models))
    return fig
