"""Codecs, shared parts: the one place that knows a representation. ``encode`` makes training targets from input-pixel
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
from typing import NamedTuple, Protocol

import numpy as np
import torch

REFINEMENTS = ("none", "quarter", "dark")  # heatmap decodings: argmax, quarter offset, DARK (refinement.py)


class SimCCTargets(NamedTuple):
    """SimCC training targets: x labels (..., K, Nx), y labels (..., K, Ny), keypoint weights (..., K)."""

    x: object
    y: object
    weights: object

    @property
    def targets(self) -> tuple:
        """``(x, y)``: the targets without the weights, in the order of the model's outputs."""
        return (self.x, self.y)


class HeatmapTargets(NamedTuple):
    """Heatmap training targets: heatmaps (..., K, h, w) with peak 1, keypoint weights (..., K)."""

    heatmaps: object
    weights: object

    @property
    def targets(self) -> tuple:
        """``(heatmaps,)``: the targets without the weights, in the order of the model's outputs."""
        return (self.heatmaps,)



class Codec(Protocol):
    """What every codec offers (:class:`~simcc_lab.codecs.simcc.SimCCCodec`,
    :class:`~simcc_lab.codecs.heatmap.HeatmapCodec`): a ``kind``, the ``input_size`` (W, H) it works at,
    ``encode`` (input-pixel keypoints -> a targets NamedTuple with ``.targets`` and ``.weights``),
    ``decode(*outputs)`` (model outputs -> input-pixel keypoints, scores), ``flip_outputs``, and the decodings it
    offers: ``decodings()`` (their names), ``decoding`` (the one ``decode`` applies) and
    ``with_decoding(name)`` (a codec that decodes so). Every other list of decodings is derived from these."""

    kind: str
    input_size: tuple[int, int]

    def encode(self, keypoints, visible=None): ...

    def decode(self, *outputs): ...

    def flip_outputs(self, outputs, flip_index, shift: bool = True) -> tuple: ...

    def decodings(self) -> tuple[str, ...]: ...

    def with_decoding(self, name: str): ...


CODEC_CLASSES: dict[str, type] = {}  # kind -> codec class; filled by register_codec (simcc.py, heatmap.py)


def register_codec(cls: type) -> type:
    """Class decorator: make ``cls`` (with a ``kind``) buildable by :func:`build_codec`."""
    CODEC_CLASSES[cls.kind] = cls
    return cls


def build_codec(kind: str, input_size, **kwargs):
    """A codec by kind: ``"simcc"`` -> :class:`SimCCCodec`, ``"heatmap"`` -> :class:`HeatmapCodec`;
    ``kwargs`` go to its constructor."""
    if kind not in CODEC_CLASSES:
        raise ValueError(f"kind must be {' or '.join(map(repr, CODEC_CLASSES))}, got {kind!r}")
    return CODEC_CLASSES[kind](input_size, **kwargs)


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
        rows = t.numpy().reshape(-1, t.shape[-1])
        idx = rows.argmax(-1)
        values = rows[np.arange(len(rows)), idx]  # plain indexing: ~1/4 of take_along_axis's overhead
        return torch.from_numpy(values.reshape(t.shape[:-1])), torch.from_numpy(idx.reshape(t.shape[:-1]))
    return t.max(-1) if t.numel() else (t.sum(-1), t.sum(-1).long())


def _looks_like_logits(t: torch.Tensor, vmax: torch.Tensor | None = None) -> bool:
    """Auto-detection for ``from_logits=None``: anything outside [0, 1] (or NaN) is a logit. ``vmax``: the
    maxima over the last axis, if known (NaN where a row holds one); then only the minimum needs a pass."""
    if not t.numel():
        return False
    if vmax is not None:
        if not bool((vmax <= 1.0).all()):  # NaN compares False: a logit, as below
            return True
        return not float(t.amin()) >= 0.0
    lo, hi = torch.aminmax(t)
    return not (float(lo) >= 0.0 and float(hi) <= 1.0)


def _max_prob(t: torch.Tensor, vmax: torch.Tensor, scratch: torch.Tensor | None = None) -> torch.Tensor:
    """The largest softmax probability over the last axis from logits ``t`` and their max ``vmax``:
    ``1 / sum(exp(t - max))``. Differences below -87 are clamped, as in smoothing.py, to keep exp fast;
    each then adds at most 1.6e-38 to the sum. ``scratch``: a float32 buffer of >= t.numel() values on t's
    device to hold the exps (the caller reuses one for both axes: no large temporary per call)."""
    if scratch is None:
        scratch = torch.empty(t.numel(), device=t.device)
    e = torch.sub(t, vmax.to(t.device)[..., None], out=scratch[:t.numel()].view(t.shape))
    e.clamp_(min=-87.0).exp_()
    return 1.0 / e.sum(-1)


def _flip_index(flip_index, k: int, device) -> torch.Tensor:
    """``flip_index`` as a (K,) long tensor on ``device``: a permutation of 0..K-1 for K keypoints, else a
    ValueError (a wrong length or a -1 would silently swap the wrong keypoints)."""
    arr = np.asarray(flip_index)
    if arr.shape != (k,) or not np.issubdtype(arr.dtype, np.integer) or sorted(arr.tolist()) != list(range(k)):
        raise ValueError(f"flip_index must be a permutation of 0..{k - 1} (one entry per keypoint), got "
                         f"{arr.tolist() if arr.size <= 40 else arr.shape}")
    return torch.as_tensor(arr, dtype=torch.long, device=device)
