"""SimCCCodec(convention="mmpose") against MMPose 1.x's SimCCLabel formulas, written out here independently
(MMPose is not a dependency): bin j at x = j / k, centre rounded half to even, weight = visibility, labels
kept while the Gaussian still reaches the axis (3 sigma)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from simcc_lab.codecs import SimCCCodec
from simcc_lab.keypoints import COCO17


def mmpose_gaussian_labels(kpts, visible, input_size, k, sigma, normalize=True):
    """One keypoint at a time: centre = round_half_even(x k) (np.around), labels exp(-(j - centre)^2 / 2s^2)
    over j = 0..round(kW)-1, skipped when visible < 0.5, weight 0 when [centre - 3s, centre + 3s + 1] misses
    the axis, weight = visible otherwise; divided by s sqrt(2 pi) when normalize. (N, K, 2) in input px."""
    w, h = input_size
    nx, ny = int(np.around(w * k)), int(np.around(h * k))
    sx, sy = sigma
    tx, ty = np.zeros(kpts.shape[:2] + (nx,)), np.zeros(kpts.shape[:2] + (ny,))
    weights = visible.astype(np.float64).copy()
    for n in range(kpts.shape[0]):
        for j in range(kpts.shape[1]):
            if visible[n, j] < 0.5:
                continue
            cx, cy = np.around(kpts[n, j, 0] * k), np.around(kpts[n, j, 1] * k)
            if cx - 3 * sx >= nx or cy - 3 * sy >= ny or cx + 3 * sx + 1 < 0 or cy + 3 * sy + 1 < 0:
                weights[n, j] = 0
                continue
            tx[n, j] = np.exp(-((np.arange(nx) - cx) ** 2) / (2 * sx**2))
            ty[n, j] = np.exp(-((np.arange(ny) - cy) ** 2) / (2 * sy**2))
    if normalize:
        tx, ty = tx / (sx * math.sqrt(2 * math.pi)), ty / (sy * math.sqrt(2 * math.pi))
    return tx, ty, weights


def mmpose_decode(x, y, k):
    """MMPose's SimCC decode location: the argmax bin over k."""
    return np.stack([x.argmax(-1), y.argmax(-1)], -1) / k


@pytest.mark.parametrize("k,sigma,size", [(2.0, (6.0, 6.93), (192, 256)), (1.0, (4.0, 4.0), (48, 64)),
                                          (3.0, (5.0, 5.0), (64, 64)), (2.5, (4.0, 3.0), (33, 40))])
def test_labels_and_weights_match_mmpose(k, sigma, size):
    rng = np.random.default_rng(int(10 * k))
    w, h = size
    margin = 4 * max(sigma) / k  # input px: keypoints up to 4 sigma outside the input, on both sides
    kpts = np.stack([rng.uniform(-margin, w + margin, (40, 17)), rng.uniform(-margin, h + margin, (40, 17))], -1)
    kpts[0, :8] = (np.arange(8)[:, None] + 0.5) / k  # exact half bins: half to even decides
    visible = rng.choice([0.0, 0.3, 1.0, 2.0], size=(40, 17), p=[0.1, 0.1, 0.5, 0.3])
    codec = SimCCCodec(size, k=k, smoothing="gaussian", sigma=sigma, convention="mmpose")
    t = codec.encode(kpts.astype(np.float32), visible.astype(np.float32))
    rx, ry, rw = mmpose_gaussian_labels(kpts.astype(np.float32).astype(np.float64), visible, size, k, sigma)
    assert t.x.shape == rx.shape and t.y.shape == ry.shape
    np.testing.assert_array_equal(t.weights, rw.astype(np.float32))  # float32 visibility in, as is
    assert set(np.unique(t.weights)) <= {0.0, np.float32(0.3), 1.0, 2.0} and (t.weights == 2.0).any()
    outside = ((kpts[..., 0] < -0.5) | (kpts[..., 0] > w - 0.5)) & (visible >= 0.5)
    assert (t.weights[outside] > 0).any(), "MMPose keeps keypoints a little outside the input"
    np.testing.assert_allclose(t.x, rx, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(t.y, ry, rtol=1e-5, atol=1e-7)


def test_half_bins_round_to_even():
    codec = SimCCCodec((16, 16), k=2.0, smoothing="none", convention="mmpose")
    xs = np.array([[[0.25, 0.0], [0.75, 0.0], [1.25, 0.0], [1.75, 0.0]]], np.float32)  # x k = 0.5, 1.5, 2.5, 3.5
    t = codec.encode(xs)
    assert t.x.argmax(-1).tolist() == [[0, 2, 2, 4]]
    default = SimCCCodec((16, 16), k=2.0, smoothing="none").encode(xs)  # round half up of (x + 0.5) k - 0.5
    assert default.x.argmax(-1).tolist() == [[1, 2, 3, 4]]  # (x + 0.5) k - 0.5 = 1, 2, 3, 4: no ties


@pytest.mark.parametrize("k", [1.0, 2.0, 3.0])
def test_decode_matches_mmpose_and_bins_differ_by_k_minus_1_over_2k(k):
    rng = np.random.default_rng(1)
    size = (48, 64)
    x, y = rng.normal(size=(5, 17, int(48 * k))), rng.normal(size=(5, 17, int(64 * k)))
    mm = SimCCCodec(size, k=k, convention="mmpose")
    dec, scores = mm.decode(x, y, from_logits=True)
    np.testing.assert_allclose(dec, mmpose_decode(x, y, k), atol=1e-6)
    ours, scores_ours = SimCCCodec(size, k=k).decode(x, y, from_logits=True)
    # simcc_lab's bin j, (j + 0.5) / k - 0.5, lies (k - 1) / (2k) px left of MMPose's j / k: 0.25 px at k = 2
    np.testing.assert_allclose(dec - ours, (k - 1) / (2 * k), atol=1e-5)
    np.testing.assert_array_equal(scores, scores_ours)  # scores: the same softmax maxima


def test_round_trip_is_unbiased_under_mmpose():
    rng = np.random.default_rng(2)
    codec = SimCCCodec((32, 32), k=2.0, convention="mmpose")
    kpts = np.stack([rng.uniform(0, 31, (2000, 10)), rng.uniform(0, 31, (2000, 10))], -1).astype(np.float32)
    t = codec.encode(kpts)
    dec, _ = codec.decode(t.x, t.y, from_logits=False)
    err = dec - kpts
    assert np.abs(err).max() <= 1 / 4 + 1e-6 and abs(err.mean()) < 0.01


@pytest.mark.parametrize("k,width", [(2.0, 48), (1.0, 48), (3.0, 40)])
def test_flip_outputs_under_mmpose(k, width):
    rng = np.random.default_rng(3)
    codec = SimCCCodec((width, 64), k=k, smoothing="gaussian", sigma=3.0, convention="mmpose")
    kpts = np.stack([rng.uniform(8, width - 9, (20, 17)), rng.uniform(8, 55, (20, 17))], -1).astype(np.float32)
    flipped = kpts[:, COCO17.flip_index].copy()
    flipped[..., 0] = width - 1 - flipped[..., 0]
    t, tf = codec.encode(kpts), codec.encode(flipped)
    back_x, back_y = codec.flip_outputs((tf.x, tf.y), COCO17.flip_index)
    # integer bin shifts (k - 1) are exact; labels centred at rounded bins match where no rounding tie moved
    same = np.abs(back_x.argmax(-1) - t.x.argmax(-1)) <= 1
    assert same.all() and (back_x.argmax(-1) == t.x.argmax(-1)).mean() > 0.99
    np.testing.assert_array_equal(back_y, t.y)
    plain_x, _ = codec.flip_outputs((tf.x, tf.y), COCO17.flip_index, shift=False)  # MMPose's flip test
    assert np.abs(plain_x.argmax(-1) - back_x.argmax(-1) - (k - 1)).max() == 0 or k == 1


def test_defaults_unchanged_and_invalid_convention_named():
    codec = SimCCCodec((48, 64))
    assert codec.convention == "simcc_lab" and codec.centre == "continuous" and "convention" not in repr(codec)
    mm = SimCCCodec((48, 64), convention="mmpose")
    assert mm.centre == "rounded" and "convention='mmpose'" in repr(mm)
    with pytest.raises(ValueError, match="convention must be one of 'simcc_lab', 'mmpose'"):
        SimCCCodec((48, 64), convention="hrnet")
    with pytest.raises(ValueError, match="centre must be one of 'rounded'"):
        SimCCCodec((48, 64), convention="mmpose", centre="continuous")
    # odd width at k = 1.5: MMPose rounds k W half to even, simcc_lab half up
    assert SimCCCodec((45, 64), k=1.5, convention="mmpose").simcc_size[0] == 68  # round(67.5) = 68
    assert SimCCCodec((47, 64), k=1.5, convention="mmpose").simcc_size[0] == 70  # round(70.5) = 70
    assert SimCCCodec((47, 64), k=1.5).simcc_size[0] == 71
