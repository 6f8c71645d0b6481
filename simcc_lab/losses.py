"""Losses: KL divergence for SimCC's two 1-D distributions, weighted MSE for heatmaps.

Both take ``(outputs tuple, targets tuple, weights (B, K))`` and return a scalar, and compute in float32
whatever autocast gives them (softmax over hundreds of bins is where half precision loses accuracy).
"""
from __future__ import annotations

import torch
from torch import nn


class SimCCKLLoss(nn.Module):
    """KL(target || softmax(beta * logits)) per axis, summed over bins, averaged over the labelled keypoints.

    Reduction: per keypoint the x and y KL terms are averaged; keypoints are weighted by ``weights`` and
    the sum is divided by the number of keypoints with weight > 0 (at least 1), so masked keypoints
    neither contribute nor dilute. Targets need not be normalised: each is divided by its sum (one-hot,
    equal, Gaussian and Laplace labels all go through the same loss). ``label_softmax`` replaces the
    target by softmax(label_beta * target), as RTMPose does. KL >= 0, and 0 when the prediction equals the
    (normalised) target.
    """

    def __init__(self, beta: float = 1.0, label_softmax: bool = False, label_beta: float = 10.0):
        super().__init__()
        if beta <= 0 or label_beta <= 0:
            raise ValueError(f"beta and label_beta must be > 0, got {beta!r}, {label_beta!r}")
        self.beta, self.label_softmax, self.label_beta = beta, label_softmax, label_beta

    def _axis(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logp = torch.log_softmax(logits.float() * self.beta, dim=-1)
        t = target.float()
        if self.label_softmax:
            t = torch.softmax(t * self.label_beta, dim=-1)
        else:
            t = t / t.sum(-1, keepdim=True).clamp_min(1e-12)
        return (torch.xlogy(t, t) - t * logp).sum(-1)  # (B, K)

    def forward(self, outputs, targets, weights):
        (x, y), (tx, ty) = outputs, targets
        per_kpt = 0.5 * (self._axis(x, tx) + self._axis(y, ty))
        w = weights.float()
        return (per_kpt * w).sum() / (w > 0).sum().clamp_min(1)


class HeatmapMSELoss(nn.Module):
    """SimpleBaseline's loss: 0.5 * mean squared error per keypoint map, keypoints weighted, averaged over
    (B, K) like the MSRA code."""

    def forward(self, outputs, targets, weights):
        (pred,), (tgt,) = outputs, targets
        per_kpt = ((pred.float() - tgt.float()) ** 2).mean(dim=(-2, -1))
        return 0.5 * (per_kpt * weights.float()).mean()


def build_loss(codec, **kwargs) -> nn.Module:
    """The loss for ``codec.kind``: SimCCKLLoss for "simcc", HeatmapMSELoss for "heatmap"."""
    if codec.kind == "simcc":
        return SimCCKLLoss(**kwargs)
    if codec.kind == "heatmap":
        return HeatmapMSELoss()
    raise ValueError(f"unknown codec kind {codec.kind!r}")
