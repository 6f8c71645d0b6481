"""Figures of lesson 03: SimCC's label shapes, the KL loss of a sliding prediction, and one keypoint as a
heatmap and as SimCC labels."""
from __future__ import annotations

import numpy as np
import torch

from ...codecs import HeatmapCodec, SimCCCodec
from ...training.losses import SimCCKLLoss
from .common import _SHAPE_LABEL, SHAPE_NAMES, _bin_centres, _figure


def label_shapes_figure(x: float = 5.3, k: float = 2.0, sigma: float = 2.0, eps: float = 0.1,
                        centre: str = "continuous", width: int = 12, shapes=SHAPE_NAMES):
    """The 1-D SimCC x-labels of one keypoint for each smoothing shape, from
    :class:`simcc_lab.codecs.SimCCCodec` (``sigma`` is the Gaussian sigma and the Laplace scale b, in
    bins; ``eps`` the equal smoothing). Drawn over input x, one marker per bin; dotted lines mark the
    keypoint and the nearest bin.

    Returns:
        Figure with ``fig.labels = {shape: (Nx,) label}``.
    """
    fig = _figure(8, 3.4)
    ax = fig.add_subplot()
    fig.labels = {}
    for shape in shapes:
        codec = SimCCCodec((width, 1), k=k, smoothing=shape, sigma=sigma, eps=eps, centre=centre)
        lab = codec.encode(np.array([[[x, 0.0]]]), np.ones((1, 1))).x[0, 0]
        fig.labels[shape] = lab
        ax.plot(_bin_centres(lab.shape[0], k), lab, ".-", ms=5, lw=1.2, label=_SHAPE_LABEL[shape])
    nearest = (np.floor((x + 0.5) * k) + 0.5) / k - 0.5  # centre of the bin holding x
    ax.axvline(x, color="k", ls=":", lw=1, label=f"keypoint x = {x:.2f}")
    ax.axvline(nearest, color="tab:gray", ls="--", lw=0.8, label=f"nearest bin at {nearest:.2f}")
    ax.set(xlabel="input x (px); one marker per bin", ylabel="label value", xlim=(-0.5, width - 0.5),
           title=f"SimCC labels: k={k:g}, sigma={sigma:g} bins, eps={eps:g}, centre={centre}")
    ax.legend(fontsize=7, loc="upper right")
    return fig


def kl_vs_offset_figure(x: float = 20.3, offsets=None, width: int = 48, k: float = 2.0, label_sigma: float = 2.0,
                        pred_sigma: float = 3.0, eps: float = 0.1, centre: str = "continuous", shapes=SHAPE_NAMES):
    """KL loss of a prediction that slides past the keypoint, under each label shape.

    The prediction is a softmax whose logits are a parabola, -(j - m)^2 / (2 pred_sigma^2) over bins j
    (a Gaussian-shaped distribution), centred at m = the bin position of x + offset. Labels come from
    :class:`simcc_lab.codecs.SimCCCodec` (``label_sigma`` is the Gaussian sigma and the Laplace b, in
    bins); the loss is :class:`simcc_lab.training.losses.SimCCKLLoss`, given the x-axis twice so that its mean
    over the two axes is the x-axis KL. Left: the KL; right: the KL above its minimum over the offsets.

    Returns:
        Figure with ``fig.kl = {shape: (offsets (n,), KL (n,))}``.
    """
    offsets = np.linspace(-3, 3, 121) if offsets is None else np.asarray(offsets, float)
    loss = SimCCKLLoss()
    kp, vis = np.array([[[x, 0.0]]]), np.ones((1, 1))
    fig = _figure(10, 3.4)
    a, b = fig.subplots(1, 2)
    fig.kl = {}
    for shape in shapes:
        codec = SimCCCodec((width, 1), k=k, smoothing=shape, sigma=label_sigma, eps=eps, centre=centre)
        target = torch.as_tensor(codec.encode(kp, vis).x)  # (1, 1, Nx)
        bins = torch.arange(target.shape[-1], dtype=torch.float64)
        vals = []
        for off in offsets:
            m = float(codec.bin_positions(x + off))
            logits = (-((bins - m) ** 2) / (2 * pred_sigma**2)).float()[None, None]
            vals.append(float(loss((logits, logits), (target, target), torch.ones(1, 1))))
        vals = np.array(vals)
        fig.kl[shape] = (offsets, vals)
        best = int(np.argmin(vals))
        (line,) = a.plot(offsets, vals, lw=1.4, label=f"{_SHAPE_LABEL[shape]}: min {vals[best]:.3f}")
        b.plot(offsets, vals - vals[best], lw=1.4, color=line.get_color(),
               label=f"{_SHAPE_LABEL[shape]}: min at {offsets[best]:+.2f} px")
        for ax, v in ((a, vals[best]), (b, 0.0)):
            ax.plot(offsets[best], v, "o", color=line.get_color(), ms=4)
    for ax in (a, b):
        ax.axvline(0, color="k", ls=":", lw=0.8)
        ax.set_xlabel("prediction offset (input px)")
        ax.legend(fontsize=7)
    a.set(ylabel="KL(label || prediction) (nats)", yscale="log", title="the loss")
    b.set(ylabel="KL - its minimum (nats)", title="the loss above its minimum")
    fig.suptitle(f"a Gaussian-shaped prediction (sigma {pred_sigma:g} bins) sliding past x = {x:g}: "
                 f"k={k:g}, label sigma {label_sigma:g} bins, eps {eps:g}, {centre} centre", fontsize=10)
    return fig


def heatmap_vs_simcc_figure(x: float = 20.3, y: float = 27.6, input_size=(48, 64), k: float = 2.0, sigma: float = 2.0,
                            stride: int = 4, hm_sigma: float = 2.0):
    """The same keypoint as a 2-D heatmap (stride ``stride``, sigma ``hm_sigma`` heatmap px, unbiased
    centre) and as SimCC's two 1-D Gaussian labels (``k`` bins per px, sigma ``sigma`` bins).

    Returns:
        Figure with ``fig.sizes = {"heatmap": h * w, "simcc": Nx + Ny}`` (values per keypoint).
    """
    kp, vis = np.array([[[x, y]]]), np.ones((1, 1))
    hm = HeatmapCodec(input_size, stride=stride, sigma=hm_sigma, encoding="unbiased").encode(kp, vis).heatmaps[0, 0]
    t = SimCCCodec(input_size, k=k, sigma=sigma).encode(kp, vis)
    fig = _figure(10, 3.3)
    a, b, c = fig.subplots(1, 3)
    s = stride
    a.imshow(hm, extent=(-0.5 * s, (hm.shape[1] - 0.5) * s, (hm.shape[0] - 0.5) * s, -0.5 * s), cmap="magma")
    a.plot([x], [y], "c+", ms=12)
    a.set_title(f"heatmap {hm.shape[1]}x{hm.shape[0]} (stride {s}): {hm.size} values", fontsize=9)
    a.set(xlabel="input x (px)", ylabel="input y (px)")
    for ax, lab, v, name in ((b, t.x[0, 0], x, "x"), (c, t.y[0, 0], y, "y")):
        ax.plot(_bin_centres(lab.shape[0], k), lab, ".-", ms=3, lw=1)
        ax.axvline(v, color="k", ls=":")
        ax.set_title(f"SimCC {name}: {lab.shape[0]} bins", fontsize=9)
        ax.set_xlabel(f"input {name} (px); one marker per bin")
        ax.set_ylabel(f"label value over {name}-bins")
    fig.sizes = {"heatmap": int(hm.size), "simcc": int(t.x.shape[-1] + t.y.shape[-1])}
    fig.suptitle(f"one keypoint: {hm.size} heatmap values vs {fig.sizes['simcc']} SimCC values")
    return fig
