"""1-D label shapes: sums, peaks, symmetry, exact values, broadcasting, numpy/torch parity, underflow."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from simcc_lab.codecs import smoothing as S

BINS = np.arange(100.0)


@pytest.mark.parametrize("shape", ["gaussian", "laplace"])
@pytest.mark.parametrize("param", [1.0, 3.0, 6.0])
@pytest.mark.parametrize("mu", [40.0, 41.25, 57.625, 50.5])  # dyadic: mu +- d exact in float32
def test_normalised_labels_sum_to_one_peak_at_nearest_bin_and_are_symmetric(shape, param, mu):
    lab = getattr(S, shape)(BINS, np.array(mu), param)
    assert lab.dtype == np.float32 and lab.shape == (100,)
    assert abs(lab.sum() - 1) < 1e-3
    assert np.argmax(lab) in {int(np.floor(mu + 0.5)), int(np.ceil(mu - 0.5))}  # a tie (50.5) may go either way
    d = np.linspace(0.25, 12, 24)
    f = getattr(S, shape)(np.concatenate([mu - d[::-1], mu + d]), np.array(mu), param)  # mirror positions
    np.testing.assert_allclose(f[:24][::-1], f[24:], rtol=1e-5, atol=1e-9)  # float32 positions: tails


@pytest.mark.parametrize("sigma", [0.7, 2.0, 4.5])
def test_gaussian_values_match_the_formula(sigma):
    mu = float(np.float32(31.37))  # the centre as float32 holds it, so the reference sees the same mu
    ref = np.exp(-((BINS - mu) ** 2) / (2 * sigma**2))
    # float32 arithmetic: relative error ~1e-7 |exponent|, so 1e-5 down to values ~e^-100 (then flushed to 0)
    np.testing.assert_allclose(S.gaussian(BINS, mu, sigma, normalize=False), ref, rtol=1e-5, atol=1e-37)
    np.testing.assert_allclose(S.gaussian(BINS, mu, sigma), ref / (sigma * math.sqrt(2 * math.pi)), rtol=1e-5,
                               atol=1e-37)
    near = np.abs(BINS - mu) < 3 * sigma
    np.testing.assert_allclose(S.gaussian(BINS, mu, sigma, normalize=False)[near], ref[near], rtol=1e-6)


@pytest.mark.parametrize("b", [0.3, 1.0, 3.0])
@pytest.mark.parametrize("mu", [50.0, 50.25, 50.5, 50.875])  # dyadic: exact in float32
def test_laplace_lattice_normaliser_is_exact(b, mu):
    lab = S.laplace(BINS, mu, b)
    ref = np.exp(-np.abs(BINS - mu) / b)
    assert lab.sum() == pytest.approx(1.0, abs=2e-6)
    np.testing.assert_allclose(lab, ref / ref.sum(), rtol=1e-5, atol=1e-37)  # float32: ~1e-7 |exponent|
    assert S.laplace(BINS, mu, b, normalize=False).max() == pytest.approx(np.exp(-abs(mu - round(mu)) / b), rel=1e-6)


def test_equal_smoothing_values_are_exact():
    lab = S.equal(np.arange(11.0), np.array(4.2), eps=0.1)
    assert lab[4] == np.float32(0.9)
    assert np.all(np.delete(lab, 4) == np.float32(0.1 / 10))
    assert lab.sum() == pytest.approx(1.0, abs=1e-6)
    assert np.all(S.equal(np.arange(5.0), np.array(1.0), eps=0.0) == np.eye(5, dtype=np.float32)[1])


def test_one_hot_nearest_bin_ties_go_up():
    lab = S.one_hot(np.arange(8.0), np.array([2.49, 2.5, 2.51, 7.0, -3.0, 12.0]))
    assert lab.argmax(-1).tolist() == [2, 3, 3, 7, 0, 7]
    assert lab.sum(-1).tolist() == [1.0] * 6


def test_one_hot_nearest_bin_on_uneven_bins():
    bins = np.array([0.0, 1.0, 4.0, 10.0])
    lab = S.one_hot(bins, np.array([0.4, 2.49, 2.5, 6.9, 7.0, 50.0]))
    assert lab.argmax(-1).tolist() == [0, 1, 2, 2, 3, 3]


def test_broadcasting_of_bins_mu_and_parameters():
    mu = np.array([[10.2, 20.7, 30.0], [5.5, 6.5, 7.5]])
    out = S.gaussian(BINS, mu, 2.0)
    assert out.shape == (2, 3, 100)
    np.testing.assert_array_equal(out[1, 2], S.gaussian(BINS, np.array(7.5), 2.0))
    # per-row bins (..., N) and per-row sigma, both broadcasting against mu
    rows = np.stack([BINS, BINS - 3.0])
    sig = np.array([1.5, 4.0])
    lab = S.gaussian(rows, np.array([40.0, 40.0]), sig)
    # (a scalar sigma takes a fused op, a per-row one three: float32 rounding differs by ~1e-7 |exponent|)
    np.testing.assert_allclose(lab[0], S.gaussian(BINS, 40.0, 1.5), rtol=1e-5)
    np.testing.assert_allclose(lab[1], S.gaussian(BINS - 3.0, 40.0, 4.0), rtol=1e-5)
    lap = S.laplace(rows, np.array([40.25, 40.25]), sig)
    np.testing.assert_allclose(lap[1], S.laplace(BINS - 3.0, 40.25, 4.0), rtol=1e-5)
    assert S.one_hot(rows, np.array([40.0, 40.0])).argmax(-1).tolist() == [40, 43]


@pytest.mark.parametrize("name, kwargs", [("none", {}), ("equal", {"eps": 0.2}), ("gaussian", {"sigma": 2.5}),
                                          ("laplace", {"b": 2.5})])
def test_numpy_and_torch_give_the_same_labels(name, kwargs):
    mu = np.array([3.3, 50.0, 96.8], np.float32)
    a = S.SHAPES[name](BINS, mu, **kwargs)
    t = S.SHAPES[name](torch.from_numpy(BINS), torch.from_numpy(mu), **kwargs)
    assert isinstance(a, np.ndarray) and isinstance(t, torch.Tensor) and t.dtype == torch.float32
    np.testing.assert_array_equal(a, t.numpy())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_labels_stay_on_the_device():
    mu = torch.tensor([3.3, 50.0], device="cuda")
    lab = S.gaussian(torch.arange(100.0, device="cuda"), mu, 2.0)
    assert lab.device.type == "cuda"
    np.testing.assert_allclose(lab.cpu().numpy(), S.gaussian(BINS, mu.cpu().numpy(), 2.0), rtol=1e-5, atol=1e-30)


@pytest.mark.parametrize("call, name", [
    (lambda: S.gaussian(BINS, 3.0, 0.0), "sigma"), (lambda: S.gaussian(BINS, 3.0, -1.0), "sigma"),
    (lambda: S.gaussian(BINS, 3.0, np.array([1.0, 0.0])), "sigma"), (lambda: S.gaussian(BINS, 3.0, math.nan), "sigma"),
    (lambda: S.laplace(BINS, 3.0, 0.0), "b"), (lambda: S.equal(BINS, 3.0, 1.0), "eps"),
    (lambda: S.equal(BINS, 3.0, -0.1), "eps"), (lambda: S.one_hot(np.float32(3.0), 1.0), "bins"),
    (lambda: S.support_radius("cauchy", 1.0), "shape"),
])
def test_invalid_arguments_raise_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize("shape", ["gaussian", "laplace"])
@pytest.mark.parametrize("param", [0.3, 1.0, 4.0])
@pytest.mark.parametrize("normalize", [True, False])
def test_labels_are_exactly_zero_beyond_the_support_radius(shape, param, normalize):
    bins = np.arange(2000.0)
    mu = np.array([1000.0, 1000.4, 1000.5])
    lab = getattr(S, shape)(bins, mu, param, normalize)
    r = S.support_radius(shape, param, normalize)
    far = np.abs(bins - np.floor(mu[:, None] + 0.5)) > r
    assert np.all(lab[far] == 0)
    assert np.all(lab[lab > 0] >= S.ZERO_BELOW)  # no subnormal values
    assert np.any(lab[:, 1000 + r - 3] > 0)  # and R is not much larger than needed
