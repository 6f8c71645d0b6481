"""Pure matplotlib figures for the lessons. Every function returns a new ``matplotlib.figure.Figure``
(or draws on an Axes it is given); nothing calls ``pyplot``, shows a window or keeps state.

Figures that compute something also attach it to the Figure (``fig.bins``, ``fig.labels``,
``fig.errors``, ``fig.decoded``, ``fig.kl``, ``fig.table``), so tests and widgets can read the numbers
behind the picture. Coordinates follow docs/architecture.md: pixel centres at integer coordinates, an
input of width W spans [-0.5, W - 0.5), SimCC bin j sits at input x = (j + 0.5)/k - 0.5.
"""
from __future__ import annotations

import numpy as np
import torch

from ..codecs import REFINEMENTS, HeatmapCodec, SimCCCodec
from ..evaluation.oks import OKS_THRESHOLDS, keypoint_oks
from ..keypoints import COCO17, SkeletonSpec
from ..training.losses import SimCCKLLoss

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


# --------------------------------------------------------------------------------------------------
# lesson 01: bins
# --------------------------------------------------------------------------------------------------
def simcc_classes(x: float, y: float, k: float, input_size) -> dict:
    """What SimCC makes of one keypoint (x, y) (input px) at splitting factor ``k``: a one-hot encode and
    an argmax decode with :class:`simcc_lab.codecs.SimCCCodec`.

    Returns dict ``simcc_size`` (Nx, Ny), ``index`` (class x, class y), ``decoded`` (x, y) input px and
    ``error`` (decoded - true, per axis, input px). Raises ValueError for a keypoint outside the input.
    """
    codec = SimCCCodec(tuple(input_size), k=k, smoothing="none")
    t = codec.encode(np.array([[[x, y]]], np.float64), np.ones((1, 1)))
    if t.weights[0, 0] == 0:
        w, h = codec.input_size
        raise ValueError(f"keypoint ({x}, {y}) lies outside the input [-0.5, {w - 0.5}) x [-0.5, {h - 0.5})")
    decoded, _ = codec.decode(t.x, t.y, from_logits=False)
    dx, dy = (float(v) for v in decoded[0, 0])
    return dict(simcc_size=codec.simcc_size, index=(int(t.x[0, 0].argmax()), int(t.y[0, 0].argmax())),
                decoded=(dx, dy), error=(dx - x, dy - y))


def crop_figure(image, keypoints, visible=None, window=None, spec: SkeletonSpec = COCO17, highlight=None,
                title: str = "input crop"):
    """An input crop (H, W[, 3]) with its person and, optionally, the ``window`` (x0, y0, w, h) (integer
    pixel indices) that :func:`bin_grid_figure` zooms into. ``highlight``: a keypoint index to ring."""
    image = np.asarray(image)
    h, w = image.shape[:2]
    fig = _figure(3.6, 3.6 * h / w + 0.4)
    ax = fig.add_subplot()
    ax.imshow(image, extent=(-0.5, w - 0.5, h - 0.5, -0.5), interpolation="nearest",
              cmap="gray" if image.ndim == 2 else None)
    draw_skeleton(ax, keypoints, visible, spec=spec, size=10, lw=1)
    if highlight is not None:
        kx, ky = np.asarray(keypoints, float).reshape(-1, 2)[highlight]
        ax.scatter([kx], [ky], s=120, facecolors="none", edgecolors="r", lw=1.5, zorder=4,
                   label=spec.keypoint_names[highlight])
        ax.legend(fontsize=7, loc="lower right")
    if window is not None:
        from matplotlib.patches import Rectangle

        x0, y0, ww, wh = window
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), ww, wh, fill=False, ec="yellow", lw=1.5))
    ax.set(xlim=(-0.5, w - 0.5), ylim=(h - 0.5, -0.5), title=f"{title} ({w}x{h} px)")
    return fig


def bin_grid_figure(x: float, y: float, ks=(1, 2, 3), input_size=None, image=None, window=None):
    """The pixel grid and SimCC's bin grids around a keypoint, one panel per splitting factor k.

    Pixel i covers [i - 0.5, i + 0.5) (black lines); bin j covers [j/k - 0.5, (j + 1)/k - 0.5) (dashed blue
    lines, both axes). The keypoint's x class is shaded orange, its y class green; the red star is the
    keypoint and the blue cross the argmax decoding (the centre of the shaded cell).

    Args:
        x, y: keypoint in input pixels.
        ks: splitting factors, one panel each.
        input_size: (W, H) the bins cover; default the image's size, or (8, 3) without an image.
        image: optional input crop (H, W) or (H, W, 3) drawn under the grids.
        window: (x0, y0, w, h) pixel indices to show; default the whole input.

    Returns:
        Figure with ``fig.bins = {k: simcc_classes(x, y, k, input_size)}``.
    """
    from matplotlib.patches import Rectangle

    if image is not None:
        image = np.asarray(image)
        input_size = input_size or (image.shape[1], image.shape[0])
    w, h = input_size = tuple(int(v) for v in (input_size or (8, 3)))
    x0, y0, ww, wh = window or (0, 0, w, h)
    fig = _figure(min(2.0 + 2.6 * len(ks) * max(ww / wh, 0.6), 14), 3.9)
    axes = fig.subplots(1, len(ks), squeeze=False)[0]
    fig.bins = {}
    for ax, k in zip(axes, ks):
        info = simcc_classes(x, y, k, input_size)
        fig.bins[k] = info
        (jx, jy), (dx, dy), (ex, ey) = info["index"], info["decoded"], info["error"]
        if image is not None:
            ax.imshow(image, extent=(-0.5, w - 0.5, h - 0.5, -0.5), interpolation="nearest", alpha=0.8,
                      cmap="gray" if image.ndim == 2 else None)
        ax.add_patch(Rectangle((jx / k - 0.5, y0 - 0.5), 1 / k, wh, color="orange", alpha=0.45, lw=0))
        ax.add_patch(Rectangle((x0 - 0.5, jy / k - 0.5), ww, 1 / k, color="limegreen", alpha=0.35, lw=0))
        for b in range(int(np.ceil(x0 * k)), int(np.floor((x0 + ww) * k)) + 1):
            ax.axvline(b / k - 0.5, color="tab:blue", lw=0.8, ls="--")
        for b in range(int(np.ceil(y0 * k)), int(np.floor((y0 + wh) * k)) + 1):
            ax.axhline(b / k - 0.5, color="tab:blue", lw=0.8, ls="--")
        for i in range(x0, x0 + ww + 1):
            ax.axvline(i - 0.5, color="k", lw=1.3)
        for i in range(y0, y0 + wh + 1):
            ax.axhline(i - 0.5, color="k", lw=1.3)
        ax.plot([x], [y], "r*", ms=13, label=f"keypoint ({x:.2f}, {y:.2f})")
        ax.plot([dx], [dy], "bx", ms=10, mew=2, label=f"decoded ({dx:.3f}, {dy:.3f})")
        nx, ny = info["simcc_size"]
        ax.set(xlim=(x0 - 0.5, x0 + ww - 0.5), ylim=(y0 + wh - 0.5, y0 - 0.5), aspect="equal",
               title=f"k={k:g}: Nx={nx}, Ny={ny}\nclass ({jx}, {jy}), error ({ex:+.3f}, {ey:+.3f}) px")
        ax.set_xticks(range(x0, x0 + ww))
        ax.set_yticks(range(y0, y0 + wh))
        ax.tick_params(labelsize=8)
        ax.set_xlabel("input x (px)")
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    axes[0].set_ylabel("input y (px)")
    return fig


def round_trip_error_figure(codecs: dict, x_range=None, num: int = 801, y=None):
    """Signed decoding error (decoded - true, input px) against the true x, for each codec.

    Every codec encodes keypoints at ``num`` positions spread over ``x_range`` (input px; default the
    middle 4 px of the first codec's input) at height ``y`` (default the middle row), and decodes its own
    targets. SimCC codecs also get dotted lines at their bound +-1/(2k).

    Args:
        codecs: {name: SimCCCodec | HeatmapCodec}; all with the same input size.
    Returns:
        Figure with ``fig.errors = {name: (xs (num,), signed errors (num,))}``.
    """
    first = next(iter(codecs.values()))
    w, h = first.input_size
    lo, hi = x_range or (w / 2 - 2.0, w / 2 + 2.0)
    xs = np.linspace(lo, hi, num)
    y = (h - 1) / 2 if y is None else y
    pts = np.stack([xs, np.full_like(xs, y)], -1)[:, None, :].astype(np.float32)  # (num, 1, 2)
    fig = _figure(7.5, 3.2)
    ax = fig.add_subplot()
    fig.errors = {}
    for i, (name, codec) in enumerate(codecs.items()):
        encoded = codec.encode(pts, np.ones(pts.shape[:2], np.float32))
        decoded, _ = codec.decode(*encoded.targets)
        err = np.asarray(decoded, np.float64)[:, 0, 0] - pts[:, 0, 0]
        fig.errors[name] = (xs, err)
        shown = err.copy()
        shown[1:][np.diff(err) > max(5 * (xs[1] - xs[0]), 0.02)] = np.nan  # no vertical lines at the jumps
        (line,) = ax.plot(xs, shown, lw=1.3, label=name, zorder=3 - 0.1 * i)
        if getattr(codec, "kind", "") == "simcc":
            for sign in (-1, 1):
                ax.axhline(sign / (2 * codec.k), color=line.get_color(), ls=":", lw=0.9)
    ax.axhline(0, color="k", lw=0.6)
    ax.set(xlabel="true x (input px)", ylabel="decoded - true (px)", title="round-trip error along x")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


# --------------------------------------------------------------------------------------------------
# lesson 02: quantisation
# --------------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------------
# lesson 03: label smoothing
# --------------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------------
# training lessons
# --------------------------------------------------------------------------------------------------
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


def loss_name(run: str) -> str:
    """The training loss of a run named like ``run`` ("... SimCC ..." or "... heatmap ..."), for axis labels."""
    low = run.lower()
    return "KL divergence" if "simcc" in low else "MSE" if "heatmap" in low else "loss"


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


# --------------------------------------------------------------------------------------------------
# lesson 00: why classify coordinates?
# --------------------------------------------------------------------------------------------------
def representations_figure(x: float = 20.3, width: int = 64, stride: int = 4, hm_sigma: float = 2.0,
                           k: float = 2.0, sigma: float = 2.0):
    """One keypoint coordinate ``x`` (input px, on an input ``width`` px wide) in the three output
    representations of 2-D pose estimation, one panel each on the same input-x axis:

    * regression: the network outputs the number itself (one value per axis, nothing to decode);
    * heatmap: a Gaussian on a grid of stride ``stride`` (sigma ``hm_sigma`` heatmap px, rounded centre,
      the MSRA target), decoded by argmax times the stride (:class:`simcc_lab.codecs.HeatmapCodec`);
    * SimCC: a Gaussian label over ``k`` bins per pixel (sigma ``sigma`` bins), decoded by argmax / k
      (:class:`simcc_lab.codecs.SimCCCodec`).

    Returns:
        Figure with ``fig.decoded = {"regression" | "heatmap" | "simcc": decoded x}`` (input px, the
        target decoded straight back) and ``fig.values = {name: outputs per keypoint for a square input}``
        (2, (width/stride)^2, 2 k width).
    """
    size = (width, width)
    kp, vis = np.array([[[x, (width - 1) / 2]]]), np.ones((1, 1))
    hm_codec = HeatmapCodec(size, stride=stride, sigma=hm_sigma)
    hm = hm_codec.encode(kp, vis).heatmaps[0, 0]
    sc = SimCCCodec(size, k=k, sigma=sigma, smoothing="gaussian")
    lab = sc.encode(kp, vis).x[0, 0]
    fig = _figure(8.5, 5.4)
    axes = fig.subplots(3, 1, sharex=True)
    fig.decoded = {"regression": float(x), "heatmap": float(hm_codec.decode(hm[None, None])[0][0, 0, 0]),
                   "simcc": float(sc.decode(lab[None, None], lab[None, None], from_logits=False)[0][0, 0, 0])}
    fig.values = {"regression": 2, "heatmap": int(hm.size), "simcc": int(2 * lab.shape[0])}
    a, b, c = axes
    a.plot([x], [1.0], "o", color="tab:blue", ms=7)
    a.vlines([x], 0, 1, color="tab:blue", lw=2)
    a.set(ylim=(0, 1.3), yticks=[], ylabel="one number")
    a.set_title("regression: the network outputs x itself (no grid, nothing to decode; hard to learn)",
                fontsize=9, loc="left")
    row = hm[int(np.unravel_index(hm.argmax(), hm.shape)[0])]
    b.vlines(np.arange(row.shape[0]) * stride, 0, row, color="tab:orange", lw=4)
    b.set(ylim=(0, 1.3), ylabel="heatmap value")
    b.set_title(f"heatmap: a 2-D Gaussian on a {hm.shape[1]}x{hm.shape[0]} grid (stride {stride}); "
                f"the row through the peak", fontsize=9, loc="left")
    centres = _bin_centres(lab.shape[0], k)
    c.plot(centres, lab, ".-", color="tab:green", ms=4, lw=1)
    c.set(ylim=(0, lab.max() * 1.3), ylabel="label value", xlabel="input x (px)")
    c.set_title(f"SimCC: a 1-D distribution over {lab.shape[0]} x-bins (k = {k:g} bins per px), "
                f"and another over y", fontsize=9, loc="left")
    for ax, name in zip(axes, ("regression", "heatmap", "simcc")):
        dec = fig.decoded[name]
        ax.axvline(x, color="k", ls=":", lw=1.2, label=f"true x = {x:.2f}")
        ax.axvline(dec, color="tab:red", ls="--", lw=1.2, label=f"decoded {dec:.2f} (error {dec - x:+.2f} px)")
        ax.legend(fontsize=8, loc="upper left", framealpha=0.9)
        ax.grid(alpha=0.25)
    c.set_xlim(x - 12, x + 12)
    fig.suptitle(f"one keypoint at x = {x:g} px on a {width}-px-wide input, three ways to output it", fontsize=11)
    return fig


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
    _box(ax, (13.9, 3.1, 1.5, 1.2), f"decode\nargmax / k\n(x, y) input px", color="#e3f4e3", edge="tab:green")
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


# --------------------------------------------------------------------------------------------------
# lesson 02: OKS and AP
# --------------------------------------------------------------------------------------------------
def quantisation_ap(step: float, area: float, sigmas=COCO17.sigmas, n: int = 4000, seed: int = 0) -> dict:
    """AP lost to a grid alone: every keypoint of ``n`` people is off by a uniform offset in a square cell
    of side ``step`` px (argmax decoding on a grid of that pitch: ``1/k`` for SimCC, the stride for a
    heatmap), for people of ``area`` px^2 in the same pixels.

    The person's OKS is the mean of :func:`keypoint_oks` over its keypoints; AP is taken as the share of
    people with OKS >= t, averaged over COCO's thresholds 0.50:0.05:0.95 (the AP of a detector that finds
    everyone and ranks them perfectly).

    Returns:
        dict ``AP``, ``mean_error`` (mean Euclidean error, px), ``mean_oks`` and ``ap_at`` ({t: share}).
    """
    rng = np.random.default_rng(seed)
    sig = np.asarray(sigmas, dtype=np.float64)
    d = np.hypot(*rng.uniform(-step / 2, step / 2, size=(2, n, len(sig))))
    oks = keypoint_oks(d, sig, area).mean(-1)
    ap_at = {float(t): float((oks >= t).mean()) for t in OKS_THRESHOLDS}
    return {"AP": float(np.mean(list(ap_at.values()))), "mean_error": float(d.mean()), "mean_oks": float(oks.mean()),
            "ap_at": ap_at}


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


# --------------------------------------------------------------------------------------------------
# lesson 04: compute
# --------------------------------------------------------------------------------------------------
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
