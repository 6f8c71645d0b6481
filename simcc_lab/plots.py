"""Pure matplotlib figures for the lessons. Every function returns a new ``matplotlib.figure.Figure``
(or draws on an Axes it is given); nothing calls ``pyplot``, shows a window or keeps state.

Figures that compute something also attach it to the Figure (``fig.bins``, ``fig.labels``,
``fig.errors``, ``fig.decoded``, ``fig.kl``, ``fig.table``), so tests and widgets can read the numbers
behind the picture. Coordinates follow docs/architecture.md: pixel centres at integer coordinates, an
input of width W spans [-0.5, W - 0.5), SimCC bin j sits at input x = (j + 0.5)/k - 0.5.
"""
from __future__ import annotations

import numpy as np

from .keypoints import COCO17, SkeletonSpec

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
    from .codecs import SimCCCodec

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
    fig = _figure(min(2.0 + 2.6 * len(ks) * max(ww / wh, 0.6), 14), 3.0)
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
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="lower left", framealpha=0.8)
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
        targets = codec.encode(pts, np.ones(pts.shape[:2], np.float32))
        decoded, _ = codec.decode(*tuple(targets)[:-1])
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
    from .codecs import HeatmapCodec

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
    for ref, color in (("none", "tab:red"), ("quarter", "tab:orange"), ("dark", "tab:green")):
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
            :func:`simcc_lab.oracle.oracle_table`.
    Returns:
        Figure with ``fig.table = {data: {codec: [metric per input size]}}``, sizes in first-seen order.
    """
    datas = list(dict.fromkeys(r["data"] for r in rows))
    sizes = list(dict.fromkeys(r["input"] for r in rows))
    fig = _figure(4.2 * len(datas) + 1.6, 3.4)
    axes = fig.subplots(1, len(datas), squeeze=False, sharey=True)[0]
    fig.table = {}
    for ax, data in zip(axes, datas):
        sub = [r for r in rows if r["data"] == data]
        fig.table[data] = {}
        for codec in dict.fromkeys(r["codec"] for r in sub):
            vals = {r["input"]: r[metric] for r in sub if r["codec"] == codec}
            ys = [vals.get(s, np.nan) for s in sizes]
            fig.table[data][codec] = ys
            simcc = str(codec).lower().startswith("simcc")
            ax.plot(range(len(sizes)), ys, "o-" if simcc else "s--", ms=4 if simcc else 5, lw=1.6 if simcc else 1.2,
                    label=codec, alpha=0.9)
        ax.set_xticks(range(len(sizes)), sizes)
        ax.set(xlabel="input size (H x W)", title=str(data))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"oracle {metric} (ground truth encoded and decoded)")
    axes[-1].legend(fontsize=7, loc="lower right")
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
    from .codecs import SimCCCodec

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
    bins); the loss is :class:`simcc_lab.losses.SimCCKLLoss`, given the x-axis twice so that its mean
    over the two axes is the x-axis KL. Left: the KL; right: the KL above its minimum over the offsets.

    Returns:
        Figure with ``fig.kl = {shape: (offsets (n,), KL (n,))}``.
    """
    import torch

    from .codecs import SimCCCodec
    from .losses import SimCCKLLoss

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
    from .codecs import HeatmapCodec, SimCCCodec

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
        ax.set_xlabel(f"input {name} (px)")
    fig.sizes = {"heatmap": int(hm.size), "simcc": int(t.x.shape[-1] + t.y.shape[-1])}
    fig.suptitle(f"one keypoint: {hm.size} heatmap values vs {fig.sizes['simcc']} SimCC values")
    return fig


# --------------------------------------------------------------------------------------------------
# training lessons
# --------------------------------------------------------------------------------------------------
def history_figure(histories: dict):
    """Training loss per epoch of several runs: ``{name: [{"epoch", "train_loss", ...}, ...]}``."""
    fig = _figure(6, 3.2)
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
    n = len(images)
    rows = 2 if x_probs is not None else 1
    fig = _figure(2.4 * n, 2.4 * rows + 0.3)
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
            ax2.plot(_bin_centres(x_probs.shape[-1], k), x_probs[i, j], label="x")
            ax2.plot(_bin_centres(y_probs.shape[-1], k), y_probs[i, j], label="y")
            ax2.set_title("left wrist p(x), p(y)", fontsize=8)
            ax2.legend(fontsize=6)
    return fig
