"""Heatmap refinements: DARK on local patches agrees with DARK on whole-map blurs (written out here in
float64, the old implementation's order of operations), and the quarter offset's HRNet/MMPose border rule."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from simcc_lab.codecs import HeatmapCodec
from simcc_lab.codecs import refinement as R


def dark_reference(maps: np.ndarray, kernel: int) -> np.ndarray:
    """DARK as simcc_lab computed it before local patches, in float64: blur every whole map (separable
    Gaussian, OpenCV's sigma, zero border), rescale to the map's peak, log(max(., 1e-10)), one Newton step
    at the argmax where it is >= 2 px from the border and the Hessian is negative definite.
    maps (M, h, w) -> keypoints (M, 2) heatmap px."""
    m = torch.from_numpy(maps).double()
    h, w = m.shape[-2:]
    sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8
    t = torch.arange(kernel, dtype=torch.float64) - kernel // 2
    g = torch.exp(-t**2 / (2 * sigma**2))
    g = g / g.sum()
    b = F.conv2d(m[:, None], g.view(1, 1, 1, -1), padding=(0, kernel // 2))
    b = F.conv2d(b, g.view(1, 1, -1, 1), padding=(kernel // 2, 0))[:, 0]
    b = b * m.amax((-2, -1), keepdim=True) / b.amax((-2, -1), keepdim=True).clamp_min(1e-12)
    logm = torch.log(b.clamp_min(1e-10)).numpy()
    out = np.zeros((len(maps), 2))
    for i, lm in enumerate(logm):  # one map at a time: the plainest form
        y, x = np.unravel_index(np.argmax(maps[i]), (h, w))
        out[i] = x, y
        if not (2 <= x <= w - 3 and 2 <= y <= h - 3):
            continue
        gx, gy = 0.5 * (lm[y, x + 1] - lm[y, x - 1]), 0.5 * (lm[y + 1, x] - lm[y - 1, x])
        hxx = 0.25 * (lm[y, x + 2] - 2 * lm[y, x] + lm[y, x - 2])
        hyy = 0.25 * (lm[y + 2, x] - 2 * lm[y, x] + lm[y - 2, x])
        hxy = 0.25 * (lm[y + 1, x + 1] - lm[y + 1, x - 1] - lm[y - 1, x + 1] + lm[y - 1, x - 1])
        hess = np.array([[hxx, hxy], [hxy, hyy]])
        if np.linalg.det(hess) > 0 and hxx < 0:
            out[i] -= np.linalg.solve(hess, [gx, gy])
    return out


def _noisy_maps(n_people=32, noise=0.05, seed=0, size=(192, 256)):
    codec = HeatmapCodec(size, stride=4, encoding="unbiased", refinement="dark")
    rng = np.random.default_rng(seed)
    kp = np.stack([rng.uniform(-0.5, size[0] - 0.5, (n_people, 17)), rng.uniform(-0.5, size[1] - 0.5, (n_people, 17))],
                  -1)
    maps = codec.encode(kp).heatmaps
    return codec, (maps + rng.normal(0, noise, maps.shape)).astype(np.float32)


@pytest.mark.parametrize("kind", ["gaussian", "noisy", "uniform", "negative", "zero"])
def test_local_dark_matches_whole_map_dark(kind):
    codec, maps = _noisy_maps(noise=0.0 if kind == "gaussian" else 0.05)
    rng = np.random.default_rng(1)
    if kind == "uniform":
        maps = rng.random(maps.shape, dtype=np.float32)
    elif kind == "negative":  # peaks below zero: the 1e-10 floor bites, the whole-map path is taken
        maps = maps - 2.0
    elif kind == "zero":
        maps[::3] = 0.0
    dec, _ = codec.decode(maps)
    ref = dark_reference(maps.reshape(-1, *maps.shape[-2:]), codec.blur_kernel) * codec.stride
    # 1e-5 heatmap px; uniform noise has nearly flat log maps (tiny Hessians); negative maps take the
    # float32 whole-map path (compared exactly below), whose float32 logs differ from float64 by ~1e-4 px
    tol = {"uniform": 1e-4, "negative": 1e-3}.get(kind, 1e-5)
    assert np.abs(dec.reshape(-1, 2) - ref).max() / codec.stride < tol


@pytest.mark.parametrize("shift", [0.0, -2.0])
def test_local_dark_matches_the_float32_dense_path(shift):
    codec, maps = _noisy_maps(seed=3)
    t = torch.from_numpy(maps + shift).reshape(-1, *maps.shape[-2:])
    idx = t.reshape(len(t), -1).argmax(-1)
    w = t.shape[-1]
    ix, iy = (idx % w).double(), torch.div(idx, w, rounding_mode="floor").double()
    local, dense = R.dark(t, ix, iy, codec.blur_kernel), R.dark_dense(t, ix, iy, codec.blur_kernel)
    for a, b in zip(local, dense):
        assert float((a - b).abs().max()) < (1e-5 if shift == 0 else 1e-12)  # negative: the dense path itself


def _quarter_reference(maps: np.ndarray) -> np.ndarray:
    """MMPose 1.x's quarter offset written out per map: argmax (x, y), then x += 0.25 sign(right - left)
    when 1 < x < w - 1 and 0 < y < h, y += 0.25 sign(below - above) when 1 < y < h - 1 and 0 < x < w.
    (M, h, w) -> (M, 2)."""
    h, w = maps.shape[-2:]
    out = np.zeros((len(maps), 2))
    for i, hm in enumerate(maps):
        y, x = np.unravel_index(np.argmax(hm), (h, w))
        out[i] = x, y
        if 1 < x < w - 1 and 0 < y < h:
            out[i, 0] += 0.25 * np.sign(hm[y, x + 1] - hm[y, x - 1])
        if 1 < y < h - 1 and 0 < x < w:
            out[i, 1] += 0.25 * np.sign(hm[y + 1, x] - hm[y - 1, x])
    return out


def test_quarter_offset_border_rule_pinned():
    codec = HeatmapCodec((48, 64), stride=4, refinement="quarter")  # 12 x 16 maps
    w, h = codec.heatmap_size
    maps = np.zeros((6, h, w), np.float32)
    # peak at column 1, row 1: neighbours exist on both sides, but the rule leaves both axes alone
    maps[0, 1, 1], maps[0, 1, 2], maps[0, 2, 1] = 1.0, 0.5, 0.5
    # peak at column 2, row 2: both offsets apply, toward the higher neighbours (+x, -y)
    maps[1, 2, 2], maps[1, 2, 3], maps[1, 1, 2] = 1.0, 0.5, 0.5
    # peak on the last column and row: no offset
    maps[2, h - 1, w - 1], maps[2, h - 1, w - 2], maps[2, h - 2, w - 1] = 1.0, 0.5, 0.5
    # peak at column w - 2, row 1: x offset (toward -x), no y offset
    maps[3, 1, w - 2], maps[3, 1, w - 3], maps[3, 2, w - 2] = 1.0, 0.5, 0.5
    # peak on row 0, column 3: x has both neighbours but MMPose leaves it (y > 0 required); likewise column 0
    maps[4, 0, 3], maps[4, 0, 4], maps[4, 1, 3] = 1.0, 0.5, 0.5
    maps[5, 3, 0], maps[5, 4, 0], maps[5, 3, 1] = 1.0, 0.5, 0.5
    dec, _ = codec.decode(maps)
    expected = np.array([[1, 1], [2.25, 1.75], [w - 1, h - 1], [w - 2.25, 1], [3, 0], [0, 3]]) * codec.stride
    np.testing.assert_allclose(dec, expected)


def test_quarter_offset_matches_the_reference_on_noisy_maps():
    codec = HeatmapCodec((48, 64), stride=4, refinement="quarter")
    rng = np.random.default_rng(5)
    maps = rng.random((500, 16, 12), dtype=np.float32)  # argmax often on the border
    dec, _ = codec.decode(maps)
    np.testing.assert_allclose(dec, _quarter_reference(maps) * codec.stride)
    assert math.isclose(codec.stride, 4)


@pytest.mark.parametrize("refinement", ["none", "quarter", "dark"])
def test_decode_of_nobody(refinement):
    codec = HeatmapCodec((48, 64), stride=4, refinement=refinement)
    kpts, scores = codec.decode(np.zeros((0, 17, 16, 12), np.float32))
    assert kpts.shape == (0, 17, 2) and scores.shape == (0, 17)


# OpenCV's getGaussianKernel(k, sigma <= 0) takes these fixed tables for k = 1, 3, 5, 7 (its documented
# small-kernel case) and the sampled Gaussian with sigma = 0.3 ((k - 1) / 2 - 1) + 0.8 for larger k
OPENCV_SMALL_TABLES = {1: [1.0], 3: [0.25, 0.5, 0.25], 5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
                       7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125]}


def sampled_gaussian(k: int) -> np.ndarray:
    """The taps from the formula: exp(-t^2 / (2 sigma^2)), t = -(k-1)/2 .. (k-1)/2, OpenCV's sigma, sum 1."""
    sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8
    g = np.exp(-np.arange(-(k // 2), k // 2 + 1) ** 2 / (2 * sigma**2))
    return g / g.sum()


def test_blur_taps_are_the_sampled_gaussian_at_every_size():
    for k in (1, 3, 5, 7, 9, 11, 17):
        np.testing.assert_allclose(R.blur_kernel_1d(k, "cpu").numpy(), sampled_gaussian(k), rtol=1e-15, atol=0)
    # kernel 3: exp(-1 / (2 * 0.8^2)) = 0.45783 beside the centre's 1, normalised
    np.testing.assert_allclose(R.blur_kernel_1d(3, "cpu").numpy(), [0.238994, 0.522012, 0.238994], atol=1e-6)
    np.testing.assert_allclose(R.blur_kernel_1d(11, "cpu").numpy()[5], 0.200565, atol=1e-6)  # sigma 2: 1 / 4.9858


def test_blur_taps_match_opencv_only_for_kernel_1_and_from_9():
    """The docstrings' statement: OpenCV's fixed tables differ from our taps at k = 3, 5, 7; at k = 1 and
    k >= 9 OpenCV samples the same formula."""
    assert np.array_equal(R.blur_kernel_1d(1, "cpu").numpy(), OPENCV_SMALL_TABLES[1])
    for k in (3, 5, 7):
        ours, opencv = R.blur_kernel_1d(k, "cpu").numpy(), np.array(OPENCV_SMALL_TABLES[k])
        assert opencv.sum() == 1.0 and abs(ours - opencv).max() > 0.005, k
    assert abs(R.blur_kernel_1d(3, "cpu").numpy()[1] - 0.5) == pytest.approx(0.022012, abs=1e-6)
    # the default kernels that fall on the differing sizes: 16x16 heatmaps (64x64 input) -> 3, 32x32 -> 7
    from simcc_lab.codecs.heatmap import default_blur_kernel
    assert default_blur_kernel((16, 16)) == 3 and default_blur_kernel((32, 32)) == 7
    assert default_blur_kernel((48, 64)) == 11
