"""1-D label shapes over bins: one-hot, equal (standard label smoothing), Gaussian and Laplace.

Every function takes bin positions ``bins`` of shape (N,) or (..., N) (ascending along the last axis)
and centres ``mu`` of shape (...), which broadcast like ``bins - mu[..., None]``; the labels have shape
``broadcast(bins.shape[:-1], mu.shape) + (N,)``. Positions and centres are in bins (SimCC: bin j is
label index j, and a keypoint at input x sits at mu = (x + 0.5) k - 0.5; see docs/architecture.md).
Shape parameters (``sigma``, ``b``) are scalars or broadcast against ``mu``.

numpy arrays in give float32 numpy arrays out; torch tensors in give float32 tensors out, on the same
device. The work is done in torch either way.

Underflow: label values below :data:`ZERO_BELOW` (2e-38, just above float32's smallest normal number)
are exactly 0. torch's CPU ``exp`` becomes ~30x slower for arguments below about -88 (subnormal
results), and most of a long label lies there, so exponents are clamped first and the clamped values
zeroed after; :func:`support_radius` says exactly where a label is zero.

``gaussian_`` and ``laplace_`` make the same labels in place from offsets ``bins - mu`` that the caller
already holds (the codec forms them exactly and so allocates one array per label set).
"""
from __future__ import annotations

import math
from numbers import Real

import numpy as np
import torch
import torch.nn.functional as F

ZERO_BELOW = 2e-38
_LOG_ZERO = math.log(ZERO_BELOW)  # ~ -86.8
_CLAMP = -87.0  # exp(-87) = 1.6e-38: still a normal float32, so exp stays on its fast path
_SQRT_2PI = math.sqrt(2 * math.pi)


def _to_torch(bins, mu):
    """``(bins, mu, given_as_numpy)`` as float32 tensors on one device (a tensor's, if either is one)."""
    is_numpy = not isinstance(bins, torch.Tensor) and not isinstance(mu, torch.Tensor)
    device = next((t.device for t in (bins, mu) if isinstance(t, torch.Tensor)), None)

    def conv(a):
        if isinstance(a, torch.Tensor):
            return a.to(device=device, dtype=torch.float32)
        return torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)

    b, m = conv(bins), conv(mu)
    if b.ndim < 1 or b.shape[-1] < 1:
        raise ValueError(f"bins must have shape (N,) or (..., N) with N >= 1, got {tuple(b.shape)}")
    return b, m, is_numpy


def _param(value, name: str, like: torch.Tensor):
    """A shape parameter that must be > 0: a Python float when scalar (cheapest in the ops below), else a
    float32 tensor shaped to broadcast against ``(..., N)`` labels."""
    if isinstance(value, Real) and not isinstance(value, bool):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be finite and > 0 (bins), got {value!r}")
        return float(value)
    p = torch.as_tensor(value.detach() if isinstance(value, torch.Tensor) else np.asarray(value, np.float32),
                        dtype=torch.float32, device=like.device)
    if not bool(torch.all(torch.isfinite(p) & (p > 0))):
        raise ValueError(f"{name} must be finite and > 0 (bins), got {value!r}")
    return p[..., None] if p.ndim else p


def _out(t: torch.Tensor, is_numpy: bool):
    return t.cpu().numpy() if is_numpy else t


def _exp_flushed(arg: torch.Tensor) -> torch.Tensor:
    """``exp(arg)`` in place, with results below :data:`ZERO_BELOW` set to exactly 0."""
    arg.clamp_(min=_CLAMP).exp_()
    return F.threshold_(arg, ZERO_BELOW, 0.0)  # keeps x where x > ZERO_BELOW, else 0


def _hot(b: torch.Tensor, m: torch.Tensor, hot: float, off: float) -> torch.Tensor:
    """``hot`` at the nearest bin, ``off`` elsewhere; (..., N)."""
    idx = (0.5 * (b[..., 1:] + b[..., :-1]) <= m[..., None]).sum(-1, keepdim=True)
    shape = torch.broadcast_shapes(b.shape[:-1], m.shape) + (b.shape[-1],)
    out = torch.full(shape, off, dtype=torch.float32, device=b.device)
    return out.scatter_(-1, idx.expand(shape[:-1] + (1,)), hot)


def one_hot(bins, mu):
    """1 at the bin nearest ``mu`` (ties to the higher bin), 0 elsewhere. (..., N) float32."""
    b, m, is_np = _to_torch(bins, mu)
    return _out(_hot(b, m, 1.0, 0.0), is_np)


def equal(bins, mu, eps: float = 0.1):
    """Standard label smoothing: ``1 - eps`` at the bin nearest ``mu``, ``eps / (N - 1)`` at each of the
    other N - 1 bins (sums to 1). ``eps`` in [0, 1). (..., N) float32."""
    if not (isinstance(eps, (int, float, np.floating)) and 0 <= eps < 1):
        raise ValueError(f"eps must be in [0, 1), got {eps!r}")
    b, m, is_np = _to_torch(bins, mu)
    n = b.shape[-1]
    return _out(_hot(b, m, 1.0 - eps, eps / (n - 1) if n > 1 else 0.0), is_np)


def gaussian_log_norm(sigma, normalize: bool = True):
    """log of the Gaussian label's factor: ``-log(sigma sqrt(2 pi))`` (the official normalised pdf) or 0."""
    return -np.log(np.asarray(sigma, np.float64) * math.sqrt(2 * math.pi)) if normalize else 0.0


def gaussian(bins, mu, sigma, normalize: bool = True):
    """Gaussian over bins, ``exp(-(i - mu)^2 / (2 sigma^2))``, times ``1 / (sigma sqrt(2 pi))`` when
    ``normalize`` (the official SimCC label: the pdf sampled at the bins, summing to ~1 when the bulk lies
    inside the axis) or peak 1. ``sigma`` in bins, > 0. (..., N) float32."""
    b, m, is_np = _to_torch(bins, mu)
    return _out(gaussian_(b - m[..., None], sigma, normalize), is_np)


def gaussian_(offsets: torch.Tensor, sigma, normalize: bool = True) -> torch.Tensor:
    """:func:`gaussian` from ``offsets = bins - mu`` (a float32 tensor, overwritten and returned): lets a
    caller that already holds the offsets (the codec, which forms them exactly) skip a second array."""
    s = _param(sigma, "sigma", offsets)
    if isinstance(s, float):  # one fused op: log_norm - d^2 / (2 sigma^2), written over d
        log_norm = -math.log(s * _SQRT_2PI) if normalize else 0.0
        arg = torch.addcmul(torch.full((), log_norm, device=offsets.device), offsets, offsets, value=-0.5 / s**2,
                            out=offsets)
    else:
        arg = offsets.mul_(offsets).mul_(-0.5 / s**2)
        if normalize:
            arg = arg.sub_(torch.log(s * _SQRT_2PI))
    return _exp_flushed(arg)


def laplace_log_norm(mu, b, normalize: bool = True):
    """log of the Laplace label's factor ``1 / Z``, Z the label's exact sum over the infinite integer
    lattice, ``Z = (e^(-f/b) + e^(-(1-f)/b)) / (1 - e^(-1/b))`` with f = mu - floor(mu); 0 when not
    ``normalize``. float64 tensor of mu's shape. (The continuous pdf's 1/(2b) is off by ~1/(12 b^2) on a
    lattice: 0.9% at b = 3.)"""
    if not normalize:
        return 0.0
    m = torch.as_tensor(mu, dtype=torch.float64)
    s = torch.as_tensor(b, dtype=torch.float64, device=m.device)
    f = m - torch.floor(m)
    z = (torch.exp(-f / s) + torch.exp(-(1 - f) / s)) / -torch.expm1(-1 / s)
    return -torch.log(z)


def laplace(bins, mu, b, normalize: bool = True):
    """Laplace over bins, ``exp(-|i - mu| / b)``, divided by its exact sum over the integer lattice when
    ``normalize`` (see :func:`laplace_log_norm`; sums to 1 when the bulk lies inside the axis and the bins
    are integers) or peak 1. ``b`` in bins, > 0, a scalar or broadcasting against ``mu``. (..., N) float32."""
    bins_t, m, is_np = _to_torch(bins, mu)
    return _out(laplace_(bins_t - m[..., None], b, m, normalize), is_np)


def laplace_(offsets: torch.Tensor, b, mu, normalize: bool = True) -> torch.Tensor:
    """:func:`laplace` from ``offsets = bins - mu`` (float32 tensor, overwritten and returned); ``mu`` (...)
    is needed only for the normaliser (its fractional part), at any precision."""
    s = _param(b, "b", offsets)
    arg = offsets.abs_().div_(-s)
    if normalize:
        s64 = s if isinstance(s, float) else s.double().squeeze(-1) if s.ndim else s.double()
        log_norm = laplace_log_norm(torch.as_tensor(mu, device=offsets.device).double(), s64, True)
        arg = arg.add_(log_norm.to(torch.float32)[..., None])
    return _exp_flushed(arg)


def support_radius(shape: str, param: float, normalize: bool = True) -> int:
    """Bins R such that a label centred at mu is exactly 0 at every bin i with |i - round(mu)| > R.

    For "gaussian" (``param`` = sigma) and "laplace" (``param`` = b); with the largest possible log
    factor, plus one bin of slack for rounding: the part of an axis a label can reach.
    """
    if shape == "gaussian":
        log_norm = float(gaussian_log_norm(param, normalize))
        return int(math.ceil(param * math.sqrt(2 * max(log_norm - _LOG_ZERO, 0.0)))) + 1
    if shape == "laplace":
        log_norm = float(laplace_log_norm(0.5, param, normalize))  # Z is smallest at f = 1/2
        return int(math.ceil(param * max(log_norm - _LOG_ZERO, 0.0))) + 1
    raise ValueError(f"shape must be 'gaussian' or 'laplace', got {shape!r}")


SHAPES = {"none": one_hot, "equal": equal, "gaussian": gaussian, "laplace": laplace}
"""The four label shapes by the codec's ``smoothing`` name."""
