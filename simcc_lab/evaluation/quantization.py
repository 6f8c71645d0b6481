"""Quantisation error of each decoder: the analytic values and Monte-Carlo round trips, what SimCC makes of
one keypoint, and the AP a grid alone costs.

A round trip takes exact sub-pixel coordinates, encodes them with a codec and decodes the labels: what
is lost is the representation's quantisation alone, with no network. Errors are per axis, in input pixels.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .. import files
from ..codecs import HeatmapCodec, SimCCCodec
from ..keypoints import COCO17
from .oks import OKS_THRESHOLDS, keypoint_oks

STUDY_KS = (1.0, 1.5, 2.0, 3.0, 4.0)
STUDY_STRIDES = (1, 2, 4, 8)


def simcc_theory(k: float) -> dict[str, float]:
    """Per-axis argmax error of SimCC with k bins per pixel: uniform on [-1/(2k), 1/(2k)] (input px)."""
    return {"mean": 1 / (4 * k), "rms": 1 / (k * math.sqrt(12)), "max": 1 / (2 * k), "bias": 0.0}


def heatmap_theory(stride: int, refinement: str = "none") -> dict[str, float]:
    """Per-axis error of a noise-free heatmap at stride s (input px).

    "none" (argmax): uniform on [-s/2, s/2]: mean s/4, RMS s/sqrt(12), max s/2. "quarter" on an unbiased
    map (a continuous centre, so the higher neighbour is on the keypoint's side): the offset from the grid
    point, |d| uniform on [0, s/2], becomes |d| - s/4, uniform on [-s/4, s/4]: mean s/8, RMS s/sqrt(48),
    max s/4. (On a biased map both neighbours are equal and "quarter" is the argmax.)
    """
    if refinement == "none":
        return {"mean": stride / 4, "rms": stride / math.sqrt(12), "max": stride / 2, "bias": 0.0}
    if refinement == "quarter":
        return {"mean": stride / 8, "rms": stride / math.sqrt(48), "max": stride / 4, "bias": 0.0}
    raise ValueError(f"refinement must be 'none' or 'quarter' (DARK has no closed form), got {refinement!r}")


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


def _stats(e: np.ndarray) -> dict[str, float]:
    """mean |e|, RMS, max |e| and mean signed error (``bias``) of errors ``e`` (any shape), float64."""
    return {"mean": float(np.abs(e).mean()), "rms": float(np.sqrt((e**2).mean())), "max": float(np.abs(e).max()),
            "bias": float(e.mean())}


def round_trip(codec, n: int = 100_000, seed: int = 0, margin: float = 0.0) -> dict[str, float]:
    """Encode then decode ``n`` uniformly random sub-pixel keypoints; error statistics in input pixels.

    Keypoints are drawn uniformly over [-0.5 + margin, W - 0.5 - margin) x [-0.5 + margin, H - 0.5 - margin)
    (the input, in the integer-pixel-centre convention), in chunks that bound the label memory to ~64 MB.
    ``margin`` keeps heatmap Gaussians away from the border, where DARK's blur is truncated.

    Returns per-axis errors pooled over x and y (``mean`` |e|, ``rms``, ``max`` |e|, ``bias`` = mean signed
    error) and the same per axis with suffixes ``_x`` and ``_y``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    w, h = codec.input_size
    if not 0 <= margin < min(w, h) / 2:
        raise ValueError(f"margin must be in [0, {min(w, h) / 2}) for input {codec.input_size}, got {margin}")
    rng = np.random.default_rng(seed)
    label = sum(codec.simcc_size) if codec.kind == "simcc" else codec.heatmap_size[0] * codec.heatmap_size[1]
    chunk = max(64, min(50_000, 16_000_000 // label))
    errs = []
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        pts = np.stack([rng.uniform(-0.5 + margin, w - 0.5 - margin, m),
                        rng.uniform(-0.5 + margin, h - 0.5 - margin, m)], -1)[:, None]  # (m, 1, 2) float64
        encoded = codec.encode(pts, np.ones(pts.shape[:2], np.float32))
        decoded, _ = codec.decode(*encoded.targets)
        errs.append((decoded.astype(np.float64) - pts)[:, 0])
    e = np.concatenate(errs)  # (n, 2)
    out = _stats(e)
    for a, axis in enumerate("xy"):
        out.update({f"{key}_{axis}": v for key, v in _stats(e[:, a]).items()})
    return out


STUDY_HEATMAP = (("argmax", "none", "biased"), ("quarter", "quarter", "biased"), ("argmax", "none", "unbiased"),
                 ("quarter", "quarter", "unbiased"), ("DARK", "dark", "unbiased"))


def run_study(out_dir: str | Path | None = None, n: int = 20_000, seed: int = 0, input_size=(64, 64),
              heatmap_grid: int = 32):
    """Theory beside measurement: SimCC argmax over k in STUDY_KS, heatmaps over STUDY_STRIDES with
    argmax, quarter offset (biased and unbiased encoding) and DARK (unbiased).

    SimCC round trips use ``n`` keypoints at ``input_size``. Heatmap round trips use ``n // 4`` keypoints (2-D
    maps cost more) on a ``heatmap_grid`` square map at every stride (input heatmap_grid * s), so that DARK
    has room at stride 8 and stays cheap at stride 1; quantisation in input pixels does not depend on the
    input size. At each stride all heatmap decoders see the same keypoints, kept
    ``(blur_kernel // 2 + 4) * s`` px from the border: DARK's Taylor step reads 2 px around the argmax,
    its zero-padded blur bends the map within kernel // 2 px of the edge, and the argmax can sit 1 px
    beyond the keypoint.
    Returns (rows, Figure); with ``out_dir`` also writes quantization.md, quantization.csv and
    quantization.png there, each whole.
    """
    rows = []
    for k in STUDY_KS:
        th = simcc_theory(k)
        meas = round_trip(SimCCCodec(input_size, k=k, smoothing="gaussian", sigma=2.0), n, seed)
        rows.append(dict(decoder="SimCC argmax", setting=f"k={k:g}", theory_mean=th["mean"], theory_rms=th["rms"],
                         theory_max=th["max"], **meas))
    for s in STUDY_STRIDES:
        size = (heatmap_grid * s, heatmap_grid * s)
        margin = (HeatmapCodec(size, stride=s).blur_kernel // 2 + 4) * s
        for name, ref, enc in STUDY_HEATMAP:
            codec = HeatmapCodec(size, stride=s, sigma=2.0, encoding=enc, refinement=ref)
            meas = round_trip(codec, max(1, n // 4), seed, margin=margin)
            # argmax theory holds for either encoding: a sampled Gaussian peaks at the grid point nearest its
            # centre, so unbiased encoding alone changes nothing until a refinement reads the neighbours
            th = heatmap_theory(s, "quarter" if ref == "quarter" and enc == "unbiased" else "none")
            if ref == "dark":
                th = dict.fromkeys(th, float("nan"))
            rows.append(dict(decoder=f"heatmap {name} ({enc})", setting=f"stride={s}", theory_mean=th["mean"],
                             theory_rms=th["rms"], theory_max=th["max"], **meas))
    fig = study_figure(rows)
    if out_dir is not None:
        out = Path(out_dir)
        files.write_text(out / "quantization.md", study_markdown(rows))
        keys = list(rows[0])
        files.write_text(out / "quantization.csv",
                      "\n".join([",".join(keys)] + [",".join(_csv(r[k]) for k in keys) for r in rows]) + "\n")
        files.save_figure(fig, out / "quantization.png")
    return rows, fig


def _csv(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def study_markdown(rows: list[dict]) -> str:
    """The study as a markdown table: per-axis errors in input pixels, theory beside measurement."""
    def th(v):
        return "" if math.isnan(v) else f"{v:.4f}"

    lines = ["| decoder | setting | mean abs (theory) | mean abs | RMS (theory) | RMS | max (theory) | max | "
             "mean signed |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['decoder']} | {r['setting']} | {th(r['theory_mean'])} | {r['mean']:.4f} | "
                     f"{th(r['theory_rms'])} | {r['rms']:.4f} | {th(r['theory_max'])} | {r['max']:.4f} | "
                     f"{r['bias']:+.4f} |")
    return "\n".join(lines) + "\n"


def study_figure(rows: list[dict]):
    """Two panels: SimCC error vs k, heatmap error vs stride; theory lines, measured markers."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.8))
    a, b = fig.subplots(1, 2)
    sim = [r for r in rows if r["decoder"].startswith("SimCC")]
    ks = [float(r["setting"][2:]) for r in sim]
    kk = np.linspace(1, 4, 50)
    a.plot(kk, 1 / (4 * kk), "k-", label="theory 1/(4k)")
    a.plot(ks, [r["mean"] for r in sim], "o", label="measured mean |e|")
    a.plot(kk, 1 / (2 * kk), "k--", lw=0.8, label="theory max 1/(2k)")
    a.plot(ks, [r["max"] for r in sim], "x", label="measured max |e|")
    a.set(xlabel="k (bins per pixel)", ylabel="error per axis (input px)", title="SimCC")
    a.legend(fontsize=8)
    ss = np.array(STUDY_STRIDES, float)
    b.plot(ss, ss / 4, "k-", label="theory s/4 (argmax)")
    b.plot(ss, ss / 8, "k-.", lw=0.8, label="theory s/8 (quarter, unbiased)")
    names = dict.fromkeys(r["decoder"] for r in rows if not r["decoder"].startswith("SimCC"))
    for name, marker in zip(names, "osv^D*"):
        sel = [r for r in rows if r["decoder"] == name]
        # hollow markers of falling size: several decoders coincide exactly (argmax either encoding,
        # quarter on symmetric biased maps), and all of them must stay visible
        b.plot([float(r["setting"][7:]) for r in sel], [r["mean"] for r in sel], marker + ":", mfc="none",
               ms=9 - 1.2 * list(names).index(name), lw=0.8, label=f"{name}: mean |e|")
    b.set(xlabel="heatmap stride s", ylabel="error per axis (input px)", title="Heatmap (noise-free maps)",
          xscale="log", yscale="log")
    b.set_xticks(ss, [f"{int(s)}" for s in ss])
    b.set_xticks([], minor=True)  # no "3 x 10^0" labels between the strides
    b.legend(fontsize=7)
    fig.tight_layout()
    return fig
