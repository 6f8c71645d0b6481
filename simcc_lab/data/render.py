"""Anti-aliased rasterisation for SynthPose: capsules, ellipses and convex polygons.

Coordinates are image pixels with **pixel centres at integer coordinates** (docs/architecture.md):
pixel (row i, column j) covers x in [j-0.5, j+0.5), y in [i-0.5, i+0.5). The coverage of a shape at a
pixel is a smooth step of the signed distance ``sd`` (negative inside) from the pixel centre to the
shape's outline (see ``_alpha``), an even function of ``sd``: a shape whose geometry is symmetric about
a continuous point renders symmetric about that same point, and its intensity centroid is that point
to within sampling error (< 0.015 px for discs of radius >= 1.5 px). Every shape is evaluated only
inside its bounding box, in float32, with no per-pixel Python loop.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from PIL import Image

BACKGROUND, OCCLUDER = 0, 1  # owner labels that are no person's part (people use >= 64, see synthetic.py)


class Coverage(NamedTuple):
    """Anti-aliased coverage of one shape inside its bounding box.

    Attributes:
        x0, y0: column and row of the box's top-left pixel.
        alpha: (h, w) float32 coverage in [0, 1] of pixels ``[y0:y0+h, x0:x0+w]``.
    """

    x0: int
    y0: int
    alpha: np.ndarray


def _grid(xmin: float, xmax: float, ymin: float, ymax: float, pad: float, size: tuple[int, int]):
    """Pixel-centre coordinates of the box ``[min - pad, max + pad]`` clipped to the image, or None.

    Returns (x0, y0, xs (1, w) float32, ys (h, 1) float32).
    """
    w_img, h_img = size
    x0 = max(int(np.floor(xmin - pad)), 0)
    y0 = max(int(np.floor(ymin - pad)), 0)
    x1 = min(int(np.ceil(xmax + pad)) + 1, w_img)
    y1 = min(int(np.ceil(ymax + pad)) + 1, h_img)
    if x0 >= x1 or y0 >= y1:
        return None
    xs = np.arange(x0, x1, dtype=np.float32)[None, :]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None]
    return x0, y0, xs, ys


def _clip01(a: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] in place (two ufunc calls: several times cheaper than np.clip on small arrays)."""
    np.maximum(a, np.float32(0.0), out=a)
    return np.minimum(a, np.float32(1.0), out=a)


def _alpha(sd: np.ndarray) -> np.ndarray:
    """Coverage from signed distance (px, negative inside), computed in place.

    A smoothstep across a 1.5-px band centred on the outline: ``t = clip(0.5 - sd / 1.5, 0, 1)``,
    ``alpha = t^2 (3 - 2 t)``. It is an even function of ``sd`` about the outline (so shapes stay
    symmetric about their geometry) and, being smoother than the 1-px linear ramp
    ``clip(0.5 - sd, 0, 1)``, it aliases less: the intensity centroid of a disc of radius >= 1.5 px
    matches its continuous centre to ~0.015 px instead of ~0.05 px. ``alpha >= 0.5`` iff ``sd <= 0``.
    """
    if sd.dtype != np.float32:
        sd = sd.astype(np.float32)
    sd *= np.float32(-1 / 1.5)
    sd += np.float32(0.5)
    t = _clip01(sd)
    t2 = t * t
    t *= np.float32(-2.0)
    t += np.float32(3.0)
    t *= t2
    return t


def capsule_coverage(p0, p1, r0: float, r1: float, size: tuple[int, int]) -> Coverage | None:
    """Coverage of a (tapered) capsule: the segment p0 -> p1 swept by a disc of radius r0 -> r1.

    Args:
        p0, p1: (2,) end points (x, y) in image pixels; equal points give a disc.
        r0, r1: radii (px) at p0 and p1, interpolated along the axis.
        size: image (W, H).
    Returns:
        Coverage inside the bounding box, or None when the shape misses the image.
    """
    (ax, ay), (bx, by) = p0, p1
    pad = max(r0, r1) + 1.0
    g = _grid(min(ax, bx), max(ax, bx), min(ay, by), max(ay, by), pad, size)
    if g is None:
        return None
    x0, y0, xs, ys = g
    # Work relative to p0 so float32 keeps sub-millipixel precision. Few, in-place numpy calls:
    # at a few hundred pixels per shape the call overhead, not the arithmetic, is the cost.
    px, py = xs - np.float32(ax), ys - np.float32(ay)
    dx, dy = float(bx - ax), float(by - ay)
    length2 = dx * dx + dy * dy
    if length2 < 1e-12:  # a disc
        dist = np.sqrt(px * px + py * py)
        dist -= np.float32(r0)
        return Coverage(x0, y0, _alpha(dist))
    t = px * np.float32(dx / length2) + py * np.float32(dy / length2)
    _clip01(t)
    ex, ey = px - t * np.float32(dx), py - t * np.float32(dy)
    ex *= ex
    ey *= ey
    ex += ey
    dist = np.sqrt(ex, out=ex)
    if r0 == r1:
        dist -= np.float32(r0)
    else:
        t *= np.float32(r1 - r0)
        t += np.float32(r0)
        dist -= t
    return Coverage(x0, y0, _alpha(dist))


def ellipse_coverage(centre, rx: float, ry: float, angle: float, size: tuple[int, int]) -> Coverage | None:
    """Coverage of an ellipse with semi-axes rx (along ``angle``) and ry, rotated by ``angle`` radians.

    The signed distance is the first-order estimate ``k (k - 1) / |grad k|`` with
    ``k = sqrt((u/rx)^2 + (v/ry)^2)``: exact on the outline, smooth and symmetric about the centre.
    """
    cx, cy = centre
    pad = max(rx, ry) + 1.0
    g = _grid(cx, cx, cy, cy, pad, size)
    if g is None:
        return None
    x0, y0, xs, ys = g
    px, py = xs - np.float32(cx), ys - np.float32(cy)
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    u, v = px * c + py * s, py * c - px * s
    ia, ib = np.float32(1.0 / rx), np.float32(1.0 / ry)
    k = np.sqrt((u * ia) ** 2 + (v * ib) ** 2)
    grad = np.sqrt((u * ia * ia) ** 2 + (v * ib * ib) ** 2)
    # At the exact centre k = grad = 0; the limit of the estimate there is -min(rx, ry).
    sd = np.where(k > 1e-6, k * (k - 1.0) / np.maximum(grad, 1e-12), -min(rx, ry)).astype(np.float32)
    return Coverage(x0, y0, _alpha(sd))


def convex_hull(points) -> np.ndarray:
    """Convex hull (M, 2) of a few 2-D points (Andrew's monotone chain), counter-clockwise in x-right/y-up."""
    pts = sorted(map(tuple, np.asarray(points, dtype=np.float64).reshape(-1, 2)))
    if len(pts) <= 2:
        return np.asarray(pts)

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.asarray(lower[:-1] + upper[:-1])


def polygon_coverage(points, size: tuple[int, int]) -> Coverage | None:
    """Coverage of the convex hull of ``points`` (M, 2) in image pixels.

    Signed distance = max over edges of the distance to the edge's line: exact inside and along
    edges, slightly rounded off outside corners (within the 1-px ramp only).
    """
    hull = convex_hull(points)
    if len(hull) < 3:
        return None
    g = _grid(hull[:, 0].min(), hull[:, 0].max(), hull[:, 1].min(), hull[:, 1].max(), 1.0, size)
    if g is None:
        return None
    x0, y0, xs, ys = g
    edge = np.roll(hull, -1, axis=0) - hull
    normal = np.stack([edge[:, 1], -edge[:, 0]], axis=1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    # Orient normals outward whatever the hull's winding in y-down image coordinates.
    centroid = hull.mean(axis=0)
    outward = np.sign(np.einsum("md,md->m", normal, hull - centroid))[:, None]
    normal = (normal * np.where(outward == 0, 1.0, outward)).astype(np.float32)
    offset = np.einsum("md,md->m", normal, hull)
    # One (h, w) pass per edge: separable terms on the row/column vectors, then a running maximum.
    sd = None
    for (nx, ny), off in zip(normal, offset):
        d = xs * nx + (ys * ny - np.float32(off))
        sd = d if sd is None else np.maximum(sd, d, out=sd)
    return Coverage(x0, y0, _alpha(sd))


class Canvas:
    """An RGB float32 image (H, W, 3) in 0..255 plus an ``owner`` label map (H, W) int32.

    ``paint`` composites a shape (``over`` operator with its coverage) and, when given a label,
    writes it into ``owner`` wherever the pixel centre lies inside the shape (coverage >= 0.5).
    The owner map is what decides keypoint visibility: the last shape drawn over a pixel owns it.
    """

    def __init__(self, image: np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image must be (H, W, 3), got shape {image.shape}")
        self.image = np.ascontiguousarray(image, dtype=np.float32)
        self.owner = np.full(image.shape[:2], BACKGROUND, dtype=np.int32)

    @property
    def size(self) -> tuple[int, int]:
        """(W, H) in pixels."""
        return self.image.shape[1], self.image.shape[0]

    def paint(self, cov: Coverage | None, color, label: int | None = None) -> tuple[int, int, int, int] | None:
        """Composite ``color`` (3,) 0..255 with coverage ``cov``; returns the box (x0, y0, x1, y1) or None."""
        if cov is None:
            return None
        h, w = cov.alpha.shape
        ys, xs = slice(cov.y0, cov.y0 + h), slice(cov.x0, cov.x0 + w)
        region = self.image[ys, xs]
        region += cov.alpha[..., None] * (np.asarray(color, dtype=np.float32) - region)
        if label is not None:
            np.copyto(self.owner[ys, xs], label, where=cov.alpha >= 0.5)
        return cov.x0, cov.y0, cov.x0 + w, cov.y0 + h

    def to_uint8(self, rng: np.random.Generator | None = None, noise: float = 0.0) -> np.ndarray:
        """The image as (H, W, 3) uint8, optionally with uniform sensor noise of std ``noise`` (0..255 units).

        Uniform float32 noise and a floor after adding 0.5 (= rounding for values >= 0) keep this at a
        few passes over the image; it is the largest fixed cost of a scene.
        """
        img = self.image
        if noise > 0 and rng is not None:
            # uniform on [-a, a] has std a / sqrt(3)
            img = rng.random(img.shape, dtype=np.float32)
            img *= np.float32(2 * noise * np.sqrt(3))
            img += self.image - np.float32(noise * np.sqrt(3) - 0.5)
        else:
            img = img + np.float32(0.5)
        np.clip(img, 0, 255, out=img)
        return img.astype(np.uint8)


def random_color(rng: np.random.Generator, lo: float = 0.0, hi: float = 255.0) -> np.ndarray:
    """A uniformly random RGB colour (3,) float32 in [lo, hi]."""
    return rng.uniform(lo, hi, 3).astype(np.float32)


def muted_color(rng: np.random.Generator) -> np.ndarray:
    """A random RGB colour (3,) float32 0..255 around a random grey, with random saturation."""
    grey = rng.uniform(30, 225)
    return np.clip(grey + rng.uniform(-1, 1, 3) * rng.uniform(10, 110), 0, 255).astype(np.float32)


def smooth_background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A smooth background (H, W, 3) float32 in 0..255: a colour gradient plus low-frequency colour noise.

    Both are built on a coarse grid and bicubic-upsampled once by PIL, which is much cheaper than
    evaluating them per pixel (the gradient is linear, so upsampling keeps it exact inside the grid).
    """
    w, h = size
    gx = int(rng.integers(2, 12))
    gy = max(2, gx + int(rng.integers(-2, 3)))  # near-square cells: no stripe artefacts
    ang = rng.uniform(0, 2 * np.pi)
    t = np.cos(ang) * np.linspace(0, 1, gx)[None, :] + np.sin(ang) * np.linspace(0, 1, gy)[:, None]
    t = (t - t.min()) / max(np.ptp(t), 1e-6)
    c0, c1 = muted_color(rng), muted_color(rng)
    grid = c0 + t[..., None] * (c1 - c0) + rng.uniform(-1, 1, (gy, gx, 3)) * rng.uniform(10, 70)
    grid = np.clip(grid, 0, 255).astype(np.uint8)
    return np.asarray(Image.fromarray(grid).resize((w, h), Image.BICUBIC), dtype=np.float32)


def background(rng: np.random.Generator, size: tuple[int, int], distractors: int) -> Canvas:
    """A cluttered background: a smooth gradient with colour noise, plus distractor shapes.

    Distractors (capsules, ellipses, polygons in random colours) are painted without an owner label,
    so they count as background for visibility but look like limbs and heads to a detector.
    """
    w, h = size
    canvas = Canvas(smooth_background(rng, size))
    scale = min(w, h)
    for _ in range(distractors):
        kind = rng.integers(3)
        c = rng.uniform(0, 1, 2) * (w, h)
        r = scale * rng.uniform(0.01, 0.12)
        if kind == 0:
            cov = capsule_coverage(c, c + rng.normal(0, scale * 0.15, 2), r * 0.5, r * 0.4, size)
        elif kind == 1:
            cov = ellipse_coverage(c, r, r * rng.uniform(0.3, 1.0), rng.uniform(0, np.pi), size)
        else:
            cov = polygon_coverage(c + rng.normal(0, r, (int(rng.integers(3, 7)), 2)), size)
        canvas.paint(cov, muted_color(rng) if rng.random() < 0.7 else random_color(rng))
    return canvas
