"""Codecs: round trips against theory, label shapes, invalid settings, bad keypoints, numpy/torch parity,
logits vs probabilities, flips, and properties over random settings."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from simcc_lab.codecs import smoothing as S
from simcc_lab.codecs import HeatmapCodec, SimCCCodec, build_codec, default_blur_kernel
from simcc_lab.keypoints import COCO17

N = 100_000


def uniform_keypoints(n, size, rng, margin=0.0):
    """n keypoints uniform over the input [-0.5 + margin, W - 0.5 - margin) x (same in y), as (n // 10, 10, 2)."""
    w, h = size
    pts = np.stack([rng.uniform(-0.5 + margin, w - 0.5 - margin, n),
                    rng.uniform(-0.5 + margin, h - 0.5 - margin, n)], -1)
    return pts.reshape(-1, 10, 2)


def heatmap_errors(codec, n, rng, margin, chunk=20_000):
    """Per-axis round-trip errors (n, 2) of a heatmap codec, in chunks to bound memory."""
    errs = []
    for _ in range(n // chunk):
        kp = uniform_keypoints(chunk, codec.input_size, rng, margin)
        dec, _ = codec.decode(codec.encode(kp, np.ones(kp.shape[:2])).heatmaps)
        errs.append((dec - kp).reshape(-1, 2))
    return np.concatenate(errs)


# ---------------------------------------------------------------------------------------------------
# round trips against theory (per axis, 10^5 keypoints)
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("smoothing", ["none", "gaussian"])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_simcc_round_trip_matches_theory(k, smoothing):
    rng = np.random.default_rng(k)
    codec = SimCCCodec((16, 16), k=k, smoothing=smoothing, sigma=2.0)  # small input: labels stay ~50 MB
    kpts = uniform_keypoints(N, (16, 16), rng)
    t = codec.encode(kpts, np.ones(kpts.shape[:2]))
    dec, _ = codec.decode(t.x, t.y, from_logits=False)
    assert np.all(t.weights == 1), "every keypoint inside the input is encoded"
    e = dec - kpts  # per-axis errors, input px
    assert abs(np.abs(e).mean() - 1 / (4 * k)) < 0.03 / (4 * k)
    assert np.abs(e).max() <= 1 / (2 * k) + 1e-6
    assert abs(e.mean()) < 0.01 / k  # unbiased: pixel centres at integers, bins tile the input


@pytest.mark.parametrize("stride", [2, 4, 8])
def test_heatmap_biased_argmax_matches_theory(stride):
    codec = HeatmapCodec((16 * stride, 16 * stride), stride=stride, encoding="biased", refinement="none")
    e = heatmap_errors(codec, N, np.random.default_rng(stride), margin=stride)
    assert abs(np.abs(e).mean() - stride / 4) < 0.03 * stride / 4
    assert np.abs(e).max() <= stride / 2 + 1e-4
    assert abs(e.mean()) < 0.01 * stride


def test_unbiased_dark_is_sub_pixel_on_noise_free_maps():
    codec = HeatmapCodec((192, 256), stride=4, sigma=2.0, encoding="unbiased", refinement="dark")
    assert codec.blur_kernel == 11
    kpts = uniform_keypoints(2_000, (192, 256), np.random.default_rng(0), margin=32)  # DARK works inside the map
    dec, _ = codec.decode(codec.encode(kpts, np.ones(kpts.shape[:2])).heatmaps)
    assert np.abs(dec - kpts).mean() < 0.05


def test_quarter_offset_halves_the_error_on_unbiased_maps_and_does_nothing_on_biased():
    kpts = uniform_keypoints(10_000, (64, 64), np.random.default_rng(1), margin=8)
    err = {}
    for enc in ("biased", "unbiased"):
        for ref in ("none", "quarter"):
            c = HeatmapCodec((64, 64), stride=4, encoding=enc, refinement=ref)
            err[enc, ref] = np.abs(c.decode(c.encode(kpts, np.ones(kpts.shape[:2])).heatmaps)[0] - kpts).mean()
    assert err["biased", "quarter"] == err["biased", "none"]  # symmetric maps: both neighbours equal
    assert err["unbiased", "none"] == err["biased", "none"]  # argmax alone ignores the sub-pixel centre
    assert err["unbiased", "quarter"] == pytest.approx(4 / 8, rel=0.05)  # s/8


# ---------------------------------------------------------------------------------------------------
# labels
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("smoothing, kwargs", [("gaussian", {}), ("laplace", {}), ("gaussian", {"normalize": False})])
@pytest.mark.parametrize("k", [1.0, 1.5, 2.0, 3.0])
def test_labels_peak_at_the_nearest_bin_and_match_the_plain_functions(smoothing, kwargs, k):
    codec = SimCCCodec((40, 30), k=k, smoothing=smoothing, sigma=(2.5, 3.0), **kwargs)
    kp = np.random.default_rng(2).uniform(-0.5, 29.4, size=(3, 17, 2))
    t = codec.encode(kp, np.ones((3, 17)))
    mu = (kp + 0.5) * k - 0.5  # bin positions
    assert np.array_equal(t.x.argmax(-1), np.floor(mu[..., 0] + 0.5))
    assert np.array_equal(t.y.argmax(-1), np.floor(mu[..., 1] + 0.5))
    fn = getattr(S, smoothing)  # (it rounds mu to float32, the codec keeps it exact: far tails differ slightly)
    for labels, n, a, sigma in ((t.x, codec.simcc_size[0], 0, 2.5), (t.y, codec.simcc_size[1], 1, 3.0)):
        np.testing.assert_allclose(labels, fn(np.arange(n), mu[..., a], sigma, **kwargs), rtol=2e-5, atol=1e-12)
    if kwargs.get("normalize", True):
        reach = 8 * 3.0 if smoothing == "laplace" else 4 * 3.0  # where all but < 1e-3 of the mass lies
        inside = (mu > reach) & (mu < np.array(codec.simcc_size) - 1 - reach)
        sums = np.stack([t.x.sum(-1), t.y.sum(-1)], -1)
        assert np.all(np.abs(sums[inside] - 1) < 1e-3)


def test_continuous_and_rounded_centres_differ_exactly():
    kp = np.array([[[10.3, 20.6]]])
    cont = SimCCCodec((64, 64), k=2, sigma=2.0, centre="continuous").encode(kp, np.ones((1, 1)))
    rnd = SimCCCodec((64, 64), k=2, sigma=2.0, centre="rounded").encode(kp, np.ones((1, 1)))
    bins = np.arange(128.0)
    # bin position (x + 0.5) k - 0.5: x 10.3 -> 21.1 (rounded 21), y 20.6 -> 41.7 (rounded 42)
    np.testing.assert_allclose(cont.x[0, 0], S.gaussian(bins, 21.1, 2.0), rtol=1e-5, atol=1e-37)
    np.testing.assert_allclose(cont.y[0, 0], S.gaussian(bins, 41.7, 2.0), rtol=1e-5, atol=1e-37)
    np.testing.assert_array_equal(rnd.x[0, 0], S.gaussian(bins, 21.0, 2.0))
    np.testing.assert_array_equal(rnd.y[0, 0], S.gaussian(bins, 42.0, 2.0))
    # the rounded label is the continuous one moved by the rounding: same values at shifted positions
    assert cont.x[0, 0, 21] < rnd.x[0, 0, 21] and cont.x[0, 0, 22] > rnd.x[0, 0, 22]


@pytest.mark.parametrize("smoothing", ["none", "equal"])
def test_one_hot_and_equal_use_the_nearest_bin(smoothing):
    codec = SimCCCodec((32, 32), k=2, smoothing=smoothing, eps=0.2)
    t = codec.encode(np.array([[[3.2, 3.3], [0.0, 31.4]]]), np.ones((1, 2)))
    hot, off = (1.0, 0.0) if smoothing == "none" else (0.8, 0.2 / 63)
    assert t.x[0, :].argmax(-1).tolist() == [7, 1] and t.y[0, :].argmax(-1).tolist() == [7, 63]
    assert np.all(t.x.max(-1) == np.float32(hot)) and np.all(t.x.min(-1) == np.float32(off))
    assert np.allclose(t.x.sum(-1), 1)


def test_per_axis_sigma():
    c = SimCCCodec((64, 64), k=2, sigma=(1.0, 5.0))
    t = c.encode(np.array([[[29.75, 29.75]]]), np.ones((1, 1)))  # bin position (29.75 + 0.5) 2 - 0.5 = 60
    assert t.x.max() == pytest.approx(1 / np.sqrt(2 * np.pi), rel=1e-5)
    assert t.y.max() == pytest.approx(1 / (5 * np.sqrt(2 * np.pi)), rel=1e-5)
    j = np.arange(128)
    assert (t.x[0, 0] * (j - 60.0) ** 2).sum() == pytest.approx(1.0, rel=1e-3)  # variance sigma_x^2
    assert (t.y[0, 0] * (j - 60.0) ** 2).sum() == pytest.approx(25.0, rel=1e-3)


def test_heatmap_labels():
    codec = HeatmapCodec((64, 48), stride=4, sigma=2.0, encoding="unbiased")
    t = codec.encode(np.array([[[21.0, 13.0]]]), np.ones((1, 1)))
    hm = t.heatmaps[0, 0]
    assert hm.shape == (12, 16) and codec.heatmap_size == (16, 12)
    yy, xx = np.mgrid[:12, :16]
    np.testing.assert_allclose(hm, np.exp(-((xx - 5.25) ** 2 + (yy - 3.25) ** 2) / 8), rtol=1e-5, atol=1e-30)
    biased = HeatmapCodec((64, 48), stride=4, encoding="biased").encode(np.array([[[21.0, 13.0]]]), np.ones((1, 1)))
    assert biased.heatmaps[0, 0, 3, 5] == 1.0  # int(x/s + 0.5): (5, 3)


# ---------------------------------------------------------------------------------------------------
# invalid settings and bad keypoints
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, name", [
    (dict(k=0.5), "k"), (dict(k=math.nan), "k"), (dict(k="2"), "k"), (dict(k=True), "k"),
    (dict(sigma=0.0), "sigma"), (dict(sigma=(1.0, -1.0)), "sigma"), (dict(sigma=(1.0, 2.0, 3.0)), "sigma"),
    (dict(sigma=None), "sigma"), (dict(eps=1.0), "eps"), (dict(eps=-0.1), "eps"),
    (dict(smoothing="cauchy"), "smoothing"), (dict(centre="middle"), "centre"), (dict(score="max"), "score"),
    (dict(input_size=(0, 64)), "input_size"), (dict(input_size=(64.5, 64)), "input_size"),
    (dict(input_size=64), "input_size"),
])
def test_simcc_invalid_settings_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        SimCCCodec(**kwargs)


@pytest.mark.parametrize("kwargs, name", [
    (dict(sigma=0.0), "sigma"), (dict(sigma=-2.0), "sigma"), (dict(refinement="magic"), "refinement"),
    (dict(encoding="odd"), "encoding"), (dict(stride=5), "stride"), (dict(stride=0), "stride"),
    (dict(stride=2.5), "stride"), (dict(heatmap_size=(50, 64)), "heatmap_size"),
    (dict(heatmap_size=(48, 32)), "heatmap_size"), (dict(stride=2, heatmap_size=(48, 64)), "stride"),
    (dict(input_size=(-1, 4)), "input_size"), (dict(blur_kernel=4), "blur_kernel"),
    (dict(blur_kernel=0), "blur_kernel"),
])
def test_heatmap_invalid_settings_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        HeatmapCodec(**kwargs)


@pytest.mark.parametrize("codec", [SimCCCodec((32, 32), k=2, smoothing=s)
                                   for s in ("none", "equal", "gaussian", "laplace")]
                         + [HeatmapCodec((32, 32), stride=4, encoding=e) for e in ("biased", "unbiased")], ids=repr)
def test_bad_keypoints_get_zero_weight_and_zero_labels(codec):
    kp = np.array([[[5.0, 5.0], [np.nan, 3.0], [31.5, 3.0], [-0.51, 3.0], [5.0, np.inf], [6.0, 6.0], [-0.5, 31.49],
                    [-np.inf, np.nan]]])
    vis = np.array([[2, 2, 2, 2, 2, 0, 1, 2]])
    t = codec.encode(kp, vis)
    assert t.weights.dtype == np.float32 and t.weights.tolist() == [[1, 0, 0, 0, 0, 0, 1, 0]]
    for label in t.targets:
        assert label.dtype == np.float32 and np.isfinite(label).all()
        flat = label.reshape(1, 8, -1)
        assert np.all(flat[0, [1, 2, 3, 4, 5, 7]] == 0) and np.all(flat[0, [0, 6]].sum(-1) > 0)


def test_leading_dims_and_no_visibility():
    codec = SimCCCodec((32, 24), k=1.5)
    kp = np.random.default_rng(0).uniform(0, 23, size=(2, 3, 5, 2))
    t = codec.encode(kp)
    assert t.x.shape == (2, 3, 5, 48) and t.y.shape == (2, 3, 5, 36) and t.weights.shape == (2, 3, 5)
    dec, scores = codec.decode(t.x, t.y)
    assert dec.shape == (2, 3, 5, 2) and scores.shape == (2, 3, 5) and dec.dtype == np.float32
    with pytest.raises(ValueError, match="visible"):
        codec.encode(kp, np.ones((2, 3)))
    with pytest.raises(ValueError, match="keypoints"):
        codec.encode(kp[..., :1])
    with pytest.raises(ValueError, match="x, y"):
        codec.decode(t.y, t.x)


@pytest.mark.parametrize("codec", [SimCCCodec((32, 24), k=3, smoothing="laplace"),
                                   SimCCCodec((32, 24), k=2.0, smoothing="none"),
                                   SimCCCodec((32, 24), k=1.5, sigma=(1.0, 2.0)),
                                   HeatmapCodec((32, 24), stride=4, refinement="dark"),
                                   HeatmapCodec((32, 24), stride=2, refinement="quarter")], ids=repr)
def test_numpy_and_torch_agree(codec):
    kp = np.random.default_rng(0).uniform(0, 23, size=(4, 17, 2)).astype(np.float32)
    vis = np.ones((4, 17), np.float32)
    tn, tt = codec.encode(kp, vis), codec.encode(torch.from_numpy(kp), torch.from_numpy(vis))
    for a, b in zip(tn, tt):
        assert isinstance(a, np.ndarray) and a.dtype == np.float32
        assert isinstance(b, torch.Tensor) and b.dtype == torch.float32
        np.testing.assert_array_equal(a, b.numpy())
    (kn, sn), (kt, st_) = codec.decode(*tn.targets), codec.decode(*tt.targets)
    assert isinstance(kt, torch.Tensor) and isinstance(st_, torch.Tensor)
    np.testing.assert_array_equal(kn, kt.numpy())
    np.testing.assert_array_equal(sn, st_.numpy())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("codec", [SimCCCodec((48, 64), k=2), HeatmapCodec((48, 64), stride=4, refinement="dark")],
                         ids=repr)
def test_cuda_matches_cpu(codec):
    kp = torch.rand(4, 17, 2) * 40
    tc, tg = codec.encode(kp, torch.ones(4, 17)), codec.encode(kp.cuda(), torch.ones(4, 17, device="cuda"))
    for a, b in zip(tc, tg):
        assert b.device.type == "cuda"
        torch.testing.assert_close(a, b.cpu(), rtol=1e-5, atol=1e-7)
    (kc, _), (kg, sg) = codec.decode(*tc.targets), codec.decode(*tg.targets)
    assert kg.device.type == "cuda" and sg.device.type == "cuda"
    torch.testing.assert_close(kc, kg.cpu(), rtol=0, atol=1e-3)


def test_decode_from_logits_equals_from_probabilities():
    codec = SimCCCodec((32, 32), k=2)
    logits = torch.randn(3, 17, 64) * 3, torch.randn(3, 17, 64) * 3
    probs = torch.softmax(logits[0], -1), torch.softmax(logits[1], -1)
    k1, s1 = codec.decode(*logits, from_logits=True)
    k2, s2 = codec.decode(*probs, from_logits=False)
    k3, s3 = codec.decode(*logits)  # auto: values outside [0, 1] are logits
    assert torch.equal(k1, k2) and torch.equal(k1, k3)
    torch.testing.assert_close(s1, s2)
    torch.testing.assert_close(s1, s3)
    assert torch.equal(s2, torch.minimum(probs[0].amax(-1), probs[1].amax(-1)))
    assert float(s1.max()) <= 1.0
    mean = SimCCCodec((32, 32), k=2, score="mean").decode(*probs)[1]
    torch.testing.assert_close(mean, 0.5 * (probs[0].amax(-1) + probs[1].amax(-1)))


def test_decoded_location_is_the_argmax_bin_position():
    codec = SimCCCodec((10, 10), k=1.5)
    x = np.zeros((1, 1, 15), np.float32)
    y = np.zeros((1, 1, 15), np.float32)
    x[0, 0, 4], y[0, 0, 14] = 1.0, 1.0
    kp, _ = codec.decode(x, y, from_logits=False)
    np.testing.assert_allclose(kp[0, 0], [(4 + 0.5) / 1.5 - 0.5, (14 + 0.5) / 1.5 - 0.5], rtol=1e-6)


# ---------------------------------------------------------------------------------------------------
# flips
# ---------------------------------------------------------------------------------------------------
def _flipped(kp, w):
    f = kp.copy()
    f[..., 0] = w - 1 - kp[..., 0]
    return f[:, COCO17.flip_index]


@pytest.mark.parametrize("k, w", [(1, 32), (2, 32), (3, 32), (1.5, 32), (4, 31)])
def test_simcc_flip_outputs_reproduce_the_unflipped_encoding(k, w):
    codec = SimCCCodec((w, 24), k=k, sigma=1.5)
    kp = np.random.default_rng(int(k * 10)).uniform(-0.5, 23.4, size=(2, 17, 2))
    a, b = codec.encode(kp, np.ones((2, 17))), codec.encode(_flipped(kp, w), np.ones((2, 17)))
    for shift in (True, False):  # integer kW: reversal alone is exact
        fx, fy = codec.flip_outputs((b.x, b.y), COCO17.flip_index, shift=shift)
        np.testing.assert_allclose(fx, a.x, rtol=1e-5, atol=1e-7)
        np.testing.assert_array_equal(fy, a.y)


def test_simcc_flip_with_fractional_kw_needs_the_shift():
    codec = SimCCCodec((33, 24), k=1.5, sigma=2.0)  # kW = 49.5, Nx = 50
    kp = np.random.default_rng(5).uniform(4, 20, size=(2, 17, 2))
    b = codec.encode(_flipped(kp, 33), np.ones((2, 17)))
    mu = (kp[..., 0] + 0.5) * 1.5 - 0.5
    j = np.arange(50)
    centre = {}
    for shift in (True, False):
        fx, _ = codec.flip_outputs((b.x, b.y), COCO17.flip_index, shift=shift)
        centre[shift] = (fx * j).sum(-1) / fx.sum(-1)  # label mean: the encoded position, to interpolation
    assert np.abs(centre[True] - mu).max() < 0.02
    np.testing.assert_allclose(centre[False] - mu, 50 - 49.5, atol=0.02)  # plain reversal: Nx - kW bins off


@pytest.mark.parametrize("stride", [2, 4])
def test_heatmap_flip_outputs_land_on_the_keypoints(stride):
    codec = HeatmapCodec((64, 64), stride=stride, encoding="unbiased", refinement="dark")
    kp = np.random.default_rng(3).uniform(16, 47, size=(2, 17, 2))
    out = (codec.encode(_flipped(kp, 64), np.ones((2, 17))).heatmaps,)
    err = {s: np.abs(codec.decode(codec.flip_outputs(out, COCO17.flip_index, shift=s)[0])[0] - kp)[..., 0].mean()
           for s in (True, False)}
    assert err[True] < 0.1
    assert err[False] == pytest.approx(stride - 1, abs=0.1)  # unshifted: off by 1 - 1/s heatmap px


def test_build_codec_and_repr():
    assert build_codec("simcc", (64, 64), k=3).simcc_size == (192, 192)
    assert SimCCCodec((33, 24), k=1.5).simcc_size == (50, 36)  # round half up
    hm = build_codec("heatmap", (192, 256), stride=4)
    assert hm.heatmap_size == (48, 64) and hm.stride == 4 and hm.kind == "heatmap"
    assert HeatmapCodec((192, 256), heatmap_size=(48, 64)).stride == 4
    assert HeatmapCodec((192, 256)).stride == 4
    assert "k=2" in repr(SimCCCodec()) and "(384, 512)" in repr(SimCCCodec()) and "stride=4" in repr(hm)
    assert [default_blur_kernel(s) for s in ((48, 64), (72, 96), (16, 16), (24, 32))] == [11, 17, 3, 5]
    with pytest.raises(ValueError, match="kind"):
        build_codec("regression", (64, 64))


# ---------------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------------
coordinate = st.floats(-20, 60) | st.sampled_from([math.nan, math.inf, -math.inf, -0.5, 0.5])


@settings(max_examples=40, deadline=None)
@given(w=st.integers(1, 40), h=st.integers(1, 40), k=st.sampled_from([1.0, 1.5, 2.0, 3.0]) | st.floats(1.0, 4.0),
       sigma=st.floats(0.3, 6.0), smoothing=st.sampled_from(["none", "gaussian", "laplace", "equal"]),
       centre=st.sampled_from(["continuous", "rounded"]),
       pts=st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=12), data=st.data())
def test_simcc_encode_decode_properties(w, h, k, sigma, smoothing, centre, pts, data):
    codec = SimCCCodec((w, h), k=k, sigma=sigma, smoothing=smoothing, centre=centre)
    kp = np.array(pts, dtype=np.float64)[None]
    vis = np.array([data.draw(st.lists(st.sampled_from([0, 1, 2]), min_size=len(pts), max_size=len(pts)))])
    t = codec.encode(kp, vis)
    nx, ny = codec.simcc_size
    assert t.x.shape == (1, len(pts), nx) and t.y.shape == (1, len(pts), ny)
    assert np.isfinite(t.x).all() and np.isfinite(t.y).all()
    with np.errstate(invalid="ignore"):
        inside = ((vis > 0) & (kp[..., 0] >= -0.5) & (kp[..., 0] < w - 0.5)
                  & (kp[..., 1] >= -0.5) & (kp[..., 1] < h - 0.5))
    assert np.array_equal(t.weights, inside.astype(np.float32))
    assert np.all(t.x[~inside] == 0) and np.all(t.y[~inside] == 0)
    dec, scores = codec.decode(t.x, t.y, from_logits=False)
    assert np.isfinite(dec).all() and np.isfinite(scores).all()
    if inside.any() and smoothing in ("none", "gaussian"):
        # Nx = round(kW) can fall short of kW by < 1/2 bin, leaving the last sliver of the input past the last bin
        short = np.array([max(0.0, k * w - nx), max(0.0, k * h - ny)]) / k
        # float32 Gaussian labels cannot order two bins whose values differ by less than an ulp: near a bin
        # boundary that leaves ~1e-7 sigma^2 bins of slack (none for one-hot, built from float64 positions)
        slack = 1e-6 + (2e-7 * sigma**2 / k if smoothing == "gaussian" else 0.0)
        slack += float(np.spacing(np.float32(max(w, h))))  # decoded keypoints are float32
        bound = 1 / (2 * k) + short + slack
        assert np.all(np.abs(dec - kp)[inside] <= bound)


@settings(max_examples=30, deadline=None)
@given(stride=st.sampled_from([1, 2, 4]), gw=st.integers(3, 12), gh=st.integers(3, 12), sigma=st.floats(0.5, 3.0),
       encoding=st.sampled_from(["biased", "unbiased"]), refinement=st.sampled_from(["none", "quarter", "dark"]),
       pts=st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=8))
def test_heatmap_encode_decode_properties(stride, gw, gh, sigma, encoding, refinement, pts):
    size = (gw * stride, gh * stride)
    codec = HeatmapCodec(size, stride=stride, sigma=sigma, encoding=encoding, refinement=refinement)
    kp = np.array(pts, dtype=np.float64)[None]
    t = codec.encode(kp, np.ones(kp.shape[:2]))
    assert t.heatmaps.shape == (1, len(pts), gh, gw) and np.isfinite(t.heatmaps).all()
    with np.errstate(invalid="ignore"):
        inside = ((kp[..., 0] >= -0.5) & (kp[..., 0] < size[0] - 0.5)
                  & (kp[..., 1] >= -0.5) & (kp[..., 1] < size[1] - 0.5))
    assert np.array_equal(t.weights, inside.astype(np.float32))
    assert np.all(t.heatmaps[~inside] == 0)
    dec, scores = codec.decode(t.heatmaps)
    assert np.isfinite(dec).all() and np.all((scores >= 0) & (scores <= 1))
    on_grid = inside & np.all(np.floor(kp / stride + 0.5) <= np.array([gw, gh]) - 1, -1)
    if refinement == "none" and on_grid.any():
        assert np.all(np.abs(dec - kp)[on_grid] <= stride / 2 + 1e-4)


@pytest.mark.parametrize("smoothing", ["gaussian", "laplace"])
@pytest.mark.parametrize("centre", ["continuous", "rounded"])
def test_labels_equal_the_shape_function_up_to_the_edges(smoothing, centre):
    """The codec's labels equal the shape function over every bin, for keypoints at and near both ends, and
    are exactly 0 beyond the support radius."""
    param = 2.0 if smoothing == "gaussian" else 0.5  # Laplace tails reach ~87 b bins
    codec = SimCCCodec((192, 64), k=2.0, smoothing=smoothing, sigma=param, centre=centre)
    xs = np.array([-0.5, 0.0, 0.3, 5.7, 95.2, 186.6, 190.99, 191.49], np.float32)
    kp = np.stack([xs, np.full_like(xs, 30.0)], -1)[None]
    t = codec.encode(kp, np.ones((1, len(xs)), np.float32))
    mu = codec.bin_positions(xs.astype(np.float64))
    if centre == "rounded":
        mu = np.floor(mu + 0.5)
    bins = np.arange(codec.simcc_size[0], dtype=np.float64)
    shape = S.gaussian if smoothing == "gaussian" else S.laplace
    expected = shape(bins, mu, param)
    np.testing.assert_allclose(t.x[0], expected, rtol=2e-5, atol=1e-12)
    assert (t.x[0][np.abs(bins[None] - np.floor(mu[:, None] + 0.5)) > S.support_radius(smoothing, 2.0)] == 0).all()


@pytest.mark.parametrize("smoothing", ["gaussian", "laplace"])
def test_labels_on_an_axis_shorter_than_the_label_window(smoothing):
    """Where the label window (2R + 1 bins) is wider than the axis the codec computes every bin: the labels
    still equal the shape function (the long-axis case is the test above)."""
    codec = SimCCCodec((12, 10), k=1.5, smoothing=smoothing, sigma=4.0)
    assert 2 * S.support_radius(smoothing, 4.0) + 1 > codec.simcc_size[0]
    xs = np.array([-0.5, 0.2, 5.5, 11.4], np.float32)
    t = codec.encode(np.stack([xs, np.full_like(xs, 3.0)], -1)[None], np.ones((1, 4), np.float32))
    bins = np.arange(codec.simcc_size[0], dtype=np.float64)
    shape = S.gaussian if smoothing == "gaussian" else S.laplace
    np.testing.assert_allclose(t.x[0], shape(bins, codec.bin_positions(xs.astype(np.float64)), 4.0),
                               rtol=2e-5, atol=1e-12)


@pytest.mark.parametrize("kind", ["simcc", "heatmap"])
@pytest.mark.parametrize("bad", [[0, 1], [0, 1, 2, -1], [0, 0, 1, 2]])
def test_flip_outputs_refuses_a_flip_index_that_is_not_a_permutation(kind, bad):
    codec = build_codec(kind, (64, 64))
    outputs = codec.encode(np.zeros((1, 4, 2), np.float32) + 20).targets
    with pytest.raises(ValueError, match="permutation"):
        codec.flip_outputs(outputs, bad)
    codec.flip_outputs(outputs, [1, 0, 3, 2])  # a permutation is fine
