"""Heatmaps (MSRA/SimpleBaseline): a peak-1 Gaussian per keypoint on a grid of stride s; decoded by argmax
and a refinement (:mod:`simcc_lab.codecs.refinement`).

Conventions: see :mod:`simcc_lab.codecs.base` and docs/architecture.md.
"""
from __future__ import annotations

import copy
import math
from numbers import Integral

import numpy as np
import torch
import torch.nn.functional as F

from . import refinement as R
from . import smoothing as S
from .base import (_argmax_last, _back, _choice, _flip_index, _keep, _keypoints, _real, _shift_last, _torch, _usable,
                   HeatmapTargets, REFINEMENTS, register_codec, size_pair)


def default_blur_kernel(heatmap_size) -> int:
    """DARK's blur kernel for a heatmap (w, h): 11 at 48x64 (256x192 input, stride 4), scaled with the
    heatmap's linear size to the nearest odd integer >= 3 (17 at 72x96, as DARK uses at 384x288)."""
    w, h = heatmap_size
    size = 11 * math.sqrt(w * h / (48 * 64))
    return max(3, 2 * int(math.floor((size - 1) / 2 + 0.5)) + 1)




@register_codec
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
        blur_kernel: DARK's blur kernel (odd, heatmap px); None: :func:`default_blur_kernel`. The taps are
            the Gaussian with OpenCV's sigma for the kernel size, 0.3 ((k - 1)/2 - 1) + 0.8 (2.0 for k = 11),
            sampled and normalised (:func:`~simcc_lab.codecs.refinement.blur_kernel_1d`): the same as
            DARK's ``cv2.GaussianBlur(hm, (k, k), 0)`` for k = 1 and k >= 9, but not for k = 3, 5, 7, where
            OpenCV uses fixed tables (k = 3: [1/4, 1/2, 1/4]; here [0.239, 0.522, 0.239]).

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
        self.refinement = _choice(refinement, "refinement", REFINEMENTS)
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

    def decodings(self) -> tuple[str, ...]:
        """Names of the decodings this codec offers (one trained model, several decoders): the refinements."""
        return REFINEMENTS

    @property
    def decoding(self) -> str:
        """The decoding :meth:`decode` applies (the ``refinement``)."""
        return self.refinement

    def with_decoding(self, name: str) -> "HeatmapCodec":
        """A copy of this codec that decodes with ``name`` (one of :meth:`decodings`); same targets."""
        new = copy.copy(self)
        new.refinement = _choice(name, "decoding", REFINEMENTS)
        return new

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
        if hm.device.type == "cpu" and self.refinement != "dark":
            # the (M,) tail in numpy: a numpy op on ~1000 values costs ~1 us, torch's ~5 (same numbers)
            idx = idx.numpy()
            ix, iy = (idx % w).astype(np.float64), (idx // w).astype(np.float64)
            if self.refinement == "quarter":
                ix, iy = R.quarter_offset(maps.numpy(), ix, iy)
            kpts = (np.stack([ix, iy], -1) * self.stride).astype(np.float32).reshape(*lead, 2)
            scores = scores.numpy().reshape(lead)
            return (kpts, scores) if as_np else (torch.from_numpy(kpts), torch.from_numpy(scores))
        idx = idx.to(hm.device)
        ix, iy = (idx % w).double(), torch.div(idx, w, rounding_mode="floor").double()
        if self.refinement == "quarter":
            ix, iy = R.quarter_offset(maps, ix, iy)
        elif self.refinement == "dark":
            ix, iy = R.dark(maps, ix, iy, self.blur_kernel, peak=scores.to(hm.device))
        kpts = (torch.stack([ix, iy], -1) * self.stride).float()
        return _back(kpts.reshape(*lead, 2), as_np), _back(scores.to(hm.device).reshape(lead), as_np)

    def flip_outputs(self, outputs, flip_index, shift: bool = True) -> tuple:
        """Map ``(heatmaps (..., K, h, w),)`` of the horizontally flipped image back to the unflipped frame:
        reverse the width axis and swap left/right keypoints via ``flip_index``.

        A flip maps input x to W - 1 - x, i.e. heatmap u = x/s to (w - 1) - u + (1 - 1/s), so after reversal
        the maps sit 1 - 1/s heatmap px too far left: ``shift=True`` moves them right by that much (linear
        interpolation; exact placement for s = 1, where it is 0). ``shift=False`` is the plain reversal.
        """
        (hm,) = outputs
        ht, as_np = _keep(hm)
        idx = _flip_index(flip_index, ht.shape[-3], ht.device)
        ht = ht.flip(-1)
        if shift and self.stride != 1:
            ht = _shift_last(ht, 1.0 / self.stride - 1.0)
        return (_back(ht[..., idx, :, :], as_np),)
