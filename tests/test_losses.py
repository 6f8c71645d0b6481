"""Losses: KL is non-negative and zero at the target, weights mask keypoints, reductions, autocast."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from simcc_lab.codecs import HeatmapCodec, SimCCCodec
from simcc_lab.training.losses import HeatmapMSELoss, SimCCKLLoss, build_loss


def _targets(smoothing="gaussian", seed=0):
    codec = SimCCCodec((32, 32), k=2, smoothing=smoothing, sigma=2.0)
    kp = torch.rand(3, 5, 2, generator=torch.Generator().manual_seed(seed)) * 30
    t = codec.encode(kp, torch.ones(3, 5))
    return (t.x, t.y), t.weights


def _logits_of(p):
    return torch.log(p.clamp_min(1e-30))


@pytest.mark.parametrize("smoothing", ["gaussian", "laplace", "equal", "none"])
def test_kl_is_zero_at_the_target_and_positive_elsewhere(smoothing):
    (tx, ty), w = _targets(smoothing)
    loss = SimCCKLLoss()
    assert abs(float(loss((_logits_of(tx), _logits_of(ty)), (tx, ty), w))) < 1e-4
    # logits are defined up to a constant per row: shifting them changes nothing
    shifted = loss((_logits_of(tx) + 7.0, _logits_of(ty) - 3.0), (tx, ty), w)
    assert abs(float(shifted)) < 1e-4
    other = loss((torch.randn_like(tx), torch.randn_like(ty)), (tx, ty), w)
    assert float(other) > 0.1


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), scale=st.floats(0.01, 50.0), beta=st.floats(0.1, 20.0))
def test_kl_is_never_negative(seed, scale, beta):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(2, 3, 16, generator=g) ** 4  # arbitrary non-negative, unnormalised
    logits = torch.randn(2, 3, 16, generator=g) * scale
    per = SimCCKLLoss(beta=beta, reduction="none")((logits, logits), (target, target), torch.ones(2, 3))
    assert bool((per >= -1e-5).all())


def test_unnormalised_targets_are_normalised():
    (tx, ty), w = _targets("gaussian")
    loss = SimCCKLLoss()
    logits = torch.randn_like(tx), torch.randn_like(ty)
    torch.testing.assert_close(loss(logits, (3 * tx, 0.5 * ty), w), loss(logits, (tx, ty), w))


def test_one_hot_targets_give_cross_entropy():
    (tx, ty), w = _targets("none")
    logits = torch.randn_like(tx), torch.randn_like(ty)
    ce = 0.5 * (torch.nn.functional.cross_entropy(logits[0].flatten(0, 1), tx.flatten(0, 1).argmax(-1))
                + torch.nn.functional.cross_entropy(logits[1].flatten(0, 1), ty.flatten(0, 1).argmax(-1)))
    torch.testing.assert_close(SimCCKLLoss()(logits, (tx, ty), w), ce, rtol=1e-5, atol=1e-5)


def test_beta_and_label_softmax():
    (tx, ty), w = _targets("gaussian")
    # beta scales the logits before the softmax: logits / beta reach the same minimum
    beta = 4.0
    assert abs(float(SimCCKLLoss(beta=beta)((_logits_of(tx) / beta, _logits_of(ty) / beta), (tx, ty), w))) < 1e-4
    # label softmax (RTMPose): the target becomes softmax(label_beta * t), so logits = label_beta * t is exact
    ls = SimCCKLLoss(label_softmax=True, label_beta=10.0)
    assert abs(float(ls((10.0 * tx, 10.0 * ty), (tx, ty), w))) < 1e-5
    assert float(ls((_logits_of(tx), _logits_of(ty)), (tx, ty), w)) > 0.01  # a different target now


def test_masked_keypoints_change_nothing():
    (tx, ty), w = _targets()
    w[:, 0] = 0
    logits = [torch.randn_like(tx), torch.randn_like(ty)]
    a = SimCCKLLoss()(tuple(logits), (tx, ty), w)
    logits[0][:, 0] += 100 * torch.randn_like(logits[0][:, 0])
    assert float(SimCCKLLoss()(tuple(logits), (tx, ty), w)) == pytest.approx(float(a), rel=1e-6)
    logits[1][:, 0] = float("inf")  # even non-finite logits of a masked keypoint
    assert float(SimCCKLLoss()(tuple(logits), (tx, ty), w)) == pytest.approx(float(a), rel=1e-6)


def test_masked_keypoints_get_no_gradient_and_do_not_dilute_the_mean():
    (tx, ty), w = _targets()
    x = torch.randn_like(tx, requires_grad=True)
    y = torch.randn_like(ty)
    full = SimCCKLLoss(reduction="none")((x, y), (tx, ty), w)
    w[:, 1:] = 0
    loss = SimCCKLLoss()((x, y), (tx, ty), w)
    loss.backward()
    assert x.grad[:, 1:].abs().max() == 0 and x.grad[:, 0].abs().max() > 0
    # "mean" averages over the 3 labelled keypoints only
    torch.testing.assert_close(loss, full[:, 0].mean())


def test_reductions_agree():
    (tx, ty), w = _targets()
    w[0, 2] = 0
    logits = torch.randn_like(tx), torch.randn_like(ty)
    none = SimCCKLLoss(reduction="none")(logits, (tx, ty), w)
    assert none.shape == w.shape and float(none[0, 2]) == 0
    torch.testing.assert_close(SimCCKLLoss(reduction="sum")(logits, (tx, ty), w), none.sum())
    torch.testing.assert_close(SimCCKLLoss()(logits, (tx, ty), w), none.sum() / 14)


def test_full_targets_namedtuple_is_accepted():
    codec = SimCCCodec((32, 32), k=2, sigma=2.0)
    t = codec.encode(torch.rand(2, 4, 2) * 30, torch.ones(2, 4))
    logits = torch.randn_like(t.x), torch.randn_like(t.y)
    torch.testing.assert_close(SimCCKLLoss()(logits, t, t.weights), SimCCKLLoss()(logits, (t.x, t.y), t.weights))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_autocast_is_close_to_fp32(dtype):
    (tx, ty), w = _targets()
    torch.manual_seed(0)
    layer = torch.nn.Linear(8, tx.shape[-1])
    feats = torch.randn(3, 5, 8)
    ref = SimCCKLLoss()((layer(feats) * 5, layer(feats) * 5), (tx, tx), w)
    with torch.autocast("cpu", dtype=dtype):
        logits = layer(feats) * 5  # half precision logits from autocast
        assert logits.dtype == dtype
        low = SimCCKLLoss()((logits, logits), (tx, tx), w)
    assert low.dtype == torch.float32 and torch.isfinite(low)
    assert low.item() == pytest.approx(ref.item(), rel=2e-2)


def test_heatmap_mse():
    codec = HeatmapCodec((32, 32), stride=4)
    t = codec.encode(torch.rand(2, 3, 2) * 30, torch.ones(2, 3))
    loss = build_loss(codec)
    assert isinstance(loss, HeatmapMSELoss)
    assert float(loss((t.heatmaps,), (t.heatmaps,), t.weights)) == 0
    assert float(loss((t.heatmaps + 1,), (t.heatmaps,), t.weights)) == pytest.approx(0.5)
    # masked keypoints contribute nothing but still count in the mean over B*K (the MSRA convention)
    w = t.weights.clone()
    w[:, 0] = 0
    pred = t.heatmaps + 1
    pred[:, 0] += 1000
    assert float(loss((pred,), (t.heatmaps,), w)) == pytest.approx(0.5 * 4 / 6)
    none = HeatmapMSELoss(reduction="none")((pred,), (t.heatmaps,), w)
    assert none.shape == (2, 3) and float(none[:, 0].abs().max()) == 0
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert loss((t.heatmaps.bfloat16(),), (t.heatmaps,), t.weights).dtype == torch.float32


def test_build_loss_and_bad_arguments():
    assert isinstance(build_loss(SimCCCodec((32, 32))), SimCCKLLoss)
    assert build_loss(SimCCCodec((32, 32)), beta=10.0).beta == 10.0
    with pytest.raises(ValueError, match="beta"):
        SimCCKLLoss(beta=0)
    with pytest.raises(ValueError, match="label_beta"):
        SimCCKLLoss(label_beta=-1)
    with pytest.raises(ValueError, match="reduction"):
        SimCCKLLoss(reduction="batchmean")
    with pytest.raises(ValueError, match="codec.kind"):
        build_loss(object())
    with pytest.raises(ValueError, match="one shape"):
        SimCCKLLoss()((torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)), (torch.zeros(1, 2, 5), torch.zeros(1, 2, 4)),
                      torch.ones(1, 2))
