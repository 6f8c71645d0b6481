"""Losses: KL divergence for SimCC's two 1-D distributions, weighted MSE for heatmaps.

Both are called as ``loss(outputs tuple, targets tuple, weights (B, K)) -> scalar`` with the tuples in the
codec's order (SimCC ``(x, y)``, heatmap ``(heatmaps,)``), and compute in float32 whatever autocast hands
them: a softmax over hundreds of bins is where half precision loses accuracy.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["SimCCKLLoss", "HeatmapMSELoss", "build_loss"]

REDUCTIONS = ("mean", "sum", "none")


def _reduce(per_kpt: torch.Tensor, weights: torch.Tensor, reduction: str) -> torch.Tensor:
    """Weighted reduction of per-keypoint losses (B, K).

    "mean": sum(w * loss) / (number of keypoints with w > 0, at least 1), so masked keypoints neither
    contribute nor dilute; "sum": sum(w * loss); "none": w * loss, (B, K).
    """
    w = weights.float()
    # where(), not a product: a masked keypoint with non-finite logits must not turn the loss into NaN
    weighted = torch.where(w > 0, per_kpt * w, torch.zeros_like(per_kpt))
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    return weighted.sum() / (w > 0).sum().clamp_min(1)


class SimCCKLLoss(nn.Module):
    """KL(target || softmax(beta * logits)) per axis, for SimCC's x and y classifications.

    Per keypoint and axis, with target t over N bins (normalised to sum 1) and p = softmax(beta * logits):
    ``KL = sum_i t_i log t_i - t_i log p_i`` (nats; summed over bins, so it does not shrink with N).
    The keypoint's loss is the mean of its x and y terms; keypoints are then weighted and reduced by
    ``reduction`` (see :func:`_reduce`; "mean" averages over the labelled keypoints of the batch).

    The t log t term (torch.xlogy, 0 log 0 = 0) makes KL >= 0, with 0 exactly when p equals t: the
    loss reads the same for one-hot, equal, Gaussian and Laplace labels (for one-hot labels it is the
    cross-entropy). Targets are divided by their sum because a Gaussian cut off at the border sums to
    less than 1; all-zero targets (keypoints the codec dropped) contribute 0.

    Relation to the reference code: the official SimCC loss averages KLDivLoss over the bins (1/N times
    this), sums the x and y terms and divides by B*K including masked keypoints; these are constant
    factors that Adam's step size ignores, except that the masked-keypoint count varies per batch.

    Args:
        beta: softmax temperature on the logits (RTMPose uses 10), > 0.
        label_softmax: replace the target by softmax(label_beta * target) (RTMPose).
        label_beta: temperature of that label softmax, > 0.
        reduction: "mean" | "sum" | "none" ((B, K) weighted per-keypoint losses).
    """

    def __init__(self, beta: float = 1.0, label_softmax: bool = False, label_beta: float = 10.0,
                 reduction: str = "mean"):
        super().__init__()
        if not beta > 0:
            raise ValueError(f"beta must be > 0, got {beta!r}")
        if not label_beta > 0:
            raise ValueError(f"label_beta must be > 0, got {label_beta!r}")
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.beta, self.label_softmax, self.label_beta = float(beta), bool(label_softmax), float(label_beta)
        self.reduction = reduction

    def axis_kl(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """KL per keypoint for one axis: logits (B, K, N), target (B, K, N) -> (B, K), float32."""
        if logits.shape != target.shape:
            raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} must have one shape")
        logp = torch.log_softmax(logits.float() * self.beta, dim=-1)
        t = target.float()
        if self.label_softmax:
            t = torch.softmax(t * self.label_beta, dim=-1)
        else:
            t = t / t.sum(-1, keepdim=True).clamp_min(1e-12)
        return (torch.xlogy(t, t) - t * logp).sum(-1)

    def forward(self, outputs, targets, weights: torch.Tensor) -> torch.Tensor:
        """outputs (x (B,K,Nx), y (B,K,Ny)) logits, targets the same shapes, weights (B, K) -> scalar."""
        (x, y), (tx, ty) = tuple(outputs), tuple(targets)[:2]
        per_kpt = 0.5 * (self.axis_kl(x, tx) + self.axis_kl(y, ty))
        return _reduce(per_kpt, weights, self.reduction)


class HeatmapMSELoss(nn.Module):
    """SimpleBaseline's loss: per keypoint 0.5 * mean over pixels of (pred - target)^2, weighted.

    With "mean" reduction the weighted per-keypoint terms are averaged over all B*K keypoints, masked ones
    included, exactly as the MSRA code (``0.5 * MSE(pred * w, gt * w)`` averaged over joints) does for
    0/1 weights: the scale that the paper's heatmap learning rate was tuned for.
    """

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def forward(self, outputs, targets, weights: torch.Tensor) -> torch.Tensor:
        """outputs (heatmaps (B,K,h,w),), targets the same, weights (B, K) -> scalar."""
        (pred,), (tgt,) = tuple(outputs), tuple(targets)[:1]
        if pred.shape != tgt.shape:
            raise ValueError(f"heatmaps {tuple(pred.shape)} and targets {tuple(tgt.shape)} must have one shape")
        per_kpt = 0.5 * ((pred.float() - tgt.float()) ** 2).mean(dim=(-2, -1))
        if self.reduction == "mean":
            w = weights.float()
            return torch.where(w > 0, per_kpt * w, torch.zeros_like(per_kpt)).mean()
        return _reduce(per_kpt, weights, self.reduction)


def build_loss(codec, **kwargs) -> nn.Module:
    """The loss for ``codec.kind``: :class:`SimCCKLLoss` for "simcc", :class:`HeatmapMSELoss` for "heatmap";
    ``kwargs`` go to its constructor."""
    kind = getattr(codec, "kind", None)
    if kind == "simcc":
        return SimCCKLLoss(**kwargs)
    if kind == "heatmap":
        return HeatmapMSELoss(**kwargs)
    raise ValueError(f"codec.kind must be 'simcc' or 'heatmap', got {kind!r}")
