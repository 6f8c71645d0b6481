"""1-D label shapes over bins: one-hot, equal (standard label smoothing), Gaussian and Laplace.

Every function takes bin positions ``bins`` of shape (N,) and centres ``mu`` of any shape (...), and
returns labels of shape (..., N). Positions and centres are in bins (SimCC: input pixel x * k).
numpy arrays in give numpy arrays out; torch tensors in give tensors out (same device).
"""
from __future__ import annotations

import math

import numpy as np
import torch


def _as_torch(bins, mu):
    """(bins, mu) as float32 tensors on one device, and whether the caller gave numpy."""
    is_numpy = not isinstance(bins, torch.Tensor) and not isinstance(mu, torch.Tensor)
    device = next((t.device for t in (bins, mu) if isinstance(t, torch.Tensor)), None)
    b = torch.as_tensor(np.asarray(bins) if not isinstance(bins, torch.Tensor) else bins, dtype=torch.float32,
                        device=device)
    m = torch.as_tensor(np.asarray(mu) if not isinstance(mu, torch.Tensor) else mu, dtype=torch.float32,
                        device=device)
    if b.ndim != 1:
        raise ValueError(f"bins must be 1-D (N,), got shape {tuple(b.shape)}")
    return b, m, is_numpy


def _out(t: torch.Tensor, is_numpy: bool):
    return t.cpu().numpy() if is_numpy else t


def _positive(value, name: str) -> None:
    v = torch.as_tensor(value, dtype=torch.float32)
    if not bool(torch.all(v > 0)):
        raise ValueError(f"{name} must be > 0, got {value!r}")


def _nearest(b: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """(..., N) boolean mask of the bin nearest to each centre (ties to the lower bin)."""
    idx = torch.argmin((b - m[..., None]).abs(), dim=-1)
    return torch.nn.functional.one_hot(idx, b.shape[0]).bool()


def one_hot(bins, mu):
    """1 at the bin nearest ``mu``, 0 elsewhere. Shape (..., N)."""
    b, m, is_np = _as_torch(bins, mu)
    return _out(_nearest(b, m).float(), is_np)


def equal(bins, mu, eps: float = 0.1):
    """Standard label smoothing: ``1 - eps`` at the nearest bin, ``eps / (N - 1)`` elsewhere. (..., N)."""
    if not 0 <= eps < 1:
        raise ValueError(f"eps must be in [0, 1), got {eps!r}")
    b, m, is_np = _as_torch(bins, mu)
    n = b.shape[0]
    off = eps / (n - 1) if n > 1 else 0.0
    hot = _nearest(b, m)
    return _out(torch.where(hot, torch.tensor(1.0 - eps), torch.tensor(off, dtype=torch.float32)), is_np)


def gaussian(bins, mu, sigma, normalize: bool = True):
    """Gaussian over bins: ``exp(-(i - mu)^2 / (2 sigma^2))``, divided by ``sigma sqrt(2 pi)`` when
    ``normalize`` (the official SimCC label, summing to ~1), else peak 1. ``sigma`` (bins) is a scalar or
    broadcasts against ``mu``. (..., N)."""
    _positive(sigma, "sigma")
    b, m, is_np = _as_torch(bins, mu)
    s = torch.as_tensor(sigma, dtype=torch.float32, device=b.device)
    s = s[..., None] if s.ndim else s
    g = torch.exp(-((b - m[..., None]) ** 2) / (2 * s**2))
    if normalize:
        g = g / (s * math.sqrt(2 * math.pi))
    return _out(g, is_np)


def laplace(bins, mu, b, normalize: bool = True):
    """Laplace over bins: ``exp(-|i - mu| / b)``, normalised to sum to 1 over the integer lattice when
    ``normalize``, else peak 1. ``b`` (bins) is a scalar or broadcasts against ``mu``. (..., N).

    The continuous pdf's 1/(2b) overshoots on a lattice by about 1/(12 b^2) (0.9% at b = 3), so the exact
    lattice sum is used: with f = frac(mu), Z = (e^(-f/b) + e^(-(1-f)/b)) / (1 - e^(-1/b)).
    """
    _positive(b, "b")
    bins_t, m, is_np = _as_torch(bins, mu)
    s = torch.as_tensor(b, dtype=torch.float32, device=bins_t.device)
    s = s[..., None] if s.ndim else s
    g = torch.exp(-(bins_t - m[..., None]).abs() / s)
    if normalize:
        f = (m - torch.floor(m))[..., None]
        z = (torch.exp(-f / s) + torch.exp(-(1 - f) / s)) / (1 - torch.exp(-1 / s))
        g = g / z
    return _out(g, is_np)


SHAPES = {"none": one_hot, "equal": equal, "gaussian": gaussian, "laplace": laplace}
