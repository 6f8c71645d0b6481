"""Figures of lessons 00 and 01: three ways to output a coordinate, an input crop, SimCC's bin grids and the
round-trip error of a codec."""
from __future__ import annotations

import numpy as np

from ...codecs import HeatmapCodec, SimCCCodec
from ...evaluation.quantization import simcc_classes
from ...keypoints import COCO17, SkeletonSpec
from .common import _bin_centres, _figure, draw_skeleton


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
