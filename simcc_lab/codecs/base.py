"""Codecs: the one place that knows a representation. ``encode`` makes training targets from input-pixel
keypoints, ``decode`` turns network outputs back into input-pixel keypoints and scores.

Conventions (docs/architecture.md): pixel centres at integer coordinates, so an input of width W spans
[-0.5, W - 0.5) and a horizontal flip maps x to W - 1 - x. SimCC bin j sits at input x = (j + 0.5)/k - 0.5,
so Nx = kW bins tile the input exactly (for integer kW) and a keypoint's bin position is mu = (x + 0.5) k - 0.5 (the
official mu = x k written for pixel centres; the same for k = 1). Heatmap pixel j sits at input pixel j s.

numpy in gives float32 numpy out; torch in gives float32 torch out on the same device (CPU or CUDA).
Any leading batch dims ``(..., K, ...)``; no Python loop over people or keypoints. Positions are computed
in float64 (cheap: (..., K, 2)) so that rounding never moves a keypoint to the wrong bin; labels are
float32.
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from . import smoothing as S


class SimCCTargets(NamedTuple):
    """SimCC training targets: x labels (..., K, Nx), y labels (..., K, Ny), keypoint weights (..., K)."""

    x: object
    y: object
    weights: object


class HeatmapTargets(NamedTuple):
    """Heatmap training targets: heatmaps (..., K, h, w) with peak 1, keypoint weights (..., K)."""

    heatmaps: object
    weights: object


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _torch(a, dtype=torch.float32, device=None):
    """``(tensor, given_as_numpy)``; numpy arrays are wrapped without a copy where the dtype allows."""
    if isinstance(a, torch.Tensor):
        return a.detach().to(device=device or a.device, dtype=dtype), False
    arr = np.asarray(a)
    if not arr.flags.writeable:  # torch warns on sharing read-only memory (e.g. np.broadcast_to views)
        arr = arr.copy()
    return torch.as_tensor(arr, device=device).to(dtype), True


def _keep(a):
    """``(tensor, given_as_numpy)`` for flip_outputs: tensors pass through as they are (graph and dtype
    kept), numpy becomes float32."""
    if isinstance(a, torch.Tensor):
        return a, False
    return torch.tensor(np.asarray(a, dtype=np.float32)), True  # a copy: read-only arrays welcome


def _back(t: torch.Tensor, as_numpy: bool):
    return t.detach().cpu().numpy() if as_numpy else t


def _real(value, name: str, low: float, allowed: str) -> float:
    """``value`` as a float >= ``low``, else a ValueError naming ``name`` and the ``allowed`` range."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value < low:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return float(value)


def _choice(value, name: str, allowed: tuple) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def size_pair(value, name: str = "input_size") -> tuple[int, int]:
    """``value`` as a (W, H) pair of positive integers (pixels), else a ValueError naming ``name``."""
    try:
        w, h = value
        ok = all(isinstance(v, Integral) and not isinstance(v, bool) and v > 0 for v in (w, h))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a (W, H) pair of positive integers, got {value!r}")
    return int(w), int(h)


def _keypoints(keypoints, visible):
    """Keypoints as float64 (M, 2), visibility (M,) on the same device, the leading shape (..., K), and
    whether numpy came in. Checks the shapes."""
    kp, as_np = _torch(keypoints, torch.float64)
    if kp.ndim < 2 or kp.shape[-1] != 2:
        raise ValueError(f"keypoints must have shape (..., K, 2), got {tuple(kp.shape)}")
    lead = kp.shape[:-1]
    if visible is None:
        vis = torch.ones(lead, device=kp.device)
    else:
        vis = _torch(visible, torch.float32, kp.device)[0]
        if vis.shape != lead:
            raise ValueError(f"visible must have shape {tuple(lead)} (keypoints' leading dims), "
                             f"got {tuple(vis.shape)}")
    return kp.reshape(-1, 2), vis.reshape(-1), lead, as_np


def _usable(kp: torch.Tensor, vis: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(M,) True where a keypoint is labelled (v > 0), finite and inside the input [-0.5, W - 0.5) x
    [-0.5, H - 0.5). NaN compares False, so it fails the range test too."""
    w, h = size
    x, y = kp[:, 0], kp[:, 1]
    return (vis > 0) & (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)


def _shift_last(t: torch.Tensor, d: float) -> torch.Tensor:
    """``out[..., i] = t[..., i + d]`` along the last axis: linear interpolation for fractional ``d``,
    edge values repeated beyond the ends."""
    if d == 0:
        return t
    n = t.shape[-1]
    pos = (torch.arange(n, device=t.device, dtype=torch.float64) + d).clamp(0, n - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=n - 1)
    frac = (pos - lo).to(t.dtype)
    return t[..., lo] * (1 - frac) + t[..., hi] * frac


def _argmax_last(t: torch.Tensor):
    """(max values, argmax indices) over the last axis. On CPU numpy's SIMD argmax is ~3x faster than
    ``torch.max(dim)``; the tensor is shared, not copied."""
    if t.device.type == "cpu" and t.numel():
        a = t.numpy()
        idx = a.argmax(-1)
        return torch.from_numpy(np.take_along_axis(a, idx[..., None], -1)[..., 0]), torch.from_numpy(idx)
    return t.max(-1) if t.numel() else (t.sum(-1), t.sum(-1).long())


def _looks_like_logits(t: torch.Tensor) -> bool:
    """Auto-detection for ``from_logits=None``: anything outside [0, 1] is a logit."""
    if not t.numel():
        return False
    lo, hi = torch.aminmax(t)
    return not (float(lo) >= 0.0 and float(hi) <= 1.0)


def _max_prob(t: torch.Tensor, vmax: torch.Tensor) -> torch.Tensor:
    """The largest softmax probability over the last axis from logits ``t`` and their max ``vmax``:
    ``1 / sum(exp(t - max))``. Differences below -87 are clamped, as in smoothing.py, to keep exp fast;
    each then adds at most 1.6e-38 to the sum."""
    e = (t - vmax.to(t.device)[..., None]).clamp_(min=-87.0).exp_()
    return 1.0 / e.sum(-1)


# --------------------------------------------------------------------------------------------------
# SimCC
# --------------------------------------------------------------------------------------------------
class SimCCCodec:
    """SimCC: one classification over Nx = round(k W) x-bins and one over Ny = round(k H) y-bins.

    Args:
        input_size: (W, H) of the network input, pixels.
        k: splitting factor (bins per pixel), any real >= 1. Nx = round(k W) rounds half up.
        smoothing: "none" (one-hot), "equal" (1 - eps at the nearest bin, eps/(N-1) elsewhere),
            "gaussian" or "laplace".
        sigma: Gaussian sigma or Laplace scale b, in bins, > 0; a scalar or (sigma_x, sigma_y).
        eps: equal smoothing, in [0, 1).
        centre: "continuous" (official: the label is centred at the exact bin position mu) or "rounded"
            (MMPose: centred at the nearest bin). One-hot and equal labels use the nearest bin either way.
        normalize: Gaussian/Laplace as normalised pdfs (sum ~1; the official 1/(sigma sqrt(2 pi))) rather
            than peak 1.
        score: keypoint confidence from the two axis maxima, "min" or "mean".
        convention: "simcc_lab" (the default, above) or "mmpose", MMPose 1.x's ``SimCCLabel`` so that a model
            trained with MMPose decodes identically here:

            * bin j sits at input x = j / k (mu = x k; here (j + 0.5) / k - 0.5, i.e. (k - 1) / (2k) input px
              apart: 0.25 px at k = 2, 0 at k = 1), and Nx = round(k W) rounds half to even;
            * the label centre is always the nearest bin, rounded half to even (``np.around``), so
              ``centre`` must be "rounded" (its default under this convention);
            * a keypoint is encoded when its visibility is >= 0.5, and keeps its weight while its Gaussian
              (or Laplace) label still reaches the axis: centre within 3 sigma (3 b) of it, so up to 3 sigma
              bins outside the input (one-hot and equal labels: the centre bin inside the axis);
            * the weight is the visibility value itself (0 where the label is dropped for the range rule);
              non-finite keypoints get weight 0 (MMPose would write NaN labels).

    Attributes: ``kind = "simcc"``, ``input_size`` (W, H), ``simcc_size`` (Nx, Ny), ``convention``.
    """

    kind = "simcc"

    def __init__(self, input_size=(192, 256), k: float = 2.0, smoothing: str = "gaussian", sigma=(4.0, 4.0),
                 eps: float = 0.1, centre: str | None = None, normalize: bool = True, score: str = "min",
                 convention: str = "simcc_lab"):
        self.input_size = size_pair(input_size)
        self.k = _real(k, "k", 1.0, "a real number >= 1")
        self.smoothing = _choice(smoothing, "smoothing", tuple(S.SHAPES))
        try:
            pair = (sigma, sigma) if isinstance(sigma, Real) else tuple(sigma)
        except TypeError:
            pair = ()
        if len(pair) != 2 or not all(isinstance(s, Real) and not isinstance(s, bool) and math.isfinite(s) and s > 0
                                     for s in pair):
            raise ValueError(f"sigma must be > 0 (bins), a scalar or a (sigma_x, sigma_y) pair; got {sigma!r}")
        self.sigma = tuple(float(s) for s in pair)
        self.eps = _real(eps, "eps", 0.0, "in [0, 1)")
        if self.eps >= 1:
            raise ValueError(f"eps must be in [0, 1), got {eps!r}")
        self.convention = _choice(convention, "convention", ("simcc_lab", "mmpose"))
        mmpose = self.convention == "mmpose"
        if centre is None:
            centre = "rounded" if mmpose else "continuous"
        self.centre = _choice(centre, "centre", ("rounded",) if mmpose else ("continuous", "rounded"))
        self.normalize = bool(normalize)
        self.score = _choice(score, "score", ("min", "mean"))
        w, h = self.input_size
        if mmpose:  # np.around: half to even
            self.simcc_size = (int(round(self.k * w)), int(round(self.k * h)))
        else:  # round half up (not Python's round-half-even), so k = 1.5 covers an odd width too
            self.simcc_size = (int(math.floor(self.k * w + 0.5)), int(math.floor(self.k * h + 0.5)))

    def __repr__(self) -> str:
        return (f"SimCCCodec(input_size={self.input_size}, k={self.k:g}, smoothing={self.smoothing!r}, "
                f"sigma={self.sigma}, eps={self.eps:g}, centre={self.centre!r}, normalize={self.normalize}, "
                f"score={self.score!r}" + (f", convention={self.convention!r}" if self.convention != "simcc_lab" else "")
                + f") -> simcc_size={self.simcc_size}")

    def bin_positions(self, x):
        """Input-pixel x (any shape, any kind) -> bin position mu = (x + 0.5) k - 0.5 (MMPose: x k)."""
        return x * self.k if self.convention == "mmpose" else (x + 0.5) * self.k - 0.5

    def _nearest(self, pos: torch.Tensor) -> torch.Tensor:
        """The nearest bin of bin positions ``pos`` (float64, exact): round half up, or half to even
        (``torch.round``, as ``np.around``) under the MMPose convention."""
        return torch.round(pos) if self.convention == "mmpose" else torch.floor(pos + 0.5)

    def _mmpose_usable(self, kp: torch.Tensor, vis: torch.Tensor):
        """MMPose's rules for keypoints (M, 2) input px and visibility (M,): (labelled (M,) bool: the labels
        are written, weights (M,) float32: the visibility, 0 where dropped by the range rule)."""
        pos = self.bin_positions(kp)
        i0 = self._nearest(torch.nan_to_num(pos, nan=-1e9, posinf=1e9, neginf=-1e9))
        n = torch.tensor(self.simcc_size, dtype=i0.dtype, device=i0.device)
        if self.smoothing in ("gaussian", "laplace"):
            radius = 3 * torch.tensor(self.sigma, dtype=i0.dtype, device=i0.device)
            reach = ((i0 - radius < n) & (i0 + radius + 1 >= 0)).all(-1)
        else:
            reach = ((i0 >= 0) & (i0 < n)).all(-1)
        finite = torch.isfinite(kp).all(-1)
        labelled = (vis >= 0.5) & reach & finite
        weights = torch.where(((vis >= 0.5) & ~labelled) | ~finite, torch.zeros_like(vis), vis)
        return labelled, weights

    def _labels(self, pos: torch.Tensor, ok: torch.Tensor) -> list[torch.Tensor]:
        """Labels [x (M, Nx), y (M, Ny)] float32 for bin positions ``pos`` (M, 2) float64; rows where ``ok``
        (M,) is False are all zero."""
        bad = None if bool(ok.all()) else ~ok
        out = []
        for a, (n, sigma) in enumerate(zip(self.simcc_size, self.sigma)):  # the two axes
            bins = torch.arange(n, dtype=torch.float32, device=pos.device)
            i0 = self._nearest(pos[:, a])  # exact in float64; MMPose's centres may lie off the axis
            if self.convention != "mmpose":
                i0 = i0.clamp_(0, n - 1)
            if self.smoothing == "none":
                labels = S.one_hot(bins, i0.clamp(0, n - 1).float())
            elif self.smoothing == "equal":
                labels = S.equal(bins, i0.clamp(0, n - 1).float(), self.eps)
            else:
                labels = self._smooth(pos[:, a], i0, n, sigma)
            if bad is not None:
                labels[bad] = 0.0
            out.append(labels)
        return out

    def _smooth(self, pos: torch.Tensor, i0: torch.Tensor, n: int, sigma: float) -> torch.Tensor:
        """Gaussian or Laplace labels (M, n) float32 on one axis for bin positions ``pos`` (M,) float64 with
        nearest bins ``i0`` (M,).

        Only a window of W = 2R + 1 bins around each centre is computed (R = support_radius: the label is
        exactly 0 beyond it) and scattered into zeros: at 256x192, k = 2, sigma 4 that is ~1/4 of the exps
        of the dense form (benchmarks/bench_codecs.py). The window is shifted inward at the axis ends so that
        it always lies inside the axis; axes shorter than W use the dense form.
        """
        r = S.support_radius(self.smoothing, sigma, self.normalize)
        w = 2 * r + 1
        if w < n:
            start = (i0 - r).clamp_(0, n - w)  # window [start, start + w) holds all of [i0 - r, i0 + r] in the axis
        else:
            start, w = torch.zeros_like(i0), n
        # offsets j - mu as (j - i0) - (mu - i0): integers minus a fraction, exact to ~1e-7 bins near the
        # peak in float32 (j - mu directly would round mu by up to 3e-5 bins at N ~ 500); the label is then
        # made in place over them
        offsets = torch.arange(w, dtype=torch.float32, device=pos.device) + (start - i0).float()[:, None]
        frac = pos - i0 if self.centre == "continuous" else torch.zeros_like(i0)
        if self.centre == "continuous":
            offsets.sub_(frac.float()[:, None])
        if self.smoothing == "gaussian":
            labels = S.gaussian_(offsets, sigma, self.normalize)
        else:
            labels = S.laplace_(offsets, sigma, frac, self.normalize)
        if w == n:
            return labels
        index = start.long()[:, None] + torch.arange(w, device=pos.device)
        return torch.zeros(len(pos), n, device=pos.device).scatter_(1, index, labels)

    def encode(self, keypoints, visible=None) -> SimCCTargets:
        """Targets for keypoints (..., K, 2) in input pixels with visibility (..., K) (None: all labelled).

        Invisible (v <= 0), non-finite and outside-the-input keypoints get weight 0 and all-zero labels.
        Returns float32 x (..., K, Nx), y (..., K, Ny), weights (..., K) in {0, 1}. (``convention="mmpose"``:
        see the class docstring; weights are then the visibility values.)
        """
        kp, vis, lead, as_np = _keypoints(keypoints, visible)
        if self.convention == "mmpose":
            ok, weights = self._mmpose_usable(kp, vis)
        else:
            ok = _usable(kp, vis, self.input_size)
            weights = ok.float()
        pos = torch.where(ok[:, None], self.bin_positions(kp), torch.zeros_like(kp))  # no NaN reaches exp
        x, y = self._labels(pos, ok)
        x, y = x.reshape(*lead, x.shape[-1]), y.reshape(*lead, y.shape[-1])
        return SimCCTargets(_back(x, as_np), _back(y, as_np), _back(weights.reshape(lead), as_np))

    def decode(self, x, y, from_logits: bool | None = None):
        """Keypoints (..., K, 2) in input pixels and scores (..., K) from x (..., K, Nx) and y (..., K, Ny).

        The location is the argmax bin's position, (j + 0.5) / k - 0.5 (MMPose convention: j / k); argmax is the same for logits and
        probabilities. Scores are the min or mean (``score``) of the two axes' largest probabilities, so
        logits go through softmax first. ``from_logits``: True for network outputs, False for
        probabilities (e.g. targets), None to decide by the values (all in [0, 1]: probabilities), which
        costs one extra pass and misreads logits that happen to lie in [0, 1]: pass it when known.
        """
        xt, as_np = _torch(x)
        yt, _ = _torch(y, device=xt.device)
        nx, ny = self.simcc_size
        if xt.shape[-1] != nx or yt.shape[-1] != ny or xt.shape[:-1] != yt.shape[:-1]:
            raise ValueError(f"x, y must be (..., K, {nx}) and (..., K, {ny}); "
                             f"got {tuple(xt.shape)}, {tuple(yt.shape)}")
        (vx, ix), (vy, iy) = _argmax_last(xt), _argmax_last(yt)
        if from_logits is None:
            from_logits = _looks_like_logits(xt) or _looks_like_logits(yt)
        if from_logits:
            vx, vy = _max_prob(xt, vx), _max_prob(yt, vy)
        idx = torch.stack([ix, iy], -1).double()
        kpts = (idx / self.k if self.convention == "mmpose" else (idx + 0.5) / self.k - 0.5).float().to(xt.device)
        scores = torch.minimum(vx, vy) if self.score == "min" else 0.5 * (vx + vy)
        return _back(kpts, as_np), _back(scores.to(xt.device), as_np)

    def flip_outputs(self, outputs, flip_index, shift: bool = True) -> tuple:
        """Map outputs ``(x (..., K, Nx), y (..., K, Ny))`` of the horizontally flipped image back to the
        unflipped frame: reverse x and swap left/right keypoints,
        ``flipped[..., j, :] = out[..., flip_index[j], :]``. Tensors keep their graph and dtype.

        A flip maps input x to W - 1 - x, i.e. bin position mu to kW - 1 - mu. When Nx = kW (any integer kW,
        e.g. every even W at k = 1.5) reversal alone is exact, which is the official plain reversal. When kW
        is fractional, ``shift=True`` also moves x by kW - Nx bins (|.| < 1/2, linear interpolation);
        ``shift=False`` gives the plain reversal. Under the MMPose convention (bin j at x = j / k) the
        flipped bin position is k (W - 1) - mu, so the shift is (k - 1) - (kW - Nx) bins (MMPose's own flip
        test reverses only: ``shift=False``).
        """
        x, y = outputs
        (xt, as_np), (yt, _) = _keep(x), _keep(y)
        idx = torch.as_tensor(np.asarray(flip_index), dtype=torch.long, device=xt.device)
        xt = xt.flip(-1)
        delta = self.k * self.input_size[0] - self.simcc_size[0]
        if self.convention == "mmpose":
            delta -= self.k - 1
        if shift and abs(delta) > 1e-9:
            xt = _shift_last(xt, -delta)
        return _back(xt[..., idx, :], as_np), _back(yt[..., idx, :], as_np)


# --------------------------------------------------------------------------------------------------
# heatmaps
# --------------------------------------------------------------------------------------------------
def default_blur_kernel(heatmap_size) -> int:
    """DARK's blur kernel for a heatmap (w, h): 11 at 48x64 (256x192 input, stride 4), scaled with the
    heatmap's linear size to the nearest odd integer >= 3 (17 at 72x96, as DARK uses at 384x288)."""
    w, h = heatmap_size
    size = 11 * math.sqrt(w * h / (48 * 64))
    return max(3, 2 * int(math.floor((size - 1) / 2 + 0.5)) + 1)


class HeatmapCodec:
    """MSRA/SimpleBaseline heatmaps: a peak-1 Gaussian per keypoint on a grid of stride s.

    Args:
        input_size: (W, H) of the network input, pixels.
        stride: input pixels per heatmap pixel, a positive integer dividing W and H (default 4), or
        heatmap_size: (w, h) instead (W / w = H / h must be an integer); if both are given they must agree.
        sigma: Gaussian sigma in heatmap pixels, > 0.
        encoding: "biased" (centre round(x / s), MSRA's int(x/s + 0.5)) or "unbiased" (centre x / s, DARK).
        refinement: decoding after argmax: "none", "quarter" (0.25 heatmap px toward the higher neighbour)
            or "dark" (blur, log, one Newton step on the 2-D Taylor expansion).
        blur_kernel: DARK's blur kernel (odd, heatmap px); None: :func:`default_blur_kernel`. The blur sigma
            follows the kernel as in OpenCV (DARK calls ``cv2.GaussianBlur(hm, (k, k), 0)``):
            0.3 ((k - 1)/2 - 1) + 0.8, i.e. 2.0 for k = 11.

    Attributes: ``kind = "heatmap"``, ``input_size`` (W, H), ``heatmap_size`` (w, h), ``stride``.
    """

    kind = "heatmap"

    def __init__(self, input_size=(192, 256), stride: int | None = None, heatmap_size=None, sigma: float = 2.0,
                 encoding: str = "biased", refinement: str = "none", blur_kernel: int | None = None):
        self.input_size = size_pair(input_size)
        w_in, h_in = self.input_size
        if stride is not None and (isinstance(stride, bool) or not isinstance(stride, Integral) or stride < 1):
            raise ValueError(f"stride must be a positive integer, got {stride!r}")
        if heatmap_size is not None:
            hw, hh = size_pair(heatmap_size, "heatmap_size")
            if w_in % hw or h_in % hh or w_in // hw != h_in // hh:
                raise ValueError(f"heatmap_size {heatmap_size} must be input_size {self.input_size} divided by one "
                                 f"integer stride")
            if stride is not None and stride != w_in // hw:
                raise ValueError(f"stride {stride} disagrees with heatmap_size {heatmap_size} (stride {w_in // hw})")
            stride = w_in // hw
        stride = 4 if stride is None else int(stride)
        if w_in % stride or h_in % stride:
            raise ValueError(f"stride {stride} must divide input_size {self.input_size}")
        self.stride = stride
        self.sigma = _real(sigma, "sigma", 0.0, "> 0 (heatmap pixels)")
        if self.sigma <= 0:
            raise ValueError(f"sigma must be > 0 (heatmap pixels), got {sigma!r}")
        self.encoding = _choice(encoding, "encoding", ("biased", "unbiased"))
        self.refinement = _choice(refinement, "refinement", ("none", "quarter", "dark"))
        self.heatmap_size = (w_in // stride, h_in // stride)
        if blur_kernel is None:
            blur_kernel = default_blur_kernel(self.heatmap_size)
        if (isinstance(blur_kernel, bool) or not isinstance(blur_kernel, Integral) or blur_kernel < 1
                or blur_kernel % 2 == 0):
            raise ValueError(f"blur_kernel must be a positive odd integer, got {blur_kernel!r}")
        self.blur_kernel = int(blur_kernel)

    def __repr__(self) -> str:
        return (f"HeatmapCodec(input_size={self.input_size}, stride={self.stride}, sigma={self.sigma:g}, "
                f"encoding={self.encoding!r}, refinement={self.refinement!r}, blur_kernel={self.blur_kernel}) "
                f"-> heatmap_size={self.heatmap_size}")

    def encode(self, keypoints, visible=None) -> HeatmapTargets:
        """Heatmaps (..., K, h, w) (float32, peak 1 at the centre) and weights (..., K) for keypoints
        (..., K, 2) in input pixels. Invisible, non-finite and outside keypoints get weight 0 and an all-zero
        map; a keypoint inside the input keeps weight 1 even where its biased centre is off the grid."""
        kp, vis, lead, as_np = _keypoints(keypoints, visible)
        ok = _usable(kp, vis, self.input_size)
        mu = torch.where(ok[:, None], kp / self.stride, torch.zeros_like(kp))  # heatmap pixels
        if self.encoding == "biased":
            mu = torch.floor(mu + 0.5)
        w, h = self.heatmap_size
        # separable: exp(-(dx^2 + dy^2) / 2s^2) = exp(-dx^2 / 2s^2) exp(-dy^2 / 2s^2); the 1-D factors are
        # flushed below sqrt(2e-38) so that their product never lands in float32's slow subnormal range
        floor = math.sqrt(S.ZERO_BELOW)
        gx, gy = (F.threshold_(S.gaussian(torch.arange(n, device=kp.device), mu[:, a].float(), self.sigma, False),
                               floor, 0.0) for a, n in enumerate((w, h)))
        gx.mul_(ok[:, None])
        hm = (gy[:, :, None] * gx[:, None, :]).reshape(*lead, h, w)
        return HeatmapTargets(_back(hm, as_np), _back(ok.float().reshape(lead), as_np))

    def decode(self, heatmaps):
        """Keypoints (..., K, 2) in input pixels and scores (..., K) (each map's maximum) from heatmaps
        (..., K, h, w): argmax, then the ``refinement``, then times the stride."""
        hm, as_np = _torch(heatmaps)
        w, h = self.heatmap_size
        if hm.ndim < 3 or tuple(hm.shape[-2:]) != (h, w):
            raise ValueError(f"heatmaps must be (..., K, {h}, {w}), got {tuple(hm.shape)}")
        lead = hm.shape[:-2]
        maps = hm.reshape(-1, h, w)
        scores, idx = _argmax_last(maps.reshape(maps.shape[0], h * w))
        idx = idx.to(hm.device)
        ix, iy = (idx % w).double(), torch.div(idx, w, rounding_mode="floor").double()
        if self.refinement == "quarter":
            ix, iy = self._quarter(maps, ix, iy)
        elif self.refinement == "dark":
            ix, iy = self._dark(maps, ix, iy)
        kpts = (torch.stack([ix, iy], -1) * self.stride).float()
        return _back(kpts.reshape(*lead, 2), as_np), _back(scores.to(hm.device).reshape(lead), as_np)

    @staticmethod
    def _at(maps: torch.Tensor, iy: torch.Tensor, ix: torch.Tensor) -> torch.Tensor:
        """``maps[m, iy[m], ix[m]]`` for every map m, indices clamped into the map."""
        h, w = maps.shape[-2:]
        m = torch.arange(maps.shape[0], device=maps.device)
        return maps[m, iy.long().clamp(0, h - 1), ix.long().clamp(0, w - 1)]

    def _quarter(self, maps, ix, iy):
        """MSRA's quarter offset: 0.25 px toward the higher neighbour, with MMPose 1.x's border rule: the x
        offset only where 1 < ix < w - 1 (and iy > 0), the y offset only where 1 < iy < h - 1 (and ix > 0);
        so not at column or row 1 either, although both neighbours exist there. (HRNet moves both axes or
        neither: only where 1 < ix < w - 1 and 1 < iy < h - 1.)"""
        h, w = maps.shape[-2:]
        dx = (self._at(maps, iy, ix + 1) - self._at(maps, iy, ix - 1)).double()
        dy = (self._at(maps, iy + 1, ix) - self._at(maps, iy - 1, ix)).double()
        ix_new = ix + torch.where((ix > 1) & (ix < w - 1) & (iy > 0), 0.25 * torch.sign(dx), torch.zeros_like(dx))
        iy = iy + torch.where((iy > 1) & (iy < h - 1) & (ix > 0), 0.25 * torch.sign(dy), torch.zeros_like(dy))
        ix = ix_new
        return ix, iy

    def _blur_kernel_1d(self, device) -> torch.Tensor:
        """DARK's normalised 1-D Gaussian (k,) float64, sigma as OpenCV picks it for kernel size k."""
        k = self.blur_kernel
        sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8  # OpenCV's sigma for a given kernel size
        t = torch.arange(k, dtype=torch.float64, device=device) - k // 2
        g = torch.exp(-t**2 / (2 * sigma**2))
        return g / g.sum()

    def _blur(self, maps: torch.Tensor) -> torch.Tensor:
        """DARK's blur of every map: separable Gaussian, zero border (DARK pads with zeros before
        ``cv2.GaussianBlur``), rescaled so each map keeps its maximum. (M, h, w) -> (M, h, w) float32.
        Used where a map needs its whole blurred maximum (see :meth:`_dark`)."""
        k = self.blur_kernel
        g = self._blur_kernel_1d(maps.device).float()
        m = maps.float()[:, None]
        b = F.conv2d(m, g.view(1, 1, 1, k), padding=(0, k // 2))
        b = F.conv2d(b, g.view(1, 1, k, 1), padding=(k // 2, 0))[:, 0]
        peak = maps.float().amax(dim=(-2, -1), keepdim=True)
        return b * peak / b.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-12)

    def _blurred_patch(self, maps: torch.Tensor, ix: torch.Tensor, iy: torch.Tensor) -> torch.Tensor:
        """The blurred maps (zero border, not rescaled) on the 5 x 5 pixels around each argmax:
        (M, h, w), argmax ix, iy (M,) -> (M, 5, 5) float64, ``patch[m, 2 + dy, 2 + dx]``.

        Only a window of 2r + 5 pixels a side (r = blur_kernel // 2) around each argmax is read (zeros
        outside the map), and the separable blur is two small matrix products on it: ~1/100 of the work
        of blurring whole maps at 64x48 (benchmarks/bench_codecs.py)."""
        h, w = maps.shape[-2:]
        r = self.blur_kernel // 2
        n = 2 * r + 5
        off = torch.arange(n, device=maps.device) - (r + 2)
        rows = iy.long()[:, None] + off  # (M, n)
        cols = ix.long()[:, None] + off
        inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
        flat = (rows.clamp(0, h - 1) * w)[:, :, None] + cols.clamp(0, w - 1)[:, None, :]  # (M, n, n)
        win = torch.gather(maps.reshape(len(maps), h * w), 1, flat.reshape(len(maps), n * n)).reshape(-1, n, n)
        win = win.double() * inside
        g = self._blur_kernel_1d(maps.device)
        band = torch.stack([F.pad(g, (i, 4 - i)) for i in range(5)])  # (5, n): output p reads window p..p+2r
        return band @ win @ band.T

    def _dark(self, maps, ix, iy):
        """DARK: blur, log, one Newton step ``-H^-1 g`` from the argmax, with the gradient and Hessian of the
        log map from central differences (step 1 for g and the mixed term, step 2 for the diagonal, as DARK).
        Applied, as in DARK, where the argmax is at least 2 px from the border, and only where the Hessian is
        negative definite (a maximum; DARK checks det != 0 alone).

        DARK's log map is ``log(max(blur * peak / max(blur), 1e-10))``. The rescale adds a constant per map,
        which the differences cancel, so only the 5 x 5 blurred pixels around the argmax are computed
        (:meth:`_blurred_patch`) unless the 1e-10 floor could bite: blurred values are at most the map's
        peak, so the floor is inactive wherever every patch value is >= 1e-10 (with margin) and the peak is
        positive. The other maps (e.g. all zero or negative) take the whole-map blur (:meth:`_dark_dense`).
        Both agree to ~1e-6 heatmap px (float32 vs float64 logs; tests/test_decode_refinement.py)."""
        patch = self._blurred_patch(maps, ix, iy)
        peak = maps.flatten(1).amax(-1) if len(maps) else maps.new_zeros(0)
        local = (patch.flatten(1).amin(-1) >= 2e-10) & (peak > 0)
        logp = torch.log(patch.clamp_min(1e-300))
        out_x, out_y = self._newton(lambda dy, dx: logp[:, 2 + dy, 2 + dx], maps.shape[-2:], ix, iy)
        if not bool(local.all()):
            rest = torch.nonzero(~local).reshape(-1)
            dx, dy = self._dark_dense(maps[rest], ix[rest], iy[rest])
            out_x, out_y = out_x.index_put((rest,), dx), out_y.index_put((rest,), dy)
        return out_x, out_y

    def _dark_dense(self, maps, ix, iy):
        """:meth:`_dark` on whole-map blurs (DARK's own order of operations, float32 blur and log)."""
        logm = torch.log(self._blur(maps).clamp_min(1e-10)).double()
        return self._newton(lambda dy, dx: self._at(logm, iy + dy, ix + dx), maps.shape[-2:], ix, iy)

    @staticmethod
    def _newton(at, size, ix, iy):
        """One Newton step on log-map values ``at(dy, dx)`` (M,) around the argmax (ix, iy) (M,) of maps of
        ``size`` (h, w); see :meth:`_dark`. Returns the refined (ix, iy) float64, heatmap px."""
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

    def flip_outputs(self, outputs, flip_index, shift: bool = True) -> tuple:
        """Map ``(heatmaps (..., K, h, w),)`` of the horizontally flipped image back to the unflipped frame:
        reverse the width axis and swap left/right keypoints via ``flip_index``.

        A flip maps input x to W - 1 - x, i.e. heatmap u = x/s to (w - 1) - u + (1 - 1/s), so after reversal
        the maps sit 1 - 1/s heatmap px too far left: ``shift=True`` moves them right by that much (linear
        interpolation; exact placement for s = 1, where it is 0). ``shift=False`` is the plain reversal.
        """
        (hm,) = outputs
        ht, as_np = _keep(hm)
        idx = torch.as_tensor(np.asarray(flip_index), dtype=torch.long, device=ht.device)
        ht = ht.flip(-1)
        if shift and self.stride != 1:
            ht = _shift_last(ht, 1.0 / self.stride - 1.0)
        return (_back(ht[..., idx, :, :], as_np),)


def build_codec(kind: str, input_size, **kwargs):
    """A codec by kind: ``"simcc"`` -> :class:`SimCCCodec`, ``"heatmap"`` -> :class:`HeatmapCodec`;
    ``kwargs`` go to its constructor."""
    if kind == "simcc":
        return SimCCCodec(input_size, **kwargs)
    if kind == "heatmap":
        return HeatmapCodec(input_size, **kwargs)
    raise ValueError(f"kind must be 'simcc' or 'heatmap', got {kind!r}")
