"""Codecs: round-trip accuracy against theory, label shapes, invalid settings, numpy/torch parity, flips."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from simcc_lab import smoothing as S
from simcc_lab.codecs import HeatmapCodec, SimCCCodec, build_codec
from simcc_lab.keypoints import COCO17

N = 100_000


def uniform_keypoints(n, size, rng, margin=0.0):
    """n keypoints uniform over [-0.5 + margin, W - 0.5 - margin) x [...], as (n // 10, 10, 2)."""
    w, h = size
    pts = np.stack([rng.uniform(-0.5 + margin, w - 0.5 - margin, n), rng.uniform(-0.5 + margin, h - 0.5 - margin, n)], -1)
    return pts.reshape(-1, 10, 2).astype(np.float64)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_simcc_round_trip_matches_theory(k):
    rng = np.random.default_rng(k)
    codec = SimCCCodec((32, 32), k=k, smoothing="none")
    kpts = uniform_keypoints(N, (32, 32), rng)
    t = codec.encode(kpts, np.ones(kpts.shape[:2]))
    dec, _ = codec.decode(t.x, t.y)
    ok = t.weights > 0
    e = (dec - kpts)[ok]  # per-axis errors
    assert ok.all(), "every keypoint inside the input is encoded"
    assert abs(np.abs(e).mean() - 1 / (4 * k)) < 0.03 / (4 * k)
    assert np.abs(e).max() <= 1 / (2 * k) + 1e-6
    assert abs(e.mean()) < 0.01 / k


@pytest.mark.parametrize("stride", [2, 4, 8])
def test_heatmap_biased_argmax_matches_theory(stride):
    rng = np.random.default_rng(stride)
    codec = HeatmapCodec((64, 64), stride=stride, sigma=2.0, encoding="biased", refinement="none")
    kpts = uniform_keypoints(20_000, (64, 64), rng, margin=stride)
    t = codec.encode(kpts, np.ones(kpts.shape[:2]))
    dec, _ = codec.decode(t.heatmaps)
    e = np.abs(dec - kpts)
    assert abs(e.mean() - stride / 4) < 0.03 * stride / 4
    assert e.max() <= stride / 2 + 1e-4


def test_unbiased_dark_is_sub_pixel_on_noise_free_maps():
    rng = np.random.default_rng(0)
    codec = HeatmapCodec((192, 256), stride=4, sigma=2.0, encoding="unbiased", refinement="dark")
    kpts = uniform_keypoints(5_000, (192, 256), rng, margin=16)  # away from the border, as DARK assumes
    dec, _ = codec.decode(codec.encode(kpts, np.ones(kpts.shape[:2])).heatmaps)
    assert np.abs(dec - kpts).mean() < 0.05


def test_quarter_offset_beats_plain_argmax():
    rng = np.random.default_rng(1)
    kpts = uniform_keypoints(5_000, (64, 64), rng, margin=8)
    errs = {}
    for ref in ("none", "quarter"):
        c = HeatmapCodec((64, 64), stride=4, encoding="unbiased", refinement=ref)
        errs[ref] = np.abs(c.decode(c.encode(kpts, np.ones(kpts.shape[:2])).heatmaps)[0] - kpts).mean()
    assert errs["quarter"] < errs["none"]


# ---------------------------------------------------------------------------------------------------
# label shapes
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["gaussian", "laplace"])
@pytest.mark.parametrize("mu", [40.0, 41.3, 57.77])
def test_normalised_labels_sum_peak_and_symmetry(shape, mu):
    bins = np.arange(100.0)
    lab = getattr(S, shape)(bins, np.array(mu), 3.0)
    assert abs(lab.sum() - 1) < 1e-3
    assert np.argmax(lab) == int(np.floor(mu + 0.5))
    d = np.linspace(0.5, 10, 20)
    f = getattr(S, shape)(np.concatenate([mu - d, mu + d]), np.array(mu), 3.0)
    np.testing.assert_allclose(f[:20], f[20:], rtol=1e-5)


def test_equal_smoothing_values_exact():
    lab = S.equal(np.arange(11.0), np.array(4.2), eps=0.1)
    assert lab[4] == pytest.approx(0.9)
    np.testing.assert_allclose(np.delete(lab, 4), 0.1 / 10, rtol=1e-6)
    assert lab.sum() == pytest.approx(1.0)


def test_one_hot_picks_nearest_bin():
    lab = S.one_hot(np.arange(8.0), np.array([2.49, 2.51, 7.0]))
    assert lab.argmax(-1).tolist() == [2, 3, 7] and lab.sum() == 3


def test_continuous_and_rounded_centres_differ_exactly():
    kp = np.array([[[10.3, 20.6]]])
    cont = SimCCCodec((64, 64), k=2, sigma=2.0, centre="continuous").encode(kp, np.ones((1, 1)))
    rnd = SimCCCodec((64, 64), k=2, sigma=2.0, centre="rounded").encode(kp, np.ones((1, 1)))
    bins = np.arange(128.0)
    # bin position (x + 0.5) k - 0.5: x 10.3 -> 21.1 (rounded 21), y 20.6 -> 41.7 (rounded 42)
    np.testing.assert_allclose(cont.x[0, 0], S.gaussian(bins, np.array(21.1), 2.0), rtol=1e-5)
    np.testing.assert_allclose(rnd.x[0, 0], S.gaussian(bins, np.array(21.0), 2.0), rtol=1e-5)
    np.testing.assert_allclose(rnd.y[0, 0], S.gaussian(bins, np.array(42.0), 2.0), rtol=1e-5)
    assert not np.allclose(cont.x, rnd.x)


def test_per_axis_sigma():
    c = SimCCCodec((64, 64), k=2, sigma=(1.0, 5.0))
    t = c.encode(np.array([[[29.75, 29.75]]]), np.ones((1, 1)))  # bin position exactly 60
    assert t.x.max() == pytest.approx(1 / np.sqrt(2 * np.pi), rel=1e-4)
    assert t.y.max() == pytest.approx(1 / (5 * np.sqrt(2 * np.pi)), rel=1e-4)


# ---------------------------------------------------------------------------------------------------
# invalid settings and bad keypoints
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, name", [
    (dict(k=0.5), "k"), (dict(sigma=0.0), "sigma"), (dict(sigma=(1.0, -1.0)), "sigma"), (dict(eps=1.0), "eps"),
    (dict(eps=-0.1), "eps"), (dict(smoothing="cauchy"), "smoothing"), (dict(centre="middle"), "centre"),
    (dict(score="max"), "score"), (dict(input_size=(0, 64)), "input_size"),
])
def test_simcc_invalid_settings_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SimCCCodec(**kwargs)


@pytest.mark.parametrize("kwargs, name", [
    (dict(sigma=0.0), "sigma"), (dict(refinement="magic"), "refinement"), (dict(encoding="odd"), "encoding"),
    (dict(stride=5), "stride"), (dict(stride=0), "stride"), (dict(heatmap_size=(50, 64)), "heatmap_size"),
    (dict(input_size=(-1, 4)), "input_size"), (dict(blur_kernel=4), "blur_kernel"),
])
def test_heatmap_invalid_settings_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        HeatmapCodec(**kwargs)


@pytest.mark.parametrize("codec", [SimCCCodec((32, 32), k=2), HeatmapCodec((32, 32), stride=4)])
def test_bad_keypoints_get_zero_weight_and_zero_labels(codec):
    kp = np.array([[[5.0, 5.0], [np.nan, 3.0], [40.0, 3.0], [-3.0, 3.0], [5.0, np.inf], [6.0, 6.0]]])
    vis = np.array([[2, 2, 2, 2, 2, 0]])
    t = codec.encode(kp, vis)
    assert t.weights.tolist() == [[1, 0, 0, 0, 0, 0]]
    for label in tuple(t)[:-1]:
        assert np.isfinite(label).all()
        assert np.abs(label[0, 1:]).sum() == 0 and label[0, 0].sum() > 0


@pytest.mark.parametrize("codec", [SimCCCodec((32, 24), k=3, smoothing="laplace"),
                                   HeatmapCodec((32, 24), stride=4, refinement="dark")])
def test_numpy_and_torch_agree(codec):
    kp = np.random.default_rng(0).uniform(0, 23, size=(4, 17, 2)).astype(np.float32)
    vis = np.ones((4, 17), np.float32)
    tn, tt = codec.encode(kp, vis), codec.encode(torch.from_numpy(kp), torch.from_numpy(vis))
    for a, b in zip(tn, tt):
        assert isinstance(b, torch.Tensor)
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-6, atol=1e-7)
    dn, dt = codec.decode(*tuple(tn)[:-1]), codec.decode(*tuple(tt)[:-1])
    np.testing.assert_allclose(dn[0], dt[0].numpy(), atol=1e-5)


def test_decode_from_logits_equals_from_probabilities():
    codec = SimCCCodec((32, 32), k=2)
    logits = torch.randn(3, 17, 64), torch.randn(3, 17, 64)
    k1, s1 = codec.decode(*logits)
    k2, s2 = codec.decode(torch.softmax(logits[0], -1), torch.softmax(logits[1], -1))
    assert torch.equal(k1, k2)
    torch.testing.assert_close(s1, s2)
    assert float(s1.max()) <= 1.0


@pytest.mark.parametrize("k", [1, 2, 3])
def test_simcc_flip_outputs_reproduce_the_unflipped_encoding(k):
    w = 32
    codec = SimCCCodec((w, w), k=k, sigma=1.5)
    kp = np.random.default_rng(k).uniform(3, w - 4, size=(2, 17, 2))
    flipped = kp.copy()
    flipped[..., 0] = w - 1 - kp[..., 0]
    flipped = flipped[:, COCO17.flip_index]
    a, b = codec.encode(kp, np.ones((2, 17))), codec.encode(flipped, np.ones((2, 17)))
    fx, fy = codec.flip_outputs((b.x, b.y), COCO17.flip_index)
    np.testing.assert_allclose(fx, a.x, atol=1e-5)
    np.testing.assert_allclose(fy, a.y, atol=1e-6)


def test_heatmap_flip_outputs_land_on_the_keypoints():
    codec = HeatmapCodec((64, 64), stride=4, encoding="unbiased", refinement="dark")
    kp = np.random.default_rng(3).uniform(12, 51, size=(2, 17, 2))
    flipped = kp.copy()
    flipped[..., 0] = 63 - kp[..., 0]
    flipped = flipped[:, COCO17.flip_index]
    (hm,) = codec.flip_outputs((codec.encode(flipped, np.ones((2, 17))).heatmaps,), COCO17.flip_index)
    shifted = np.abs(codec.decode(hm)[0] - kp).mean()
    (hm0,) = codec.flip_outputs((codec.encode(flipped, np.ones((2, 17))).heatmaps,), COCO17.flip_index, shift=False)
    assert shifted < 0.25 < np.abs(codec.decode(hm0)[0] - kp).mean()


def test_build_codec():
    assert build_codec("simcc", (64, 64), k=3).simcc_size == (192, 192)
    assert build_codec("heatmap", (192, 256), stride=4).heatmap_size == (48, 64)
    with pytest.raises(ValueError, match="kind"):
        build_codec("regression", (64, 64))


# ---------------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(w=st.integers(4, 40), h=st.integers(4, 40), k=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
       sigma=st.floats(0.3, 6.0), smoothing=st.sampled_from(["none", "gaussian", "laplace", "equal"]),
       pts=st.lists(st.tuples(st.floats(-20, 60) | st.just(float("nan")), st.floats(-20, 60) | st.just(float("inf"))),
                    min_size=1, max_size=12))
def test_simcc_encode_decode_properties(w, h, k, sigma, smoothing, pts):
    codec = SimCCCodec((w, h), k=k, sigma=sigma, smoothing=smoothing)
    kp = np.array(pts, dtype=np.float64)[None]
    t = codec.encode(kp, np.ones(kp.shape[:2]))
    assert t.x.shape == (1, len(pts), codec.simcc_size[0]) and np.isfinite(t.x).all() and np.isfinite(t.y).all()
    with np.errstate(invalid="ignore"):
        inside = (np.isfinite(kp).all(-1) & (kp[..., 0] >= -0.5) & (kp[..., 0] < w - 0.5)
                  & (kp[..., 1] >= -0.5) & (kp[..., 1] < h - 0.5))
    assert (t.weights > 0).tolist() == inside.tolist()
    dec, _ = codec.decode(t.x, t.y)
    if inside.any():
        assert np.abs(dec - kp)[inside].max() <= 1 / (2 * k) + 1e-4
