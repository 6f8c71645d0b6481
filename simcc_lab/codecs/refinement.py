"""Heatmap refinements: where between heatmap pixels a keypoint sits, after the argmax.

``REFINEMENTS`` (in :mod:`simcc_lab.codecs.base`) names them: "none" (the argmax), "quarter"
(:func:`quarter_offset`, MSRA/SimpleBaseline) and "dark" (:func:`dark`, DARK: blur, log, one Newton step).
Maps are ``(M, h, w)``; argmax positions ``ix, iy`` ``(M,)`` float64 heatmap px; each function returns the
refined ``(ix, iy)`` float64 heatmap px.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def value_at(maps, iy, ix):
    """``maps[m, iy[m], ix[m]]`` for every map m, indices clamped into the map. Maps (M, h, w) and
    whole-number positions (M,) as torch tensors, or all three as numpy arrays."""
    h, w = maps.shape[-2:]
    if isinstance(maps, np.ndarray):
        flat = np.clip(iy.astype(np.int64), 0, h - 1) * w + np.clip(ix.astype(np.int64), 0, w - 1)
        return maps.reshape(len(maps), h * w)[np.arange(len(maps)), flat]
    m = torch.arange(maps.shape[0], device=maps.device)
    return maps[m, iy.long().clamp(0, h - 1), ix.long().clamp(0, w - 1)]


def quarter_offset(maps, ix, iy):
    """MSRA's quarter offset: 0.25 px toward the higher neighbour, with MMPose 1.x's border rule: the x
    offset only where 1 < ix < w - 1 (and iy > 0), the y offset only where 1 < iy < h - 1 (and ix > 0);
    so not at column or row 1 either, although both neighbours exist there. (HRNet moves both axes or
    neither: only where 1 < ix < w - 1 and 1 < iy < h - 1.) Torch tensors, or numpy arrays (the codec's CPU
    path: the same numbers with less per-call overhead)."""
    h, w = maps.shape[-2:]
    xp = np if isinstance(maps, np.ndarray) else torch
    dx = value_at(maps, iy, ix + 1) - value_at(maps, iy, ix - 1)  # float32 differences, as the maps
    dy = value_at(maps, iy + 1, ix) - value_at(maps, iy - 1, ix)
    sx, sy = (xp.sign(d.astype(np.float64) if xp is np else d.double()) for d in (dx, dy))
    ix_new = ix + xp.where((ix > 1) & (ix < w - 1) & (iy > 0), 0.25 * sx, xp.zeros_like(sx))
    iy = iy + xp.where((iy > 1) & (iy < h - 1) & (ix > 0), 0.25 * sy, xp.zeros_like(sy))
    return ix_new, iy


def blur_kernel_1d(blur_kernel: int, device) -> torch.Tensor:
    """DARK's blur taps (k,) float64 for an odd kernel size k: ``g_t = exp(-t^2 / (2 sigma^2))`` at
    t = -(k-1)/2 .. (k-1)/2, normalised to sum 1, with OpenCV's sigma for a kernel size,
    ``sigma = 0.3 ((k - 1) / 2 - 1) + 0.8``.

    That is OpenCV's ``getGaussianKernel(k, 0)`` for k = 1 and every k >= 9 (11 at 64x48 heatmaps), but
    not for k = 3, 5, 7, where OpenCV uses fixed tables instead of the formula: k = 3 gives
    [0.2390, 0.5220, 0.2390] here, [1/4, 1/2, 1/4] in OpenCV (tests/test_decode_refinement.py). Results
    already computed depend on these taps (DARK at 64x64 and 128x128 inputs: 16x16 and 32x32 heatmaps,
    kernels 3 and 7 by default), so they are kept."""
    k = blur_kernel
    sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8  # OpenCV's sigma for a given kernel size
    t = torch.arange(k, dtype=torch.float64, device=device) - k // 2
    g = torch.exp(-t**2 / (2 * sigma**2))
    return g / g.sum()


def blur(maps: torch.Tensor, blur_kernel: int) -> torch.Tensor:
    """DARK's blur of every map: separable Gaussian, zero border (DARK pads with zeros before
    ``cv2.GaussianBlur``), rescaled so each map keeps its maximum. (M, h, w) -> (M, h, w) float32.
    Used where a map needs its whole blurred maximum (see :func:`dark`)."""
    k = blur_kernel
    g = blur_kernel_1d(k, maps.device).float()
    m = maps.float()[:, None]
    b = F.conv2d(m, g.view(1, 1, 1, k), padding=(0, k // 2))
    b = F.conv2d(b, g.view(1, 1, k, 1), padding=(k // 2, 0))[:, 0]
    peak = maps.float().amax(dim=(-2, -1), keepdim=True)
    return b * peak / b.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-12)


def blurred_patch(maps: torch.Tensor, ix: torch.Tensor, iy: torch.Tensor, blur_kernel: int) -> torch.Tensor:
    """The blurred maps (zero border, not rescaled) on the 5 x 5 pixels around each argmax:
    (M, h, w), argmax ix, iy (M,) -> (M, 5, 5) float64, ``patch[m, 2 + dy, 2 + dx]``.

    Only a window of 2r + 5 pixels a side (r = blur_kernel // 2) around each argmax is read (zeros
    outside the map), and the separable blur is two small matrix products on it: ~1/100 of the work
    of blurring whole maps at 64x48 (benchmarks/bench_codecs.py)."""
    h, w = maps.shape[-2:]
    r = blur_kernel // 2
    n = 2 * r + 5
    off = torch.arange(n, device=maps.device) - (r + 2)
    rows = iy.long()[:, None] + off  # (M, n)
    cols = ix.long()[:, None] + off
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    flat = (rows.clamp(0, h - 1) * w)[:, :, None] + cols.clamp(0, w - 1)[:, None, :]  # (M, n, n)
    win = torch.gather(maps.reshape(len(maps), h * w), 1, flat.reshape(len(maps), n * n)).reshape(-1, n, n)
    win = win.double() * inside
    g = blur_kernel_1d(blur_kernel, maps.device)
    band = torch.stack([F.pad(g, (i, 4 - i)) for i in range(5)])  # (5, n): output p reads window p..p+2r
    # band @ win[m] @ band.T for every m as two large matrix products: a batch of M tiny (5 x n) products
    # costs ~1 us each in the batched kernel
    m = len(win)
    cols = band @ win.transpose(0, 1).reshape(n, m * n)  # (5, M n): blurred down the columns
    out = cols.reshape(5 * m, n) @ band.T  # (5 M, 5): then along the rows
    return out.reshape(5, m, 5).transpose(0, 1)


def dark(maps: torch.Tensor, ix: torch.Tensor, iy: torch.Tensor, blur_kernel: int, peak: torch.Tensor | None = None):
    """DARK: blur, log, one Newton step ``-H^-1 g`` from the argmax, with the gradient and Hessian of the
    log map from central differences (step 1 for g and the mixed term, step 2 for the diagonal, as DARK).
    Applied, as in DARK, where the argmax is at least 2 px from the border, and only where the Hessian is
    negative definite (a maximum; DARK checks det != 0 alone).

    DARK's log map is ``log(max(blur * peak / max(blur), 1e-10))``. The rescale adds a constant per map,
    which the differences cancel, so only the 5 x 5 blurred pixels around the argmax are computed
    (:func:`blurred_patch`) unless the 1e-10 floor could bite: blurred values are at most the map's
    peak, so the floor is inactive wherever every patch value is >= 1e-10 (with margin) and the peak is
    positive. The other maps (e.g. all zero or negative) take the whole-map blur (:func:`dark_dense`).
    Both agree to ~1e-6 heatmap px (float32 vs float64 logs; tests/test_decode_refinement.py).
    ``peak`` (M,): each map's maximum if the caller has it (the decode's argmax values), saving a pass."""
    patch = blurred_patch(maps, ix, iy, blur_kernel)
    if peak is None:
        peak = maps.flatten(1).amax(-1) if len(maps) else maps.new_zeros(0)
    local = (patch.flatten(1).amin(-1) >= 2e-10) & (peak > 0)
    logp = torch.log(patch.clamp_min(1e-300))
    out_x, out_y = newton_step(lambda dy, dx: logp[:, 2 + dy, 2 + dx], maps.shape[-2:], ix, iy)
    if not bool(local.all()):
        rest = torch.nonzero(~local).reshape(-1)
        dx, dy = dark_dense(maps[rest], ix[rest], iy[rest], blur_kernel)
        out_x, out_y = out_x.index_put((rest,), dx), out_y.index_put((rest,), dy)
    return out_x, out_y


def dark_dense(maps: torch.Tensor, ix: torch.Tensor, iy: torch.Tensor, blur_kernel: int):
    """:func:`dark` on whole-map blurs (DARK's own order of operations, float32 blur and log)."""
    logm = torch.log(blur(maps, blur_kernel).clamp_min(1e-10)).double()
    return newton_step(lambda dy, dx: value_at(logm, iy + dy, ix + dx), maps.shape[-2:], ix, iy)


def newton_step(at, size, ix, iy):
    """One Newton step on log-map values ``at(dy, dx)`` (M,) around the argmax (ix, iy) (M,) of maps of
    ``size`` (h, w); see :func:`dark`. Returns the refined (ix, iy) float64, heatmap px."""
    h, w = size
    c = at(0, 0)
    gx, gy = 0.5 * (at(0, 1) - at(0, -1)), 0.5 * (at(1, 0) - at(-1, 0))
    hxx = 0.25 * (at(0, 2) - 2 * c + at(0, -2))
    hyy = 0.25 * (at(2, 0) - 2 * c + at(-2, 0))
    hxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
    det = hxx * hyy - hxy**2
    good = (ix >= 2) & (ix <= w - 3) & (iy >= 2) & (iy <= h - 3) & (det > 0) & (hxx < 0)
    safe = torch.where(good, det, torch.ones_like(det))
    ox = -(hyy * gx - hxy * gy) / safe
    oy = -(hxx * gy - hxy * gx) / safe
    zero = torch.zeros_like(ox)
    return ix + torch.where(good, ox, zero), iy + torch.where(good, oy, zero)
