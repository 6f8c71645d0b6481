"""Figures of lesson 02: heatmap refinements, the codec oracle, and OKS / AP against pixel error (the
calculations behind them live in :mod:`simcc_lab.evaluation.oks` and :mod:`simcc_lab.evaluation.quantization`)."""
from __future__ import annotations

import numpy as np

from ...codecs import REFINEMENTS, HeatmapCodec
from ...evaluation.oks import OKS_THRESHOLDS, keypoint_oks
from ...evaluation.quantization import quantisation_ap
from ...keypoints import COCO17, SkeletonSpec
from .common import _figure


def refinement_figure(x: float = 30.3, input_size=(64, 64), stride: int = 4, sigma: float = 2.0,
                      encoding: str = "unbiased"):
    """One heatmap row through a keypoint, and where argmax, the quarter offset and DARK put it.

    The keypoint (x, middle row) is encoded by :class:`simcc_lab.codecs.HeatmapCodec` (``encoding``),
    the map is decoded with each refinement, and the row through the peak is drawn at input-pixel
    positions (heatmap pixel j sits at input x = j * stride), with the continuous Gaussian behind it.

    Returns:
        Figure with ``fig.decoded = {"argmax" | "quarter" | "dark": decoded x}`` (input px).
    """
    y = (input_size[1] - 1) / 2
    kp, vis = np.array([[[x, y]]], np.float32), np.ones((1, 1), np.float32)
    base = dict(stride=stride, sigma=sigma, encoding=encoding)
    hm = HeatmapCodec(input_size, **base).encode(kp, vis).heatmaps[0, 0]
    fig = _figure(7.5, 3.2)
    ax = fig.add_subplot()
    row = int(np.unravel_index(hm.argmax(), hm.shape)[0])
    pos = np.arange(hm.shape[1]) * stride
    ax.vlines(pos, 0, hm[row], color="0.45", lw=3, label=f"heatmap row {row} (stride {stride})")
    centre = x / stride if encoding == "unbiased" else np.floor(x / stride + 0.5)
    fine = np.linspace(pos[0], pos[-1], 600)
    ax.plot(fine, np.exp(-((fine / stride - centre) ** 2) / (2 * sigma**2)), color="0.75", lw=1, zorder=0)
    ax.axvline(x, color="k", lw=1.5, label=f"true x = {x:.2f}")
    fig.decoded = {}
    for ref, color in zip(REFINEMENTS, ("tab:red", "tab:orange", "tab:green")):  # none, quarter, dark
        codec = HeatmapCodec(input_size, refinement=ref, **base)
        dec = float(codec.decode(hm[None, None])[0][0, 0, 0])
        name = "argmax" if ref == "none" else ref
        fig.decoded[name] = dec
        ax.axvline(dec, color=color, ls="--", lw=1.4, label=f"{name}: {dec:.2f} (error {dec - x:+.2f})")
    ax.set(xlim=(x - 4 * stride * max(sigma, 1), x + 4 * stride * max(sigma, 1)), ylim=(0, 1.15),
           xlabel="input x (px)", ylabel="heatmap value",
           title=f"heatmap decoding at stride {stride} ({encoding} target, sigma {sigma:g} heatmap px)")
    ax.legend(fontsize=7, loc="upper right")
    return fig


def oracle_figure(rows, metric: str = "AP"):
    """Codec-oracle results against input size: one panel per data set, one line per codec.

    Args:
        rows: dicts with ``data``, ``input`` (e.g. "64x64"), ``codec`` and ``metric`` keys, as returned by
            :func:`simcc_lab.evaluation.oracle.oracle_table`.
    Returns:
        Figure with ``fig.table = {data: {codec: [metric per input size]}}``, sizes in first-seen order.
    """
    datas = list(dict.fromkeys(r["data"] for r in rows))
    sizes = list(dict.fromkeys(r["input"] for r in rows))
    fig = _figure(4.2 * len(datas) + 3.4, 3.6)
    axes = fig.subplots(1, len(datas), squeeze=False, sharey=True)[0]
    fig.table = {}
    markers = "os^vDPX*h"
    for ax, data in zip(axes, datas):
        sub = [r for r in rows if r["data"] == data]
        fig.table[data] = {}
        for codec in dict.fromkeys(r["codec"] for r in sub):
            vals = {r["input"]: r[metric] for r in sub if r["codec"] == codec}
            fig.table[data][codec] = [vals.get(s, np.nan) for s in sizes]
        # codecs with identical results share one line (and one legend entry) instead of hiding each other
        groups: dict[tuple, list] = {}
        for codec, ys in fig.table[data].items():
            groups.setdefault(tuple(np.round(ys, 6)), []).append(str(codec))
        n = len(groups)
        for i, (ys, names) in enumerate(groups.items()):
            simcc = names[0].lower().startswith("simcc")
            dodge = (i - (n - 1) / 2) * 0.035  # near-equal lines side by side, not on top of each other
            ax.plot(np.arange(len(sizes)) + dodge, ys, marker=markers[i % len(markers)], ls="-" if simcc else "--",
                    ms=6, lw=1.4, mfc="none" if i % 2 else None, label=" = ".join(names), alpha=0.9)
        ax.set_xticks(range(len(sizes)), sizes)
        ax.set(xlabel="input size (H x W)", title=str(data))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"oracle {metric}\n(ground truth encoded and decoded)")
    axes[-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    return fig


def oks_figure(areas: dict, keypoints=("nose", "left_shoulder", "left_hip"), grids=None, spec: SkeletonSpec = COCO17,
               max_error: float = 5.0):
    """OKS and AP against pixel error.

    Left: the OKS of one keypoint against its error for a few keypoint types (colour: their COCO sigma)
    and person sizes (line style: ``areas``, ``{label: area px^2}``), with COCO's threshold range shaded.
    Right: :func:`quantisation_ap` against the grid's mean error for each person size; ``grids``
    (``{label: step px}``, e.g. SimCC k=2 -> 0.5, heatmap stride 4 -> 4) are marked on the first size.

    Returns:
        Figure with ``fig.ap = {grid label: quantisation_ap dict}`` (first area) and
        ``fig.curves = {area label: (steps, mean errors, AP)}``.
    """
    grids = {} if grids is None else dict(grids)
    fig = _figure(11, 5.2)
    a, b = fig.subplots(1, 2)
    err = np.linspace(0, max_error, 201)
    styles = ("-", "--", ":", "-.")
    a.axhspan(OKS_THRESHOLDS[0], OKS_THRESHOLDS[-1], color="0.92", zorder=0,
              label="AP thresholds 0.50 to 0.95")
    for j, name in enumerate(keypoints):
        sigma = spec.sigmas[spec.keypoint_names.index(name)]
        for i, (alabel, area) in enumerate(areas.items()):
            a.plot(err, keypoint_oks(err, sigma, area), color=f"C{j}", ls=styles[i % len(styles)], lw=1.5,
                   label=f"{name} (sigma {sigma:.3f}), {alabel}")
    a.set(xlabel="keypoint error (input px)", ylabel="OKS of the keypoint", ylim=(0, 1.02), xlim=(0, max_error),
          title="OKS of one keypoint against its error")
    a.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    steps = np.linspace(0.05, max_error / 0.38, 40)  # mean 2-D error of a square cell = 0.383 x its side
    fig.curves, fig.ap = {}, {}
    for i, (alabel, area) in enumerate(areas.items()):
        res = [quantisation_ap(s, area, spec.sigmas, n=1000) for s in steps]
        me, ap = np.array([r["mean_error"] for r in res]), np.array([r["AP"] for r in res])
        fig.curves[alabel] = (steps, me, ap)
        b.plot(me, ap, color="0.3", ls=styles[i % len(styles)], lw=1.5, label=f"person {alabel}")
    first = next(iter(areas.values())) if areas else None
    for j, (glabel, step) in enumerate(grids.items()):
        r = fig.ap[glabel] = quantisation_ap(step, first, spec.sigmas)
        b.plot(r["mean_error"], r["AP"], "o", color=f"C{j + 3}", ms=8, zorder=3,
               label=f"{glabel}: grid {step:g} px, mean error {r['mean_error']:.2f} px, AP {r['AP']:.2f}")
    b.set(xlabel="mean keypoint error from the grid alone (input px)", ylabel="AP (perfect ranking)",
          ylim=(0, 1.02), xlim=(0, max_error), title="AP of people whose keypoints sit on a grid")
    b.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    for ax in (a, b):
        ax.grid(alpha=0.3)
    return fig
