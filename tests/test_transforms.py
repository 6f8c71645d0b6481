"""data/transforms.py: box -> centre/scale, affine crops in the integer-centre convention, augmentation."""
from __future__ import annotations

import numpy as np
import pytest

from simcc_lab.data import transforms as T
from simcc_lab.keypoints import COCO17, CROWDPOSE14


def _dot_image(x, y, size=(120, 90), radius=3.0):
    """A smooth bright blob centred at (x, y) (integer-centre pixels) on black, uint8 (h, w, 3)."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    blob = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * radius ** 2))
    return np.repeat((255 * blob).round().astype(np.uint8)[..., None], 3, axis=2)


def _centroid(img):
    g = img[..., 0].astype(np.float64)
    yy, xx = np.mgrid[0:g.shape[0], 0:g.shape[1]]
    return np.array([(g * xx).sum() / g.sum(), (g * yy).sum() / g.sum()])


def test_box_to_centre_scale_fixes_aspect_and_pads():
    centre, scale = T.box_to_centre_scale(np.array([[10.0, 20.0, 30.0, 120.0], [0.0, 0.0, 200.0, 50.0]]),
                                          aspect=192 / 256, padding=1.25)
    np.testing.assert_allclose(centre, [[25.0, 80.0], [100.0, 25.0]])
    np.testing.assert_allclose(scale[:, 0] / scale[:, 1], 0.75)
    # the long side decides (tall box: height; wide box: width), times the padding
    np.testing.assert_allclose(scale, [[90 * 1.25, 120 * 1.25], [200 * 1.25, 200 / 0.75 * 1.25]])


@pytest.mark.parametrize("input_size", [(64, 64), (128, 128), (96, 128), (192, 256), (288, 384)])
def test_box_maps_edge_to_edge(input_size):
    w, h = input_size
    centre, scale = np.array([50.0, 60.0]), np.array([40.0, 40.0 * h / w])
    m = T.get_affine(centre, scale, 0.0, input_size)
    corners = np.array([centre - scale / 2, centre, centre + scale / 2])
    np.testing.assert_allclose(T.affine_points(corners, m), [[-0.5, -0.5], [(w - 1) / 2, (h - 1) / 2],
                                                             [w - 0.5, h - 0.5]], atol=1e-9)


def test_inverse_is_exact_batched_with_rotation_and_flip():
    rng = np.random.default_rng(0)
    centre = rng.uniform(0, 500, (6, 2))
    scale = rng.uniform(20, 300, (6, 2))
    rot = rng.uniform(-90, 90, 6)
    flip = np.array([0, 1, 0, 1, 1, 0], bool)
    pts = rng.uniform(-50, 600, (6, 17, 2))
    m = T.get_affine(centre, scale, rot, (192, 256), flip=flip)
    assert m.shape == (6, 2, 3)
    back = T.inverse_keypoints(T.affine_points(pts, m), centre, scale, (192, 256), rotation=rot, flip=flip)
    np.testing.assert_allclose(back, pts, atol=1e-9)
    # one matrix per person must agree with the batched call
    np.testing.assert_allclose(T.affine_points(pts[3], m[3]), T.affine_points(pts, m)[3])


def test_rotation_direction_and_flip():
    m = T.get_affine([0.0, 0.0], [10.0, 10.0], 90.0, (10, 10))
    # a point right of the centre moves up (counter-clockwise on screen, y down)
    np.testing.assert_allclose(T.affine_points([1.0, 0.0], m), [4.5, 3.5], atol=1e-12)
    mf = T.get_affine([0.0, 0.0], [10.0, 10.0], 0.0, (10, 10), flip=True)
    p = T.affine_points(np.array([[2.0, 1.0], [-3.0, 4.0]]), T.get_affine([0.0, 0.0], [10.0, 10.0], 0.0, (10, 10)))
    pf = T.affine_points(np.array([[2.0, 1.0], [-3.0, 4.0]]), mf)
    np.testing.assert_allclose(pf[:, 0], 10 - 1 - p[:, 0])
    np.testing.assert_allclose(pf[:, 1], p[:, 1])


def test_invalid_scale_rejected():
    with pytest.raises(ValueError, match="scale"):
        T.get_affine([0, 0], [0.0, 10.0], 0.0, (64, 64))


@pytest.mark.parametrize("input_size,rotation,flip", [((64, 64), 0.0, False), ((192, 256), 30.0, False),
                                                      ((96, 128), -20.0, True), ((128, 128), 0.0, True)])
@pytest.mark.parametrize("dot", [(40.3, 37.7), (71.75, 50.2)])
def test_warp_image_agrees_with_affine_points(input_size, rotation, flip, dot):
    """A bright dot at a sub-pixel position lands where affine_points puts it (to a few 1/100 px)."""
    img = _dot_image(*dot)
    centre, scale = np.array([58.0, 44.0]), np.array([80.0, 80.0 * input_size[1] / input_size[0]])
    m = T.get_affine(centre, scale, rotation, input_size, flip=flip)
    crop = T.warp_image(img, m, input_size)
    assert crop.shape == (input_size[1], input_size[0], 3) and crop.dtype == np.uint8
    expected = T.affine_points(np.array(dot), m)
    # the blob is a few input pixels wide; its centroid is its centre up to uint8 rounding
    np.testing.assert_allclose(_centroid(crop), expected, atol=0.05)


def test_warp_identity_is_lossless():
    img = np.random.default_rng(1).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    m = T.get_affine([19.5, 14.5], [40.0, 30.0], 0.0, (40, 30))
    np.testing.assert_array_equal(T.warp_image(img, m, (40, 30)), img)
    # a flipped identity crop is the mirrored image
    mf = T.get_affine([19.5, 14.5], [40.0, 30.0], 0.0, (40, 30), flip=True)
    np.testing.assert_array_equal(T.warp_image(img, mf, (40, 30)), img[:, ::-1])


def test_half_body_picks_one_half():
    kpts = np.stack([np.linspace(0, 16, 17), np.arange(17) * 10.0], axis=1)
    vis = np.full(17, 2)
    lower = T.lower_body_mask(COCO17.keypoint_names)
    assert lower.tolist() == [False] * 11 + [True] * 6
    assert T.lower_body_mask(CROWDPOSE14.keypoint_names).sum() == 6
    seen = set()
    for seed in range(20):
        centre, scale = T.half_body_box(kpts, vis, lower, np.random.default_rng(seed), aspect=1.0)
        seen.add(round(centre[1]))
        np.testing.assert_allclose(scale[0], scale[1])
    assert seen == {50, 135}  # mid-height of keypoints 0..10 and of 11..16
    assert T.half_body_box(kpts, np.zeros(17), lower, np.random.default_rng(0), 1.0) is None


def test_random_crop_draws_half_body_then_scale_rotation_flip():
    kpts = np.stack([np.linspace(0, 16, 17), np.arange(17) * 10.0], axis=1)
    vis, lower = np.full(17, 2), T.lower_body_mask(COCO17.keypoint_names)
    box = (np.array([8.0, 80.0]), np.array([200.0, 200.0]))
    always = T.AugmentConfig(half_body_prob=1.0)
    centre, scale, rot, flip = T.random_crop(*box, kpts, vis, always, np.random.default_rng(3), lower, 1.0)
    rng = np.random.default_rng(3)
    rng.random()  # the half-body coin
    half = T.half_body_box(kpts, vis, lower, rng, 1.0, always.half_body_padding)
    expected = T.random_centre_scale(*half, always, rng)
    np.testing.assert_allclose(centre, half[0])
    np.testing.assert_allclose(scale, expected[0])
    assert (rot, flip) == expected[1:]
    # probability 0: the coin is still drawn (the streams of both data paths stay aligned), the box kept
    never = T.AugmentConfig(half_body_prob=0.0)
    centre, scale, rot, flip = T.random_crop(*box, kpts, vis, never, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    rng.random()
    assert np.array_equal(centre, box[0]) and (rot, flip) == T.random_centre_scale(*box, never, rng)[1:]
    with pytest.raises(ValueError, match="lower_mask"):
        T.random_crop(*box, kpts, vis, always, np.random.default_rng(0))


def test_random_centre_scale_respects_ranges():
    cfg = T.AugmentConfig(scale_factor=0.35, rotation_factor=45.0, rotation_prob=0.6, flip_prob=0.5)
    rng = np.random.default_rng(0)
    draws = [T.random_centre_scale([0, 0], [100.0, 100.0], cfg, rng) for _ in range(2000)]
    s = np.array([d[0][0] for d in draws]) / 100
    r = np.array([d[1] for d in draws])
    f = np.array([d[2] for d in draws])
    assert s.min() >= 0.65 - 1e-12 and s.max() <= 1.35 + 1e-12 and s.std() > 0.2
    assert np.abs(r).max() <= 45 and 0.55 < (r != 0).mean() < 0.65
    assert 0.45 < f.mean() < 0.55


def test_augment_config_validates():
    with pytest.raises(ValueError, match="flip_prob"):
        T.AugmentConfig(flip_prob=1.5)
    with pytest.raises(ValueError, match="scale_factor"):
        T.AugmentConfig(scale_factor=1.0)
