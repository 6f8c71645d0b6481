"""Top-down geometry: person box -> centre/scale -> affine crop, its exact inverse, and augmentation.

Coordinate convention (docs/architecture.md; the one the whole package uses):

* **Pixel centres are at integer coordinates.** Pixel column ``i`` covers ``[i - 0.5, i + 0.5)``; an image
  of width ``W`` spans ``x in [-0.5, W - 0.5)``; a horizontal flip maps ``x -> W - 1 - x``.
* An affine matrix is a ``(2, 3)`` float64 array mapping *image pixels* to *input pixels* (the crop of
  size ``input_size = (W, H)``), both in that convention: ``p_input = M[:, :2] @ p_image + M[:, 2]``.
* The crop box (``centre``, ``scale`` = box width and height in image pixels) maps onto the whole input
  image, edge to edge: the box's left edge ``cx - sw/2`` lands on ``-0.5`` and its right edge on
  ``W - 0.5``, so the box centre lands on ``(W - 1) / 2``.

COCO boxes ``[x, y, w, h]`` are read in the same coordinates as the keypoints (box centre
``x + w/2``); the half-pixel this leaves open is irrelevant next to the 1.25 padding.

Rotation: ``rotation_deg > 0`` shows the image turned counter-clockwise *on screen* (y points down)
about the box centre, e.g. a point right of the centre moves up in the crop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = [
    "AugmentConfig", "box_to_centre_scale", "get_affine", "affine_points", "invert_affine", "warp_image",
    "inverse_keypoints", "random_centre_scale", "random_crop", "half_body_box", "lower_body_mask",
]


def box_to_centre_scale(bbox, aspect: float, padding: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """Person boxes -> crop centres and sizes with the input's aspect ratio.

    Args:
        bbox: (N, 4) or (4,) COCO ``[x, y, w, h]`` in image pixels.
        aspect: input width / height (e.g. 192 / 256).
        padding: the box grows by this factor on both axes after the aspect fix (1.25: context).

    Returns:
        centre (N, 2) and scale (N, 2) (crop width, height in image pixels, ``w / h == aspect``),
        without the leading N when ``bbox`` was (4,).
    """
    if aspect <= 0:
        raise ValueError(f"aspect must be > 0, got {aspect}")
    b = np.asarray(bbox, dtype=np.float64)
    x, y, w, h = np.moveaxis(b, -1, 0)
    centre = np.stack([x + 0.5 * w, y + 0.5 * h], axis=-1)
    # Grow the short side (never shrink), so the whole person stays inside the crop.
    w_fixed = np.maximum(w, h * aspect)
    h_fixed = np.maximum(h, w / aspect)
    scale = np.stack([w_fixed, h_fixed], axis=-1) * padding
    return centre, scale


def get_affine(centre, scale, rotation_deg=0.0, input_size=(192, 256), inverse: bool = False,
               flip: bool | np.ndarray = False) -> np.ndarray:
    """Affine matrices image pixels -> input pixels (or the inverse), integer-centre convention.

    ``p_in = D R (p_img - centre) + ((W-1)/2, (H-1)/2)`` with ``R`` the rotation and
    ``D = diag(W / scale_w, H / scale_h)``; ``flip`` then mirrors the crop, ``x_in -> W - 1 - x_in``
    (keypoint slots must be swapped by the caller; see :class:`TopDownDataset`).

    Args:
        centre: (..., 2) box centres, image pixels.
        scale: (..., 2) box width and height, image pixels.
        rotation_deg: scalar or (...,) degrees.
        input_size: (W, H) of the crop.
        inverse: return the input -> image matrices instead.
        flip: scalar or (...,) bool, mirror the crop horizontally.

    Returns:
        (..., 2, 3) float64.
    """
    w_in, h_in = input_size
    centre = np.asarray(centre, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    if np.any(scale <= 0):
        raise ValueError(f"scale must be > 0, got min {scale.min()}")
    theta = np.deg2rad(np.asarray(rotation_deg, dtype=np.float64))
    lead = np.broadcast_shapes(centre.shape[:-1], scale.shape[:-1], theta.shape, np.shape(flip))
    cos, sin = np.broadcast_to(np.cos(theta), lead), np.broadcast_to(np.sin(theta), lead)
    sx = np.broadcast_to(w_in / scale[..., 0], lead)
    sy = np.broadcast_to(h_in / scale[..., 1], lead)
    # Row-by-row: A = D @ [[cos, sin], [-sin, cos]]
    a = np.empty(lead + (2, 2))
    a[..., 0, 0], a[..., 0, 1] = sx * cos, sx * sin
    a[..., 1, 0], a[..., 1, 1] = -sy * sin, sy * cos
    out_c = np.array([(w_in - 1) / 2.0, (h_in - 1) / 2.0])
    t = out_c - np.einsum("...ij,...j->...i", a, np.broadcast_to(centre, lead + (2,)))
    # Flip: x_in -> W - 1 - x_in, i.e. negate row 0 of A and mirror its offset.
    mirror = np.broadcast_to(np.asarray(flip, dtype=bool), lead)
    a[..., 0, :] = np.where(mirror[..., None], -a[..., 0, :], a[..., 0, :])
    t[..., 0] = np.where(mirror, (w_in - 1) - t[..., 0], t[..., 0])
    m = np.concatenate([a, t[..., None]], axis=-1)
    return invert_affine(m) if inverse else m


def invert_affine(m) -> np.ndarray:
    """Exact inverse of (..., 2, 3) affine matrices (closed-form 2x2 inverse)."""
    m = np.asarray(m, dtype=np.float64)
    a, b, c, d = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
    det = a * d - b * c
    if np.any(np.abs(det) < 1e-12):
        raise ValueError("affine matrix is singular")
    inv = np.empty_like(m)
    inv[..., 0, 0], inv[..., 0, 1] = d / det, -b / det
    inv[..., 1, 0], inv[..., 1, 1] = -c / det, a / det
    inv[..., :, 2] = -np.einsum("...ij,...j->...i", inv[..., :, :2], m[..., :, 2])
    return inv


def affine_points(points, m) -> np.ndarray:
    """Apply affine matrices to points.

    Args:
        points: (..., P, 2) or (2,) coordinates.
        m: (2, 3), or (..., 2, 3) with the same leading dims as ``points`` (one matrix per person).

    Returns:
        float64 array of the shape of ``points``.
    """
    p = np.asarray(points, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    if p.ndim == 1:
        return m[..., :, :2] @ p + m[..., :, 2]
    return np.einsum("...ij,...pj->...pi", m[..., :, :2], p) + m[..., None, :, 2]


def warp_image(image: np.ndarray, m, input_size) -> np.ndarray:
    """Warp an image with an image -> input matrix (bilinear, black outside the image).

    PIL's ``Image.transform`` works in the pixel-edge convention (pixel ``j`` covers ``[j, j + 1)``) and
    wants the output -> input map, so the inverse matrix is conjugated by the half-pixel shift:
    ``p_edge = p_centre + 0.5``. Content then lands exactly where :func:`affine_points` puts keypoints.

    Args:
        image: (h, w, 3) or (h, w) uint8.
        m: (2, 3) image -> input pixels.
        input_size: (W, H) of the output.

    Returns:
        (H, W, 3) or (H, W) uint8.
    """
    inv = invert_affine(m)
    a, t = inv[:, :2], inv[:, 2]
    t_edge = t + 0.5 - a @ np.array([0.5, 0.5])
    data = (a[0, 0], a[0, 1], t_edge[0], a[1, 0], a[1, 1], t_edge[1])
    out = Image.fromarray(np.ascontiguousarray(image)).transform(
        tuple(int(v) for v in input_size), Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR,
        fillcolor=0)
    return np.array(out)  # a writable copy (torch.from_numpy warns on read-only arrays)


def inverse_keypoints(kpts_input, centre, scale, input_size, rotation=0.0, flip=False) -> np.ndarray:
    """Input-pixel keypoints back to image pixels (the exact inverse of the crop).

    Args:
        kpts_input: (N, K, 2) input pixels (slots already in the unflipped order).
        centre, scale: (N, 2) image pixels, as used for the crop.
        input_size: (W, H).
        rotation: scalar or (N,) degrees; flip: scalar or (N,) bool (mirror coordinates only).

    Returns:
        (N, K, 2) float64 image pixels.
    """
    inv = get_affine(centre, scale, rotation, input_size, inverse=True, flip=flip)
    return affine_points(kpts_input, inv)


# ---------------------------------------------------------------------------------------------------
# Augmentation
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AugmentConfig:
    """Training augmentation (the official SimCC / HRNet recipe).

    Attributes:
        flip_prob: probability of a horizontal flip (left/right slots swapped).
        scale_factor: the crop size is multiplied by ``clip(1 + sf * z, 1 - sf, 1 + sf)``, z ~ N(0, 1)
            (0.35 -> [0.65, 1.35]).
        rotation_factor: degrees; rotation ``clip(rf * z, -rf, rf)`` (the official code clips at 2 rf;
            the paper states +-45).
        rotation_prob: probability that the crop is rotated at all.
        half_body_prob: probability of cropping only the upper or the lower body.
        half_body_min_kpts: half-body needs more than this many labelled keypoints.
        half_body_padding: padding of the half-body box (official 1.5).
    """

    flip_prob: float = 0.5
    scale_factor: float = 0.35
    rotation_factor: float = 45.0
    rotation_prob: float = 0.6
    half_body_prob: float = 0.3
    half_body_min_kpts: int = 8
    half_body_padding: float = 1.5

    def __post_init__(self) -> None:
        for name in ("flip_prob", "rotation_prob", "half_body_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.scale_factor < 1.0:
            raise ValueError(f"scale_factor must be in [0, 1), got {self.scale_factor}")
        if not (math.isfinite(self.rotation_factor) and self.rotation_factor >= 0):  # nan/inf: blank crops
            raise ValueError(f"rotation_factor must be a finite number >= 0 (degrees), got {self.rotation_factor}")


NO_AUGMENT = AugmentConfig(flip_prob=0.0, scale_factor=0.0, rotation_factor=0.0, rotation_prob=0.0,
                           half_body_prob=0.0)

_LOWER_BODY_WORDS = ("hip", "knee", "ankle", "foot", "heel", "toe")


def lower_body_mask(keypoint_names) -> np.ndarray:
    """(K,) bool, True for lower-body keypoints (named after hips, knees, ankles, feet)."""
    return np.array([any(w in n.lower() for w in _LOWER_BODY_WORDS) for n in keypoint_names], dtype=bool)


def half_body_box(kpts_img, visible, lower_mask, rng: np.random.Generator, aspect: float,
                  padding: float = 1.5):
    """Centre/scale of a box around the upper or the lower body's labelled keypoints.

    Args:
        kpts_img: (K, 2) image pixels; visible: (K,) COCO v; lower_mask: (K,) bool.
        rng: the sample's generator (one draw: upper or lower, 50/50).

    Returns:
        (centre (2,), scale (2,)), or None when the chosen half has fewer than 2 labelled keypoints.
    """
    labelled = np.asarray(visible) > 0
    upper, lower = labelled & ~lower_mask, labelled & lower_mask
    pick_upper = rng.random() < 0.5
    chosen = upper if (pick_upper and upper.sum() > 2) or lower.sum() <= 2 else lower
    if chosen.sum() < 2:
        return None
    pts = np.asarray(kpts_img, dtype=np.float64)[chosen]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return box_to_centre_scale(np.concatenate([lo, hi - lo]), aspect, padding)


def random_centre_scale(centre, scale, cfg: AugmentConfig, rng: np.random.Generator):
    """Random scale, rotation and flip decisions for one sample.

    Returns:
        (scale (2,), rotation_deg float, flip bool); the centre is unchanged.
    """
    z_s, z_r = rng.standard_normal(2)
    s = np.clip(1.0 + cfg.scale_factor * z_s, 1.0 - cfg.scale_factor, 1.0 + cfg.scale_factor)
    rotate = rng.random() < cfg.rotation_prob
    rotation = float(np.clip(cfg.rotation_factor * z_r, -cfg.rotation_factor, cfg.rotation_factor)) if rotate else 0.0
    flip = bool(rng.random() < cfg.flip_prob)
    return np.asarray(scale, dtype=np.float64) * s, rotation, flip


def random_crop(centre, scale, kpts_img, visible, cfg: AugmentConfig, rng: np.random.Generator,
                lower_mask=None, aspect: float = 0.75):
    """The whole training draw of one sample: maybe a half-body box, then scale, rotation and flip.

    One function for every training data path (``TopDownDataset`` and ``crops.CropCache``), so that
    their random streams agree draw for draw: the half-body coin is drawn whenever the person has more
    than ``cfg.half_body_min_kpts`` labelled keypoints, whatever its probability.

    Args:
        centre, scale: (2,) the padded box, image px; kpts_img: (K, 2) image px; visible: (K,) COCO v.
        lower_mask: (K,) bool lower-body keypoints (needed only when ``cfg.half_body_prob > 0``).
        aspect: input width / height of the half-body box.

    Returns:
        (centre (2,), scale (2,), rotation_deg float, flip bool).
    """
    if (np.asarray(visible) > 0).sum() > cfg.half_body_min_kpts and rng.random() < cfg.half_body_prob:
        if lower_mask is None:
            raise ValueError("random_crop: half_body_prob > 0 needs the lower_mask of the keypoints")
        half = half_body_box(kpts_img, visible, lower_mask, rng, aspect, cfg.half_body_padding)
        if half is not None:
            centre, scale = half
    scale, rotation, flip = random_centre_scale(centre, scale, cfg, rng)
    return centre, scale, rotation, flip
