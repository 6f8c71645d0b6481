"""Benchmark every codec op against re-implemented MMPose-style references and simcc_lab's own limits (run by
hand; not a test).

Setting: 64 people x 17 keypoints at 256x192 (``input_size=(192, 256)``), numpy float32 in and out; SimCC
k = 2, Gaussian labels (sigma 4 bins): 384 + 512 bins; heatmaps stride 4 (64x48), sigma 2. Printed, as
median times over ``--repeats`` runs, per op: simcc_lab's time, a reference and a floor.

* The references are small numpy re-implementations, written here, of what MMPose 1.x's codecs do
  (MMPose is not installed and not needed): SimCC decode = per axis an argmax and a second pass for the
  maximum, raw maxima as scores (no softmax); heatmap decode = argmax plus a max pass (and, for the
  quarter offset, a Python loop over keypoints); encodes = a Python loop over keypoints; DARK = whole-map
  blurs (:func:`simcc_lab.codecs.refinement.dark_dense`, vectorised). They
  say how far each op is from the straightforward form, not MMPose's own timings.
* The floors are what an op cannot go below in this process: for a decode, one ``np.argmax`` pass over its
  inputs (each value must be read); with softmax scores also one ``torch.exp`` over the logits (each
  logit's exp enters its row's sum); for the SimCC encode, ``torch.exp`` over arrays of the output's size
  (a dense encode's cost; the codec computes exps only in each label's support window, ~1/4 of them, so it
  can beat it); for the heatmap encode, one pass writing its output (``torch.full``).

Everything is measured twice in one run: with glibc's default allocator settings, where large freed
blocks can go back to the OS and be page-faulted in afresh on the next call, and with freed memory kept
for reuse (:func:`keep_freed_memory`, what ``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` give): an op
whose times differ between the two is allocator-bound.

Usage: ``python benchmarks/bench_codecs.py [--repeats 200] [--threads N] [--device cpu|cuda]``. Targets:
encode >= 5x its loop and independent of the allocator; DARK decode <= 8x the SimCC encode. On a shared
machine use ``--threads 1``: with more, intra-op threads wait on each other whenever one is descheduled.
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch

from simcc_lab.codecs import HeatmapCodec, SimCCCodec
from simcc_lab.codecs.refinement import dark_dense


def timings_ms(fn, repeats: int, sync=lambda: None) -> tuple[float, float]:
    """(median, min) wall time of ``fn()`` in milliseconds, after two warm-up calls."""
    for _ in range(2):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times), 1e3 * min(times)


def loop_encode(codec: SimCCCodec, kpts: np.ndarray, visible: np.ndarray):
    """The same Gaussian encode one keypoint at a time: what the vectorised codec replaces."""
    (nx, ny), (sx, sy), k = codec.simcc_size, codec.sigma, codec.k
    w, h = codec.input_size
    n, kk = visible.shape
    x = np.zeros((n, kk, nx), np.float32)
    y = np.zeros((n, kk, ny), np.float32)
    weights = np.zeros((n, kk), np.float32)
    bx, by = np.arange(nx, dtype=np.float64), np.arange(ny, dtype=np.float64)
    for i in range(n):
        for j in range(kk):
            u, v = float(kpts[i, j, 0]), float(kpts[i, j, 1])
            if visible[i, j] <= 0 or not (-0.5 <= u < w - 0.5 and -0.5 <= v < h - 0.5):
                continue
            mu_x, mu_y = (u + 0.5) * k - 0.5, (v + 0.5) * k - 0.5
            x[i, j] = np.exp(-((bx - mu_x) ** 2) / (2 * sx**2)) / (sx * math.sqrt(2 * math.pi))
            y[i, j] = np.exp(-((by - mu_y) ** 2) / (2 * sy**2)) / (sy * math.sqrt(2 * math.pi))
            weights[i, j] = 1.0
    return x, y, weights


def ref_simcc_decode(x: np.ndarray, y: np.ndarray, k: float):
    """MMPose-style SimCC decode (re-implemented): x (N, K, Nx), y (N, K, Ny) -> keypoints (N, K, 2) = bin / k,
    scores (N, K) = min of the two raw maxima (-1 keypoints where <= 0). Two passes per axis."""
    lead = x.shape[:-1]
    xr, yr = x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1])
    kpts = np.stack([xr.argmax(1), yr.argmax(1)], -1).astype(np.float32) / k
    scores = np.minimum(xr.max(1), yr.max(1))
    kpts[scores <= 0] = -1
    return kpts.reshape(*lead, 2), scores.reshape(lead)


def ref_heatmap_decode(maps: np.ndarray, stride: int, quarter: bool):
    """MMPose-style heatmap decode (re-implemented): argmax and a max pass over maps (N, K, h, w), then, for
    the quarter offset, 0.25 px toward the higher neighbour one keypoint at a time. -> keypoints (N, K, 2)
    input px, scores (N, K)."""
    lead, (h, w) = maps.shape[:-2], maps.shape[-2:]
    flat = maps.reshape(-1, h * w)
    idx, scores = flat.argmax(1), flat.max(1)
    kpts = np.stack([idx % w, idx // w], -1).astype(np.float32)
    kpts[scores <= 0] = -1
    if quarter:
        for i, (u, v) in enumerate(kpts.astype(int)):
            hm = flat[i].reshape(h, w)
            if 1 < u < w - 1 and 0 < v < h:
                kpts[i, 0] += 0.25 * np.sign(hm[v, u + 1] - hm[v, u - 1])
            if 1 < v < h - 1 and 0 < u < w:
                kpts[i, 1] += 0.25 * np.sign(hm[v + 1, u] - hm[v - 1, u])
    return (kpts * stride).reshape(*lead, 2), scores.reshape(lead)


def loop_heatmap_encode(codec: HeatmapCodec, kpts: np.ndarray, visible: np.ndarray):
    """MMPose-style heatmap encode (re-implemented): one keypoint at a time, a peak-1 Gaussian on the
    3-sigma square around its centre round(x / s) written into zeros. -> heatmaps (N, K, h, w), weights."""
    (w, h), s, sigma = codec.heatmap_size, codec.stride, codec.sigma
    n, kk = visible.shape
    hm = np.zeros((n, kk, h, w), np.float32)
    weights = np.zeros((n, kk), np.float32)
    r = int(3 * sigma)
    t = np.arange(-r, r + 1, dtype=np.float32)
    patch = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * sigma**2))
    for i in range(n):
        for j in range(kk):
            cx, cy = int(kpts[i, j, 0] / s + 0.5), int(kpts[i, j, 1] / s + 0.5)
            if visible[i, j] <= 0 or not (0 <= cx < w and 0 <= cy < h):
                continue
            x0, x1, y0, y1 = max(cx - r, 0), min(cx + r + 1, w), max(cy - r, 0), min(cy + r + 1, h)
            hm[i, j, y0:y1, x0:x1] = patch[y0 - cy + r:y1 - cy + r, x0 - cx + r:x1 - cx + r]
            weights[i, j] = 1.0
    return hm, weights


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse (no heap trimming, no mmap per large block); True if it
    took. With glibc's defaults, encode + decode (~4 MB of outputs in blocks of several sizes) often hands
    its memory back to the OS and page-faults it in again on the next call, which costs more than the
    arithmetic; a long-running process (a training loop) usually sits in the reuse regime."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    return bool(libc.mallopt(m_mmap_threshold, 32 << 20)) and bool(libc.mallopt(m_trim_threshold, 1 << 30))


def op_rows(kpts, visible, repeats: int, loop_repeats: int, device: str, sync) -> list:
    """(op, simcc_lab (median, min) ms, reference name and times, floor name and times) for every codec op."""
    simcc = SimCCCodec((192, 256), k=2, smoothing="gaussian", sigma=4.0)
    heat = {ref: HeatmapCodec((192, 256), stride=4, encoding="unbiased", refinement=ref)
            for ref in ("none", "quarter", "dark")}
    on_device = (lambda a: torch.from_numpy(a).to(device)) if device == "cuda" else (lambda a: a)
    kp_in, vis_in = on_device(kpts), on_device(visible)
    labels = simcc.encode(kpts, visible)
    rng = np.random.default_rng(1)
    # logits like a network's: the labels' log plus noise, a few tens between the peak and the tails
    logits = [(np.log(np.maximum(a, 1e-12)) * 0.5 + rng.normal(0, 1, a.shape)).astype(np.float32)
              for a in (labels.x, labels.y)]
    maps = heat["none"].encode(kpts, visible).heatmaps
    maps = maps + rng.normal(0, 0.05, maps.shape).astype(np.float32)  # no map an exact Gaussian
    x_in, y_in, lx_in, ly_in, maps_in = map(on_device, (labels.x, labels.y, *logits, maps))
    exp_args = [torch.from_numpy(np.log(np.maximum(a, 1e-37))).to(device) for a in (labels.x, labels.y)]
    t = lambda fn, r=repeats: timings_ms(fn, r, sync)  # noqa: E731
    argmax_simcc = t(lambda: (labels.x.argmax(-1), labels.y.argmax(-1)))
    argmax_maps = t(lambda: maps.reshape(-1, maps.shape[-2] * maps.shape[-1]).argmax(-1))
    lt = [torch.from_numpy(a) for a in logits]
    exp_logits = t(lambda: (torch.exp(lt[0]), torch.exp(lt[1])))
    dense_dark = heat["dark"]

    def whole_map_dark():
        m = torch.as_tensor(maps, device=device).reshape(-1, *maps.shape[-2:])
        idx = m.reshape(len(m), -1).argmax(-1)
        w = maps.shape[-1]
        return dark_dense(m, (idx % w).double(), torch.div(idx, w, rounding_mode="floor").double(),
                          dense_dark.blur_kernel)

    return [
        ("SimCC encode", t(lambda: simcc.encode(kp_in, vis_in)),
         ("keypoint loop", t(lambda: loop_encode(simcc, kpts, visible), loop_repeats)),
         ("exp over outputs", t(lambda: (torch.exp(exp_args[0]), torch.exp(exp_args[1]))))),
        ("SimCC decode, probabilities", t(lambda: simcc.decode(x_in, y_in, from_logits=False)),
         ("argmax + max", t(lambda: ref_simcc_decode(labels.x, labels.y, 2.0))), ("argmax pass", argmax_simcc)),
        ("SimCC decode, auto-detected", t(lambda: simcc.decode(x_in, y_in)),
         ("argmax + max", t(lambda: ref_simcc_decode(labels.x, labels.y, 2.0))), ("argmax pass", argmax_simcc)),
        ("SimCC decode, logits, softmax score", t(lambda: simcc.decode(lx_in, ly_in, from_logits=True)),
         ("argmax + max, raw", t(lambda: ref_simcc_decode(*logits, 2.0))),
         ("argmax + exp", (argmax_simcc[0] + exp_logits[0], argmax_simcc[1] + exp_logits[1]))),
        ("heatmap encode", t(lambda: heat["none"].encode(kp_in, vis_in)),
         ("keypoint loop", t(lambda: loop_heatmap_encode(heat["none"], kpts, visible), loop_repeats)),
         ("write the output", t(lambda: torch.full(maps.shape, 1.0, device=device)))),
        ("heatmap decode", t(lambda: heat["none"].decode(maps_in)),
         ("argmax + max", t(lambda: ref_heatmap_decode(maps, 4, False))), ("argmax pass", argmax_maps)),
        ("heatmap decode + quarter offset", t(lambda: heat["quarter"].decode(maps_in)),
         ("argmax + max + loop", t(lambda: ref_heatmap_decode(maps, 4, True), loop_repeats)),
         ("argmax pass", argmax_maps)),
        ("heatmap decode + DARK", t(lambda: heat["dark"].decode(maps_in)),
         ("whole-map blurs", t(whole_map_dark, loop_repeats)), ("argmax pass", argmax_maps)),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--loop-repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda (torch tensors in and out)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    codec = SimCCCodec((192, 256), k=2, smoothing="gaussian", sigma=4.0)
    rng = np.random.default_rng(0)
    kpts = np.stack([rng.uniform(-0.5, 191.5, (64, 17)), rng.uniform(-0.5, 255.5, (64, 17))], -1).astype(np.float32)
    visible = np.ones((64, 17), np.float32)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    ref = codec.encode(kpts, visible)
    lx, ly, lw = loop_encode(codec, kpts, visible)
    same = (np.allclose(lx, ref.x, rtol=1e-5, atol=1e-9) and np.allclose(ly, ref.y, rtol=1e-5, atol=1e-9)
            and np.array_equal(lw, ref.weights))
    print(f"Codec ops, 64 x 17 keypoints, input 256x192; SimCC (Nx, Ny) = {codec.simcc_size}, k = 2, Gaussian "
          f"sigma 4; heatmaps 64x48, sigma 2; device {args.device}, torch threads {torch.get_num_threads()}, "
          f"median of {args.repeats} (loops: {args.loop_repeats}); the encode loop gives the same labels: {same}")
    print("ref: a numpy re-implementation of MMPose 1.x's approach (not MMPose itself); floor: simcc_lab's own "
          "limit for the op (see the module docstring)")
    encode_ms = {}
    for memory in ("glibc default", "freed memory kept"):
        if memory == "freed memory kept" and not keep_freed_memory():
            print("\n(mallopt unavailable: no second table)")
            break
        rows = op_rows(kpts, visible, args.repeats, args.loop_repeats, args.device, sync)
        encode_ms[memory] = rows[0][1][0]
        print(f"\nmemory: {memory}")
        print(f"| {'op':36s} | median ms | min ms | ref: what               |  ref ms | ref / op | "
              f"floor: what       | floor ms | op / floor |")
        print(f"|{'-' * 38}|-----------|--------|-------------------------|---------|----------|"
              f"-------------------|----------|------------|")
        for name, (med, low), (rname, (rmed, _)), (fname, (fmed, _)) in rows:
            print(f"| {name:36s} | {med:9.3f} | {low:6.3f} | {rname:23s} | {rmed:7.3f} | {rmed / med:7.1f}x | "
                  f"{fname:17s} | {fmed:8.3f} | {med / fmed:9.2f}x |")
        dark_ratio = rows[-1][1][0] / rows[0][1][0]
        print(f"DARK decode / SimCC encode: {dark_ratio:.2f}x (target <= 8x)")
    if len(encode_ms) == 2:
        print(f"\nSimCC encode, glibc default / freed memory kept: "
              f"{encode_ms['glibc default'] / encode_ms['freed memory kept']:.2f}x (allocator-independent: ~1x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
