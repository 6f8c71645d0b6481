"""Benchmark SimCC encode + decode against two references (run by hand; not a test).

Setting: 64 people x 17 keypoints at 256x192 (``input_size=(192, 256)``), k = 2, Gaussian labels
(sigma 4 bins), numpy float32 in and out. Printed, as median times over ``--repeats`` runs:

* encode + decode: ``codec.encode`` then ``codec.decode(x, y, from_logits=False)`` (the labels are
  probabilities; ``from_logits=None`` would add one pass to detect that);
* the floor: ``torch.exp`` over arrays of the output's size (64x17x384 and 64x17x512), outputs
  allocated like encode's: what a dense encode (one exp per label value) cannot go below. The codec
  computes exps only within each label's support window (~1/4 of the values here) and writes zeros
  elsewhere, so it can;
* a straightforward per-keypoint Python loop doing the same encode (numpy, one keypoint at a time),
  checked to produce the same labels;
* heatmap decode with DARK of 64 x 17 maps of 64x48 (stride 4, unbiased Gaussians plus noise), as a
  ratio to the SimCC encode above (target <= 8x: MMPose 1.x takes ~46 ms here, ~25x SimCC's encode),
  beside the whole-map blur it replaces (``codecs.refinement.dark_dense``) and the quarter offset.

Everything is measured twice in one run: with glibc's default allocator settings, where large freed
blocks often go back to the OS and each call page-faults its outputs in afresh (noisy, allocator-bound),
and with freed memory kept for reuse (:func:`keep_freed_memory`, the steady state of a long-running loop).

Usage: ``python benchmarks/bench_codecs.py [--repeats 200] [--threads N] [--device cpu|cuda]``.
Targets: encode + decode <= 2x the floor, encode >= 3x faster than the loop, DARK decode <= 8x encode. On a shared machine
use ``--threads 1``: with more, intra-op threads wait on each other whenever one is descheduled.
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


def dark_timings(kpts: np.ndarray, repeats: int, device: str, sync) -> tuple:
    """(median, min) ms of heatmap decode with DARK, of DARK with whole-map blurs, and with the quarter
    offset, on the maps of ``kpts`` (N, K, 2) at 256x192 (stride 4: 64x48 maps, Gaussians sigma 2, unbiased
    centres, plus N(0, 0.05) noise so that no map is an exact Gaussian)."""
    dark = HeatmapCodec((192, 256), stride=4, encoding="unbiased", refinement="dark")
    quarter = HeatmapCodec((192, 256), stride=4, refinement="quarter")
    maps = dark.encode(kpts).heatmaps
    maps = maps + np.random.default_rng(1).normal(0, 0.05, maps.shape).astype(np.float32)
    hm = torch.from_numpy(maps).to(device) if device == "cuda" else maps

    def dense():
        t = torch.as_tensor(maps, device=device).reshape(-1, *maps.shape[-2:])
        idx = t.reshape(len(t), -1).argmax(-1)
        w = maps.shape[-1]
        return dark_dense(t, (idx % w).double(), torch.div(idx, w, rounding_mode="floor").double(), dark.blur_kernel)

    return (timings_ms(lambda: dark.decode(hm), repeats, sync), timings_ms(dense, max(repeats // 10, 3), sync),
            timings_ms(lambda: quarter.decode(hm), repeats, sync))


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
    if args.device == "cuda":
        kp_in, vis_in = torch.from_numpy(kpts).cuda(), torch.from_numpy(visible).cuda()
    else:
        kp_in, vis_in = kpts, visible

    def encode_decode():
        t = codec.encode(kp_in, vis_in)
        return codec.decode(t.x, t.y, from_logits=False)

    # the floor: exp over the output's size, arguments in exp's fast range (the real labels' own exponents)
    ref = codec.encode(kpts, visible)
    args_x = torch.from_numpy(np.log(np.maximum(ref.x, 1e-37))).to(args.device)
    args_y = torch.from_numpy(np.log(np.maximum(ref.y, 1e-37))).to(args.device)

    lx, ly, lw = loop_encode(codec, kpts, visible)
    same = (np.allclose(lx, ref.x, rtol=1e-5, atol=1e-9) and np.allclose(ly, ref.y, rtol=1e-5, atol=1e-9)
            and np.array_equal(lw, ref.weights))
    print(f"SimCC encode + decode, 64 x 17 keypoints, input 256x192 (Nx, Ny = {codec.simcc_size}), k = 2, "
          f"Gaussian sigma 4; device {args.device}, torch threads {torch.get_num_threads()}, "
          f"median of {args.repeats} (loop: {args.loop_repeats}); loop gives the same labels: {same}")
    for memory in ("glibc default", "freed memory kept"):
        if memory == "freed memory kept" and not keep_freed_memory():
            print("\n(mallopt unavailable: no second table)")
            break
        t_all = timings_ms(encode_decode, args.repeats, sync)
        t_enc = timings_ms(lambda: codec.encode(kp_in, vis_in), args.repeats, sync)
        t_dec = timings_ms(lambda: codec.decode(ref.x, ref.y, from_logits=False), args.repeats, sync)
        t_dec_auto = timings_ms(lambda: codec.decode(ref.x, ref.y), args.repeats, sync)
        t_floor = timings_ms(lambda: (torch.exp(args_x), torch.exp(args_y)), args.repeats, sync)
        t_loop = timings_ms(lambda: loop_encode(codec, kpts, visible), args.loop_repeats)
        floor = t_floor[0]
        t_dark, t_dense, t_quarter = dark_timings(kpts, args.repeats, args.device, sync)
        rows = [
            ("encode + decode", t_all, f"{t_all[0] / floor:.2f}x the floor (target <= 2x)"),
            ("  encode", t_enc, f"{t_enc[0] / floor:.2f}x the floor"),
            ("  decode (from_logits=False)", t_dec, f"{t_dec[0] / floor:.2f}x the floor"),
            ("  decode (from_logits=None, auto)", t_dec_auto, f"{t_dec_auto[0] / floor:.2f}x the floor"),
            ("floor: exp over the outputs", t_floor, "1.00x"),
            ("per-keypoint Python loop encode", t_loop,
             f"vectorised encode is {t_loop[0] / t_enc[0]:.1f}x faster (target >= 3x)"),
            ("heatmap decode + DARK (64x48 maps)", t_dark,
             f"DARK ratio {t_dark[0] / t_enc[0]:.2f}x the SimCC encode (target <= 8x)"),
            ("  DARK with whole-map blurs", t_dense, f"{t_dense[0] / t_enc[0]:.2f}x the SimCC encode"),
            ("heatmap decode + quarter offset", t_quarter, f"{t_quarter[0] / t_enc[0]:.2f}x the SimCC encode"),
        ]
        print(f"\nmemory: {memory}")
        print(f"| {'step':34s} | median ms | min ms | note (ratios of medians) |")
        print(f"|{'-' * 36}|-----------|--------|------|")
        for name, (med, low), note in rows:
            print(f"| {name:34s} | {med:9.3f} | {low:6.3f} | {note} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
