"""Skeleton specifications: keypoint names, left/right flip pairs, limbs and OKS sigmas.

A :class:`SkeletonSpec` is everything the pipeline needs to know about a keypoint layout.
Indices are 0-based everywhere in the package (COCO files store 1-based skeletons; see
:func:`spec_from_coco_category`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COCO17_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# OKS per-keypoint sigmas from the COCO keypoint evaluation (PAPER.md).
COCO17_SIGMAS = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
    0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
)
# The official COCO skeleton, converted to 0-based indices.
COCO17_LIMBS = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
    (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)

CROWDPOSE14_NAMES = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "head", "neck",
)
CROWDPOSE14_SIGMAS = (
    0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089, 0.079, 0.079,
)
CROWDPOSE14_LIMBS = (
    (12, 13), (13, 0), (13, 1), (0, 2), (2, 4), (1, 3), (3, 5), (13, 6), (13, 7), (6, 7),
    (6, 8), (8, 10), (7, 9), (9, 11),
)


def _pairs_from_names(names: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """Left/right pairs found by name: ``left_X`` <-> ``right_X``."""
    index = {n: i for i, n in enumerate(names)}
    pairs = []
    for i, n in enumerate(names):
        if n.startswith("left_") and ("right_" + n[5:]) in index:
            pairs.append((i, index["right_" + n[5:]]))
    return tuple(pairs)


@dataclass(frozen=True)
class SkeletonSpec:
    """A keypoint layout.

    Attributes:
        name: short identifier, e.g. ``"coco17"``.
        keypoint_names: K names, in the order of the annotation file.
        flip_pairs: (left, right) index pairs swapped by a horizontal flip.
        limbs: index pairs drawn as the skeleton.
        sigmas: K OKS sigmas (COCO's per-keypoint constants).
    """

    name: str
    keypoint_names: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    limbs: tuple[tuple[int, int], ...]
    sigmas: tuple[float, ...]

    def __post_init__(self) -> None:
        k = len(self.keypoint_names)
        if k < 1:
            raise ValueError("keypoint_names must name at least one keypoint")
        if len(self.sigmas) != k:
            raise ValueError(f"sigmas has {len(self.sigmas)} entries, expected one per keypoint ({k})")
        for a, b in tuple(self.flip_pairs) + tuple(self.limbs):
            if not (0 <= a < k and 0 <= b < k):
                raise ValueError(f"pair ({a}, {b}) is outside 0..{k - 1}")

    @property
    def num_keypoints(self) -> int:
        """K, the number of keypoints."""
        return len(self.keypoint_names)

    @property
    def flip_index(self) -> np.ndarray:
        """Permutation (K,) that swaps left and right: ``flipped[:, j] = kpts[:, flip_index[j]]``."""
        perm = np.arange(self.num_keypoints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm


COCO17 = SkeletonSpec("coco17", COCO17_NAMES, _pairs_from_names(COCO17_NAMES), COCO17_LIMBS, COCO17_SIGMAS)
CROWDPOSE14 = SkeletonSpec(
    "crowdpose14", CROWDPOSE14_NAMES, _pairs_from_names(CROWDPOSE14_NAMES), CROWDPOSE14_LIMBS, CROWDPOSE14_SIGMAS
)
SPECS = {s.name: s for s in (COCO17, CROWDPOSE14)}


def get_spec(name: str) -> SkeletonSpec:
    """Return a named spec (``"coco17"`` or ``"crowdpose14"``)."""
    try:
        return SPECS[name]
    except KeyError:
        raise ValueError(f"unknown skeleton spec {name!r}; known: {sorted(SPECS)}") from None


def known_spec(names) -> SkeletonSpec | None:
    """The known spec (COCO-17, CrowdPose-14) whose keypoint names are exactly ``names``, else None."""
    names = tuple(names)
    return next((spec for spec in SPECS.values() if spec.keypoint_names == names), None)


def spec_from_coco_category(category: dict, sigmas: tuple[float, ...] | None = None, warn=None) -> SkeletonSpec:
    """Build a spec from a COCO ``categories`` entry (``keypoints`` names, 1-based ``skeleton``).

    The keypoint names choose a known spec where they match one exactly (CrowdPose-14 files name their
    14 keypoints as :data:`CROWDPOSE14`). Sigmas come from ``sigmas``, else from that known spec, else
    from a ``"sigmas"`` field in the category; otherwise a ValueError says what is missing.

    A skeleton that does not fit the keypoints (official CrowdPose files carry COCO's 17-keypoint
    skeleton, pairs up to 17, beside 14 keypoints) is replaced by the known spec's, and ``warn(message)``
    is called once to say so; without a known spec it is a ValueError.
    """
    names = tuple(category.get("keypoints") or ())
    if not names:
        raise ValueError(f"category {category.get('name', '?')!r} has no 'keypoints' names")
    known, k = known_spec(names), len(names)
    try:
        limbs = tuple((int(a) - 1, int(b) - 1) for a, b in category.get("skeleton") or ())
    except (TypeError, ValueError):
        raise ValueError(f"'skeleton' must be a list of 1-based [a, b] pairs, got {category.get('skeleton')!r}") \
            from None
    outside = [(a + 1, b + 1) for a, b in limbs if not (0 <= a < k and 0 <= b < k)]
    if outside:
        text = (f"'skeleton' pair {outside[0]} is outside 1..{k} (1-based; {len(outside)} of {len(limbs)} pairs "
                f"do not fit the {k} keypoints)")
        if known is None:
            raise ValueError(f"{text}; fix the skeleton or pass a spec")
        if warn is not None:
            warn(f"{text}: replaced by the skeleton of spec {known.name!r}")
        limbs = known.limbs
    if sigmas is None and known is not None:
        sigmas = known.sigmas
    if sigmas is None and "sigmas" in category:
        sigmas = tuple(float(s) for s in category["sigmas"])
    if sigmas is None:
        raise ValueError(
            f"no OKS sigmas for a {len(names)}-keypoint layout; pass sigmas= or add 'sigmas' to the category"
        )
    return SkeletonSpec(category.get("name", "custom"), names, _pairs_from_names(names), limbs, tuple(sigmas))
