"""Quantisation error of each decoder: the analytic values and Monte-Carlo round trips.

A round trip takes exact sub-pixel coordinates, encodes them with a codec and decodes the labels: what
is lost is the representation's quantisation alone, with no network. Errors are per axis, in input pixels.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import io
from .codecs import HeatmapCodec, SimCCCodec

STUDY_KS = (1.0, 1.5, 2.0, 3.0, 4.0)
STUDY_STRIDES = (1, 2, 4, 8)


def simcc_theory(k: float) -> dict[str, float]:
    """Per-axis argmax error of SimCC with k bins per pixel: uniform on [-1/(2k), 1/(2k)] (input px)."""
    return {"mean": 1 / (4 * k), "rms": 1 / (k * math.sqrt(12)), "max": 1 / (2 * k), "bias": 0.0}


def heatmap_theory(stride: int) -> dict[str, float]:
    """Per-axis argmax error of a heatmap at stride s: uniform on [-s/2, s/2] (input px)."""
    return {"mean": stride / 4, "rms": stride / math.sqrt(12), "max": stride / 2, "bias": 0.0}


def round_trip(codec, n: int = 100_000, seed: int = 0, margin: float = 0.0) -> dict[str, float]:
    """Encode then decode ``n`` uniformly random sub-pixel keypoints; per-axis error statistics.

    Keypoints are drawn over the input [-0.5 + margin, W - 0.5 - margin) (and likewise y), in chunks
    of (rows, 10) to bound memory. ``margin`` keeps heatmap Gaussians away from the border, where DARK's
    blur is truncated. Returns mean |e|, RMS, max |e| and mean signed error (the bias), in input pixels.
    """
    rng = np.random.default_rng(seed)
    w, h = codec.input_size
    errs = []
    # bound the label memory (chunk x label size floats) to about 64 MB
    label = sum(codec.simcc_size) if codec.kind == "simcc" else codec.heatmap_size[0] * codec.heatmap_size[1]
    chunk = max(64, min(20_000, 16_000_000 // label))
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        pts = np.stack([rng.uniform(-0.5 + margin, w - 0.5 - margin, m),
                        rng.uniform(-0.5 + margin, h - 0.5 - margin, m)], -1).astype(np.float32)
        pts = pts.reshape(-1, 1, 2)
        targets = codec.encode(pts, np.ones(pts.shape[:2], np.float32))
        decoded, _ = codec.decode(*tuple(targets)[:-1])
        errs.append((decoded - pts).reshape(-1))
    e = np.concatenate(errs).astype(np.float64)
    return {"mean": float(np.abs(e).mean()), "rms": float(np.sqrt((e**2).mean())), "max": float(np.abs(e).max()),
            "bias": float(e.mean())}


def run_study(out_dir: str | Path | None = None, n: int = 20_000, seed: int = 0, input_size=(64, 64),
              heatmap_input_size=(128, 128)):
    """Theory beside measurement for SimCC over k and heatmaps over stride (argmax, quarter, DARK).

    SimCC runs at ``input_size``; heatmaps at the larger ``heatmap_input_size`` so that even stride 8
    leaves room for the border margin DARK needs (6 heatmap px: its blur kernel's half-width).
    Returns (rows, Figure); with ``out_dir`` also writes quantization.md, quantization.csv and
    quantization.png there, each whole.
    """
    rows = []
    for k in STUDY_KS:
        meas = round_trip(SimCCCodec(input_size, k=k, smoothing="gaussian", sigma=2.0), n, seed)
        rows.append(dict(decoder="SimCC argmax", setting=f"k={k:g}", theory_mean=simcc_theory(k)["mean"], **meas))
    for s in STUDY_STRIDES:
        margin = 6 * s  # DARK's blur needs the Gaussian inside the map
        for ref, enc in (("none", "biased"), ("quarter", "biased"), ("quarter", "unbiased"), ("dark", "unbiased")):
            codec = HeatmapCodec(heatmap_input_size, stride=s, sigma=2.0, encoding=enc, refinement=ref)
            meas = round_trip(codec, max(1, n // 4), seed, margin=margin)  # 2-D maps: fewer samples suffice
            theory = heatmap_theory(s)["mean"] if ref == "none" else float("nan")
            name = {"none": "heatmap argmax", "quarter": "heatmap + quarter", "dark": "heatmap + DARK"}[ref]
            rows.append(dict(decoder=f"{name} ({enc})", setting=f"stride={s}", theory_mean=theory, **meas))
    fig = study_figure(rows)
    if out_dir is not None:
        out = Path(out_dir)
        io.write_text(out / "quantization.md", study_markdown(rows))
        keys = list(rows[0])
        io.write_text(out / "quantization.csv",
                      "\n".join([",".join(keys)] + [",".join(str(r[k]) for k in keys) for r in rows]) + "\n")
        io.save_figure(fig, out / "quantization.png")
    return rows, fig


def study_markdown(rows: list[dict]) -> str:
    """The study as a markdown table (input pixels, per axis)."""
    lines = ["| decoder | setting | theory mean abs | measured mean abs | RMS | max | mean signed |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        th = "" if math.isnan(r["theory_mean"]) else f"{r['theory_mean']:.4f}"
        lines.append(f"| {r['decoder']} | {r['setting']} | {th} | {r['mean']:.4f} | {r['rms']:.4f} | {r['max']:.4f} | "
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
    for name in dict.fromkeys(r["decoder"] for r in rows if not r["decoder"].startswith("SimCC")):
        sel = [r for r in rows if r["decoder"] == name]
        b.plot([float(r["setting"][7:]) for r in sel], [r["mean"] for r in sel], "o-", ms=4, label=name)
    b.set(xlabel="heatmap stride s", ylabel="mean |e| per axis (input px)", title="Heatmap", xscale="log", yscale="log")
    b.set_xticks(ss, [f"{int(s)}" for s in ss])
    b.legend(fontsize=7)
    fig.tight_layout()
    return fig


def register_cli(sub) -> None:
    """``simcc-lab quantization --out DIR [--samples N] [--seed S]``."""
    p = sub.add_parser("quantization", help="theory vs measured quantisation error of each decoder")
    p.add_argument("--out", default="reports/quantization", help="folder for quantization.md/.csv/.png")
    p.add_argument("--samples", type=int, default=20_000, help="random keypoints per decoder")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cli)


def _cli(args) -> int:
    if args.samples < 1:
        raise ValueError(f"--samples must be >= 1, got {args.samples}")
    rows, _ = run_study(args.out, n=args.samples, seed=args.seed)
    print(study_markdown(rows))
    print(f"wrote {Path(args.out) / 'quantization.md'}, .csv and .png")
    return 0
