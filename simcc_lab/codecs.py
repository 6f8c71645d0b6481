"""Codecs: the one place that knows a representation. ``encode`` makes training targets from input-pixel
keypoints, ``decode`` turns network outputs back into input-pixel keypoints and scores.

Conventions (docs/architecture.md): pixel centres at integer coordinates, so an input of width W spans
[-0.5, W - 0.5). SimCC bin j sits at input x = (j + 0.5) / k - 0.5: the Nx = kW bins tile the input
exactly, and a keypoint's bin position is mu = (x + 0.5) k - 0.5 (the official mu = x k written for pixel
centres; identical for k = 1). Heatmap pixel j sits at input pixel j * s (MSRA). numpy in gives numpy out, torch in gives torch
out (same device); any leading batch dims; no Python loop per person or keypoint.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from . import smoothing as S


class SimCCTargets(NamedTuple):
    """SimCC training targets: x labels (N,K,Nx), y labels (N,K,Ny), keypoint weights (N,K)."""

    x: object
    y: object
    weights: object


class HeatmapTargets(NamedTuple):
    """Heatmap training targets: heatmaps (N,K,h,w) with peak 1, keypoint weights (N,K)."""

    heatmaps: object
    weights: object


def _torch(a, dtype=torch.float32):
    """(tensor, given_as_numpy)."""
    if isinstance(a, torch.Tensor):
        return a.to(dtype), False
    return torch.as_tensor(np.asarray(a), dtype=dtype), True


def _back(t: torch.Tensor, as_numpy: bool):
    return t.detach().cpu().numpy() if as_numpy else t


def _size(input_size) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in input_size)
    except (TypeError, ValueError):
        raise ValueError(f"input_size must be a (W, H) pair of positive ints, got {input_size!r}") from None
    if w <= 0 or h <= 0:
        raise ValueError(f"input_size must be positive (W, H), got {input_size!r}")
    return w, h


def _shift_last(t: torch.Tensor, d: float) -> torch.Tensor:
    """``out[..., i] = t[..., i + d]`` along the last axis, linear interpolation for fractional d, edge
    values replicated outside."""
    n = t.shape[-1]
    pos = (torch.arange(n, device=t.device, dtype=torch.float32) + d).clamp(0, n - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=n - 1)
    frac = (pos - lo.float()).to(t.dtype)
    return t[..., lo] * (1 - frac) + t[..., hi] * frac


def _probs(t: torch.Tensor, from_logits: bool | None) -> torch.Tensor:
    """Softmax over the last axis for logits; probabilities (all values in [0, 1]) pass through when
    ``from_logits`` is None (auto)."""
    if from_logits is None:
        from_logits = bool(t.numel()) and not (float(t.min()) >= 0.0 and float(t.max()) <= 1.0)
    return torch.softmax(t.float(), dim=-1) if from_logits else t.float()


class SimCCCodec:
    """SimCC: one classification over Nx = round(k W) x-bins and one over Ny = round(k H) y-bins.

    Args:
        input_size: (W, H) of the network input, pixels.
        k: splitting factor (bins per pixel), any real >= 1.
        smoothing: "none" (one-hot), "equal" (1 - eps / eps/(N-1)), "gaussian" or "laplace".
        sigma: Gaussian sigma or Laplace scale b, in bins; a scalar or (sigma_x, sigma_y).
        eps: equal smoothing, in [0, 1).
        centre: "continuous" (official, mu = x k) or "rounded" (MMPose, nearest bin).
        normalize: Gaussian/Laplace as normalised pdfs (sum ~1) rather than peak 1.
        score: keypoint confidence from the two axis maxima, "min" or "mean".
    """

    kind = "simcc"

    def __init__(self, input_size=(192, 256), k: float = 2.0, smoothing: str = "gaussian", sigma=(4.0, 4.0),
                 eps: float = 0.1, centre: str = "continuous", normalize: bool = True, score: str = "min"):
        self.input_size = _size(input_size)
        if not (isinstance(k, (int, float)) and math.isfinite(k) and k >= 1):
            raise ValueError(f"k must be a real number >= 1, got {k!r}")
        if smoothing not in S.SHAPES:
            raise ValueError(f"smoothing must be one of {list(S.SHAPES)}, got {smoothing!r}")
        sig = (float(sigma), float(sigma)) if np.isscalar(sigma) else tuple(float(s) for s in sigma)
        if len(sig) != 2 or not all(math.isfinite(s) and s > 0 for s in sig):
            raise ValueError(f"sigma must be > 0 (a scalar or a (sigma_x, sigma_y) pair, in bins), got {sigma!r}")
        if not 0 <= eps < 1:
            raise ValueError(f"eps must be in [0, 1), got {eps!r}")
        if centre not in ("continuous", "rounded"):
            raise ValueError(f"centre must be 'continuous' or 'rounded', got {centre!r}")
        if score not in ("min", "mean"):
            raise ValueError(f"score must be 'min' or 'mean', got {score!r}")
        self.k, self.smoothing, self.sigma, self.eps = float(k), smoothing, sig, float(eps)
        self.centre, self.normalize, self.score = centre, bool(normalize), score
        w, h = self.input_size
        self.simcc_size = (int(round(self.k * w)), int(round(self.k * h)))

    def __repr__(self) -> str:
        return (f"SimCCCodec(input_size={self.input_size}, k={self.k:g}, smoothing={self.smoothing!r}, "
                f"sigma={self.sigma}, eps={self.eps:g}, centre={self.centre!r}) -> (Nx, Ny)={self.simcc_size}")

    def _labels(self, mu: torch.Tensor, n: int, sigma: float) -> torch.Tensor:
        bins = torch.arange(n, dtype=torch.float32, device=mu.device)
        if self.smoothing == "none":
            return S.one_hot(bins, mu)
        if self.smoothing == "equal":
            return S.equal(bins, mu, self.eps)
        return S.SHAPES[self.smoothing](bins, mu, sigma, self.normalize)

    def encode(self, keypoints, visible) -> SimCCTargets:
        """Targets for keypoints (..., K, 2) in input pixels with visibility (..., K).

        Invisible (v <= 0), non-finite or outside-the-input keypoints get weight 0 and all-zero labels.
        Returns float32 x (..., K, Nx), y (..., K, Ny), weights (..., K).
        """
        kp, as_np = _torch(keypoints)
        vis, _ = _torch(visible)
        kp, vis = kp.to(vis.device) if vis.device != kp.device else kp, vis.to(kp.device)
        nx, ny = self.simcc_size
        pos = (kp + 0.5) * self.k - 0.5  # bin positions, (..., K, 2)
        ok = torch.isfinite(pos).all(-1) & (vis > 0)
        w_in, h_in = self.input_size
        ok &= (kp[..., 0] >= -0.5) & (kp[..., 0] < w_in - 0.5) & (kp[..., 1] >= -0.5) & (kp[..., 1] < h_in - 0.5)
        pos = torch.where(ok[..., None], pos, torch.zeros_like(pos))  # no NaN reaches exp()
        if self.centre == "rounded":
            pos = torch.floor(pos + 0.5)
        w = ok.float()
        x = self._labels(pos[..., 0], nx, self.sigma[0]) * w[..., None]
        y = self._labels(pos[..., 1], ny, self.sigma[1]) * w[..., None]
        return SimCCTargets(_back(x, as_np), _back(y, as_np), _back(w, as_np))

    def decode(self, x, y, from_logits: bool | None = None):
        """Keypoints (..., K, 2) in input pixels and scores (..., K) from x (..., K, Nx), y (..., K, Ny).

        The location is the argmax bin's position, (j + 0.5) / k - 0.5 (the same for logits and
        probabilities). Scores are the min or mean
        of the two axis maxima of the probabilities: logits go through softmax (``from_logits=None``
        decides by the values: all in [0, 1] counts as probabilities).
        """
        xt, as_np = _torch(x)
        yt, _ = _torch(y)
        px, py = _probs(xt, from_logits), _probs(yt.to(xt.device), from_logits)
        sx, ix = px.max(-1)
        sy, iy = py.max(-1)
        kpts = (torch.stack([ix.float(), iy.float()], -1) + 0.5) / self.k - 0.5
        scores = torch.minimum(sx, sy) if self.score == "min" else (sx + sy) / 2
        return _back(kpts, as_np), _back(scores, as_np)

    def flip_outputs(self, outputs, flip_index, shift: bool = True) -> tuple:
        """Map outputs (x, y) of the horizontally flipped image back to the unflipped frame.

        A flip maps input x to W - 1 - x, i.e. bin position mu to Nx - 1 - mu because the bins tile the
        input: reversing the x vector is exact, as in the official code. ``shift`` is accepted for a common
        interface with :class:`HeatmapCodec` and has nothing to do here. Left/right keypoints swap via
        ``flip_index`` (K,).
        """
        x, y = outputs
        xt, as_np = _torch(x)
        yt, _ = _torch(y)
        idx = torch.as_tensor(np.asarray(flip_index), dtype=torch.long, device=xt.device)
        xt = xt.flip(-1)
        return _back(xt[..., idx, :], as_np), _back(yt[..., idx, :], as_np)


class HeatmapCodec:
    """MSRA/SimpleBaseline heatmaps: a peak-1 Gaussian per keypoint on a grid of stride s.

    Args:
        input_size: (W, H) of the network input, pixels.
        stride: input pixels per heatmap pixel (W and H must be divisible by it), or
        heatmap_size: (w, h) instead of stride.
        sigma: Gaussian sigma in heatmap pixels.
        encoding: "biased" (centre int(x/s + 0.5), MSRA) or "unbiased" (continuous centre, DARK).
        refinement: decoding after argmax: "none", "quarter" (0.25 px toward the higher neighbour) or
            "dark" (blur, log, one Newton step on the 2-D Taylor expansion).
        blur_kernel: DARK's Gaussian blur kernel size (odd), heatmap pixels.
    """

    kind = "heatmap"

    def __init__(self, input_size=(192, 256), stride: int | None = 4, heatmap_size=None, sigma: float = 2.0,
                 encoding: str = "biased", refinement: str = "none", blur_kernel: int = 11):
        self.input_size = _size(input_size)
        w_in, h_in = self.input_size
        if heatmap_size is not None:
            hw, hh = _size(heatmap_size)
            if w_in % hw or h_in % hh or w_in // hw != h_in // hh:
                raise ValueError(f"heatmap_size {heatmap_size} must divide input_size {self.input_size} by one stride")
            stride = w_in // hw
        if stride is None or int(stride) != stride or stride < 1:
            raise ValueError(f"stride must be a positive integer, got {stride!r}")
        stride = int(stride)
        if w_in % stride or h_in % stride:
            raise ValueError(f"stride {stride} must divide input_size {self.input_size}")
        if not (math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be > 0 (heatmap pixels), got {sigma!r}")
        if encoding not in ("biased", "unbiased"):
            raise ValueError(f"encoding must be 'biased' or 'unbiased', got {encoding!r}")
        if refinement not in ("none", "quarter", "dark"):
            raise ValueError(f"refinement must be 'none', 'quarter' or 'dark', got {refinement!r}")
        if blur_kernel < 1 or blur_kernel % 2 == 0:
            raise ValueError(f"blur_kernel must be a positive odd int, got {blur_kernel!r}")
        self.stride, self.sigma, self.encoding, self.refinement = stride, float(sigma), encoding, refinement
        self.blur_kernel = int(blur_kernel)
        self.heatmap_size = (w_in // stride, h_in // stride)

    def __repr__(self) -> str:
        return (f"HeatmapCodec(input_size={self.input_size}, stride={self.stride}, sigma={self.sigma:g}, "
                f"encoding={self.encoding!r}, refinement={self.refinement!r}) -> (w, h)={self.heatmap_size}")

    def encode(self, keypoints, visible) -> HeatmapTargets:
        """Heatmaps (..., K, h, w) (float32, peak 1) and weights (..., K) for keypoints (..., K, 2) in input
        pixels. Invisible, non-finite and outside keypoints get weight 0 and an all-zero map."""
        kp, as_np = _torch(keypoints)
        vis, _ = _torch(visible)
        vis = vis.to(kp.device)
        w, h = self.heatmap_size
        mu = kp / self.stride  # heatmap pixels
        ok = torch.isfinite(mu).all(-1) & (vis > 0)
        ok &= (mu[..., 0] >= -0.5) & (mu[..., 0] < w - 0.5) & (mu[..., 1] >= -0.5) & (mu[..., 1] < h - 0.5)
        mu = torch.where(ok[..., None], mu, torch.zeros_like(mu))
        if self.encoding == "biased":
            mu = torch.floor(mu + 0.5)
        # separable: exp(-(dx^2 + dy^2) / 2s^2) = exp(-dx^2 / 2s^2) * exp(-dy^2 / 2s^2)
        gx = S.gaussian(torch.arange(w, dtype=torch.float32, device=kp.device), mu[..., 0], self.sigma, False)
        gy = S.gaussian(torch.arange(h, dtype=torch.float32, device=kp.device), mu[..., 1], self.sigma, False)
        wts = ok.float()
        hm = gy[..., :, None] * gx[..., None, :] * wts[..., None, None]
        return HeatmapTargets(_back(hm, as_np), _back(wts, as_np))

    def decode(self, heatmaps):
        """Keypoints (..., K, 2) in input pixels and scores (..., K) (the map maxima) from (..., K, h, w)."""
        hm, as_np = _torch(heatmaps)
        lead, (h, w) = hm.shape[:-2], hm.shape[-2:]
        flat = hm.reshape(-1, h, w)
        scores, idx = flat.reshape(flat.shape[0], -1).max(-1)
        ix, iy = (idx % w).float(), torch.div(idx, w, rounding_mode="floor").float()
        if self.refinement == "quarter":
            ix, iy = self._quarter(flat, ix, iy)
        elif self.refinement == "dark":
            ix, iy = self._dark(flat, ix, iy)
        kpts = torch.stack([ix, iy], -1) * self.stride
        return _back(kpts.reshape(*lead, 2), as_np), _back(scores.reshape(lead), as_np)

    @staticmethod
    def _at(maps: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """maps[n, y[n], x[n]] with indices clamped into the map."""
        h, w = maps.shape[-2:]
        n = torch.arange(maps.shape[0], device=maps.device)
        return maps[n, y.long().clamp(0, h - 1), x.long().clamp(0, w - 1)]

    def _quarter(self, maps, ix, iy):
        """MSRA's quarter offset: 0.25 px toward the higher neighbour, where both neighbours exist."""
        h, w = maps.shape[-2:]
        dx = self._at(maps, iy, ix + 1) - self._at(maps, iy, ix - 1)
        dy = self._at(maps, iy + 1, ix) - self._at(maps, iy - 1, ix)
        ix = ix + torch.where((ix > 0) & (ix < w - 1), 0.25 * torch.sign(dx), torch.zeros_like(dx))
        iy = iy + torch.where((iy > 0) & (iy < h - 1), 0.25 * torch.sign(dy), torch.zeros_like(dy))
        return ix, iy

    def _dark(self, maps, ix, iy):
        """DARK: Gaussian blur (max preserved), log, one Newton step x - H^-1 g from the argmax."""
        k = self.blur_kernel
        t = torch.arange(k, dtype=torch.float32, device=maps.device) - k // 2
        g1 = torch.exp(-t**2 / (2 * self.sigma**2))
        g1 = g1 / g1.sum()
        m = maps.float()[:, None]
        peak = m.amax(dim=(-2, -1), keepdim=True)
        pad = k // 2
        b = F.conv2d(F.pad(m, (pad, pad, 0, 0), mode="replicate"), g1.view(1, 1, 1, k))
        b = F.conv2d(F.pad(b, (0, 0, pad, pad), mode="replicate"), g1.view(1, 1, k, 1))
        b = b * peak / b.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-12)
        L = torch.log(b.clamp_min(1e-10))[:, 0]
        L = F.pad(L[:, None], (2, 2, 2, 2), mode="replicate")[:, 0]  # finite differences at the border
        x, y = ix + 2, iy + 2

        def at(dy, dx):
            return self._at(L, y + dy, x + dx)

        c = at(0, 0)
        gx, gy = 0.5 * (at(0, 1) - at(0, -1)), 0.5 * (at(1, 0) - at(-1, 0))
        hxx = 0.25 * (at(0, 2) - 2 * c + at(0, -2))
        hyy = 0.25 * (at(2, 0) - 2 * c + at(-2, 0))
        hxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
        det = hxx * hyy - hxy**2
        good = (det.abs() > 1e-12) & (hxx < 0) & (hyy < 0)  # a maximum: step only where the Hessian says so
        safe = torch.where(good, det, torch.ones_like(det))
        ox = -(hyy * gx - hxy * gy) / safe
        oy = -(hxx * gy - hxy * gx) / safe
        # a Newton step beyond one pixel means the quadratic model does not hold there
        good &= (ox.abs() <= 1) & (oy.abs() <= 1)
        return ix + torch.where(good, ox, 0 * ox), iy + torch.where(good, oy, 0 * oy)

    def flip_outputs(self, outputs, flip_index, shift: bool = True) -> tuple:
        """Map heatmaps of the flipped image back: flip the width axis, swap left/right (``flip_index``), and
        with ``shift`` move by 1 - 1/s heatmap px (the flip maps input x to W - 1 - x)."""
        (hm,) = outputs
        ht, as_np = _torch(hm)
        idx = torch.as_tensor(np.asarray(flip_index), dtype=torch.long, device=ht.device)
        ht = ht.flip(-1)
        if shift and self.stride != 1:
            ht = _shift_last(ht, 1.0 / self.stride - 1.0)
        return (_back(ht[..., idx, :, :], as_np),)


def build_codec(kind: str, input_size, **kwargs):
    """A codec by kind: ``"simcc"`` -> :class:`SimCCCodec`, ``"heatmap"`` -> :class:`HeatmapCodec`."""
    if kind == "simcc":
        return SimCCCodec(input_size, **kwargs)
    if kind == "heatmap":
        return HeatmapCodec(input_size, **kwargs)
    raise ValueError(f"kind must be 'simcc' or 'heatmap', got {kind!r}")
