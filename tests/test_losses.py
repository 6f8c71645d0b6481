"""Losses: KL is non-negative and minimal at the target, weights mask keypoints, autocast is stable."""
from __future__ import annotations

import pytest
import torch

from simcc_lab.codecs import HeatmapCodec, SimCCCodec
from simcc_lab.losses import HeatmapMSELoss, SimCCKLLoss, build_loss


def _targets(smoothing="gaussian"):
    codec = SimCCCodec((32, 32), k=2, smoothing=smoothing, sigma=2.0)
    t = codec.encode(torch.rand(3, 5, 2) * 30, torch.ones(3, 5))
    return (t.x, t.y), t.weights


@pytest.mark.parametrize("smoothing", ["gaussian", "laplace", "equal"])
def test_kl_is_zero_at_the_target_and_positive_elsewhere(smoothing):
    (tx, ty), w = _targets(smoothing)
    loss = SimCCKLLoss()
    at_target = loss((torch.log(tx.clamp_min(1e-30)), torch.log(ty.clamp_min(1e-30))), (tx, ty), w)
    assert abs(float(at_target)) < 1e-4
    other = loss((torch.randn_like(tx), torch.randn_like(ty)), (tx, ty), w)
    assert float(other) > 0.1


def test_one_hot_targets_give_cross_entropy():
    (tx, ty), w = _targets("none")
    logits = torch.randn_like(tx), torch.randn_like(ty)
    ce = 0.5 * (torch.nn.functional.cross_entropy(logits[0].flatten(0, 1), tx.flatten(0, 1).argmax(-1))
                + torch.nn.functional.cross_entropy(logits[1].flatten(0, 1), ty.flatten(0, 1).argmax(-1)))
    torch.testing.assert_close(SimCCKLLoss()(logits, (tx, ty), w), ce, rtol=1e-5, atol=1e-5)


def test_masked_keypoints_change_nothing():
    (tx, ty), w = _targets()
    w[:, 0] = 0
    logits = [torch.randn_like(tx), torch.randn_like(ty)]
    a = SimCCKLLoss()(tuple(logits), (tx, ty), w)
    logits[0][:, 0] += 100 * torch.randn_like(logits[0][:, 0])
    assert float(SimCCKLLoss()(tuple(logits), (tx, ty), w)) == pytest.approx(float(a), rel=1e-6)


def test_bf16_autocast_is_close_to_fp32():
    (tx, ty), w = _targets()
    logits = torch.randn_like(tx) * 5, torch.randn_like(ty) * 5
    ref = SimCCKLLoss()(logits, (tx, ty), w)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = SimCCKLLoss()(tuple(l.bfloat16() for l in logits), (tx, ty), w)
    assert torch.isfinite(low) and float(low) == pytest.approx(float(ref), rel=2e-2)


def test_heatmap_mse_and_build_loss():
    codec = HeatmapCodec((32, 32), stride=4)
    t = codec.encode(torch.rand(2, 3, 2) * 30, torch.ones(2, 3))
    loss = build_loss(codec)
    assert isinstance(loss, HeatmapMSELoss)
    assert float(loss((t.heatmaps,), (t.heatmaps,), t.weights)) == 0
    assert float(loss((t.heatmaps + 1,), (t.heatmaps,), t.weights)) == pytest.approx(0.5)
    assert isinstance(build_loss(SimCCCodec((32, 32))), SimCCKLLoss)
    with pytest.raises(ValueError, match="beta"):
        SimCCKLLoss(beta=0)
