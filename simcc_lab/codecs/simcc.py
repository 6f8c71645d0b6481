"""SimCC: a keypoint as two 1-D classifications over k bins per input pixel (x bins and y bins).

Conventions: see :mod:`simcc_lab.codecs.base` and docs/architecture.md.
"""
from __future__ import annotations

import math
from numbers import Real

import numpy as np
import torch

from . import smoothing as S
from .base import (_argmax_last, _back, _choice, _flip_index, _keep, _keypoints, _looks_like_logits, _max_prob,
                   _real, _shift_last, _torch, _usable, register_codec, SimCCTargets, size_pair)


DECODINGS = ("default",)  # SimCC decodings: argmax over each axis's bins


def _place_windows(labels: torch.Tensor, start: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out`` (M, n), zeros, with ``labels`` (M, w) written at columns ``start[m] .. start[m] + w`` of each
    row (``start`` (M,), whole numbers in [0, n - w]); returns ``out``.

    On the CPU each window goes in through a sliding-window view of ``out``, indexed by (row, start): no
    (M, w) int64 index as ``scatter_`` needs (twice the labels' bytes)."""
    m, w = labels.shape
    if out.device.type == "cpu":
        windows = np.lib.stride_tricks.sliding_window_view(out.numpy(), w, axis=1, writeable=True)  # (M, n-w+1, w)
        windows[np.arange(m), start.long().numpy()] = labels.numpy()  # one window per row: no overlap
        return out
    return out.scatter_(1, start.long()[:, None] + torch.arange(w, device=out.device), labels)


@register_codec
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

    def decodings(self) -> tuple[str, ...]:
        """Names of the decodings this codec offers: "default" (argmax per axis with softmax scores)."""
        return DECODINGS

    @property
    def decoding(self) -> str:
        """The decoding :meth:`decode` applies."""
        return DECODINGS[0]

    def with_decoding(self, name: str) -> "SimCCCodec":
        """This codec decoding with ``name`` (one of :meth:`decodings`)."""
        _choice(name, "decoding", DECODINGS)
        return self

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
        (M,) is False are all zero.

        Both label arrays are views of one allocation (x first, then y, each C-contiguous): with glibc's
        defaults the largest block freed sets the threshold above which freed memory goes back to the OS
        (twice the mmap threshold, which follows the largest freed mmapped block), so one block of both
        outputs, plus a window scratch that is always smaller, never triggers that trim: the memory is
        reused on the next call instead of page-faulted in afresh (3-4x the time, benchmarks/bench_codecs.py).
        """
        m = len(pos)
        (nx, ny) = self.simcc_size
        block = torch.empty(m * (nx + ny), device=pos.device)
        out = [block[:m * nx].view(m, nx), block[m * nx:].view(m, ny)]
        windows = [self._window(n, sigma) for n, sigma in zip(self.simcc_size, self.sigma)]
        scratch = torch.empty(m * max(w for w in windows if w is not None), device=pos.device) \
            if any(w is not None for w in windows) else None
        for a, (n, sigma, w, labels) in enumerate(zip(self.simcc_size, self.sigma, windows, out)):  # the two axes
            i0 = self._nearest(pos[:, a])  # exact in float64; MMPose's centres may lie off the axis
            if self.convention != "mmpose":
                i0 = i0.clamp_(0, n - 1)
            if self.smoothing in ("none", "equal"):
                # 1 - eps at the nearest bin, eps / (N - 1) elsewhere (S.one_hot / S.equal, whose nearest bin of
                # arange(N) is the clamped i0 itself)
                eps = self.eps if self.smoothing == "equal" else 0.0
                labels.fill_(eps / (n - 1) if n > 1 else 0.0)
                labels.scatter_(1, i0.clamp(0, n - 1).long()[:, None], 1.0 - eps)
            else:
                self._smooth(pos[:, a], i0, n, sigma, labels, None if w is None else scratch[:m * w].view(m, w))
        if not bool(ok.all()):
            bad = ~ok
            for labels in out:
                labels[bad] = 0.0
        return out

    def _window(self, n: int, sigma: float) -> int | None:
        """Bins W = 2R + 1 a Gaussian/Laplace label can reach on an axis of ``n`` bins (R =
        support_radius: the label is exactly 0 beyond it); None where the labels are dense (W >= n) or not
        Gaussian/Laplace."""
        if self.smoothing not in ("gaussian", "laplace"):
            return None
        w = 2 * S.support_radius(self.smoothing, sigma, self.normalize) + 1
        return w if w < n else None

    def _smooth(self, pos: torch.Tensor, i0: torch.Tensor, n: int, sigma: float, out: torch.Tensor,
                scratch: torch.Tensor | None) -> torch.Tensor:
        """Gaussian or Laplace labels on one axis, written into ``out`` (M, n) float32, for bin positions
        ``pos`` (M,) float64 with nearest bins ``i0`` (M,).

        With a ``scratch`` (M, W) only a window of W = 2R + 1 bins around each centre is computed
        (:meth:`_window`) and written into zeros: at 256x192, k = 2, sigma 4 that is ~1/4 of the exps of the
        dense form (benchmarks/bench_codecs.py). The window is shifted inward at the axis ends so that it
        always lies inside the axis. Without one (axes shorter than W) the labels are made in ``out``.
        """
        w = n if scratch is None else scratch.shape[1]
        if scratch is None:
            start, offsets = torch.zeros_like(i0), out
        else:
            r = w // 2
            start, offsets = (i0 - r).clamp_(0, n - w), scratch  # [start, start + w) holds [i0 - r, i0 + r] in the axis
        # offsets j - mu as (j - i0) - (mu - i0): integers minus a fraction, exact to ~1e-7 bins near the
        # peak in float32 (j - mu directly would round mu by up to 3e-5 bins at N ~ 500); the label is then
        # made in place over them
        torch.add(torch.arange(w, dtype=torch.float32, device=pos.device), (start - i0).float()[:, None], out=offsets)
        frac = pos - i0 if self.centre == "continuous" else torch.zeros_like(i0)
        if self.centre == "continuous":
            offsets.sub_(frac.float()[:, None])
        if self.smoothing == "gaussian":
            labels = S.gaussian_(offsets, sigma, self.normalize)
        else:
            labels = S.laplace_(offsets, sigma, frac, self.normalize)
        return out if scratch is None else _place_windows(labels, start, out.zero_())

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
        if from_logits is None:  # the maxima answer "any value > 1?" without another pass
            from_logits = _looks_like_logits(xt, vx) or _looks_like_logits(yt, vy)
        if from_logits:
            scratch = torch.empty(max(xt.numel(), yt.numel()), device=xt.device)  # one buffer for both axes
            vx, vy = _max_prob(xt, vx, scratch), _max_prob(yt, vy, scratch)
        if xt.device.type == "cpu":  # the (..., K) tail in numpy: a numpy op on ~1000 values costs ~1 us, torch's ~5
            idx = np.stack([ix.numpy(), iy.numpy()], -1).astype(np.float64)
            kpts = (idx / self.k if self.convention == "mmpose" else (idx + 0.5) / self.k - 0.5).astype(np.float32)
            vx, vy = vx.numpy(), vy.numpy()
            scores = np.minimum(vx, vy) if self.score == "min" else 0.5 * (vx + vy)
            return (kpts, scores) if as_np else (torch.from_numpy(kpts), torch.from_numpy(scores))
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
        idx = _flip_index(flip_index, xt.shape[-2], xt.device)
        xt = xt.flip(-1)
        delta = self.k * self.input_size[0] - self.simcc_size[0]
        if self.convention == "mmpose":
            delta -= self.k - 1
        if shift and abs(delta) > 1e-9:
            xt = _shift_last(xt, -delta)
        return _back(xt[..., idx, :], as_np), _back(yt[..., idx, :], as_np)
