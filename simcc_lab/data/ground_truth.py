"""Ground-truth files checked before any work: :func:`check_ground_truth` validates a parsed COCO keypoint
file (see :mod:`simcc_lab.data.coco`'s docstring for the checks and the two repairs) and returns a
:class:`CheckedGroundTruth`, which the data loader and the evaluation both read.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real
from pathlib import Path

import numpy as np

from ..files import UserError
from ..keypoints import SkeletonSpec, get_spec, spec_from_coco_category
from .validate import (check_file_name, check_flags, integral_ids, numeric_field, require_fields, select_category,
                       warn_once)

__all__ = ["CheckedGroundTruth", "check_ground_truth", "AREA_FROM_BOX"]

AREA_FROM_BOX = 0.53  # MMPose's area for files without one: 0.53 x box w x h (at least 1 px^2)


def _resolve_spec(data: dict, path: Path, spec) -> tuple[SkeletonSpec, int]:
    """The skeleton (given, named, or from the file's keypoint category) and the category id."""
    cats = [c for c in data.get("categories") or [] if isinstance(c, dict) and c.get("keypoints")]
    if isinstance(spec, str):
        spec = get_spec(spec)
    if spec is None:
        if not cats:
            raise UserError(f"{path}: no category with 'keypoints' names; pass spec= (e.g. 'coco17')")
        if len(cats) > 1:
            raise UserError(f"{path}: {len(cats)} keypoint categories; pass spec= to choose one")
        where = f"category {cats[0].get('id')}"
        try:
            spec = spec_from_coco_category(cats[0], warn=lambda m: warn_once(path, f"{where}: {m}"))
        except ValueError as err:
            raise UserError(f"{path}: {where}: {err}") from None
    elif cats and len(cats[0]["keypoints"]) != spec.num_keypoints:
        raise UserError(f"{path}: category has {len(cats[0]['keypoints'])} keypoints, "
                         f"spec {spec.name!r} has {spec.num_keypoints}")
    return spec, int(cats[0].get("id", 1)) if cats else 1


def _image_table(data: dict, path: Path) -> dict:
    if not isinstance(data.get("images"), list):
        raise UserError(f"{path}: no 'images' list")
    images = data["images"]
    for i, im in enumerate(images):
        require_fields(im, ("id", "file_name", "width", "height"),
                       f"{path}: images[{i}]" + (f" (id {im.get('id')})" if isinstance(im, dict) else ""))
    integral_ids(images, "id", lambda i: f"{path}: images[{i}] (id {images[i]['id']!r})", unique=True)
    table = {}
    for i, im in enumerate(images):
        check_file_name(im["file_name"], f"{path}: images[{i}] (id {im['id']})")
        size = (im["width"], im["height"])
        if not all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in size):
            raise UserError(f"{path}: images[{i}] (id {im['id']}): 'width' and 'height' must be positive numbers, "
                             f"got {size}")
        table[im["id"]] = (im["file_name"], int(im["width"]), int(im["height"]))
    return table


@dataclass
class CheckedGroundTruth:
    """A validated COCO keypoint file (see the module docstring).

    Attributes:
        data: the file's dict, with ``area`` filled in (a new record) where it was derived from the box.
        spec, category_id: its skeleton and keypoint category id. images: image id -> (file_name, w, h).
        records: the annotations (all, crowds included), in file order; where: i -> "file: annotations[i]
        (id, image_id)". keypoints (N, K, 3) image px and v; boxes (N, 4) ``[x, y, w, h]`` as in the
        file; areas (N,) px^2.
    """

    data: dict
    spec: SkeletonSpec
    category_id: int
    images: dict
    records: list
    where: object
    keypoints: np.ndarray
    boxes: np.ndarray
    areas: np.ndarray


def _check_structure(records: list, index: list, images: dict, k: int, where, path) -> None:
    """Every annotation is a record with integral ids, 3 x ``k`` keypoint values, a 4-value bbox and a
    known image id; ``index[i]`` is record i's position in the file, ``where(i)`` names it in errors."""
    for i, a in enumerate(records):
        require_fields(a, ("id", "image_id", "keypoints", "bbox"),
                       where(i) if isinstance(a, dict) else f"{path}: annotations[{index[i]}]")
    integral_ids(records, "id", where, unique=True)
    integral_ids(records, "image_id", where)
    for i, a in enumerate(records):
        if not isinstance(a["keypoints"], list) or len(a["keypoints"]) != 3 * k:
            n = len(a["keypoints"]) if isinstance(a["keypoints"], list) else repr(a["keypoints"])
            raise UserError(f"{where(i)} has {n} keypoint values, expected 3 x {k}")
        if not isinstance(a["bbox"], list) or len(a["bbox"]) != 4:
            raise UserError(f"{where(i)} has a bbox of {a['bbox']!r}, expected [x, y, w, h]")
        if a["image_id"] not in images:
            raise UserError(f"{where(i)} refers to an image id missing from 'images'")


def _check_visibility(v: np.ndarray, where, spec: SkeletonSpec) -> None:
    """Refuse a visibility flag outside COCO's {0, 1, 2}; ``v`` is (N, K), ``where(i)`` names record i."""
    bad = (v != 0) & (v != 1) & (v != 2)
    if bad.any():
        i, j = (int(t) for t in np.argwhere(bad)[0])
        raise UserError(f"{where(i)}: keypoint {j} ({spec.keypoint_names[j]}) has visibility {v[i, j]:g}; "
                         "COCO allows 0 (not labelled), 1 (labelled, hidden), 2 (labelled, visible)")


def _areas(records: list, fixed: list, kpts: np.ndarray, boxes: np.ndarray, where, path) -> tuple[np.ndarray, list]:
    """The people's areas (N,) px^2: the file's where given (checked), else derived from the box.

    Args:
        records: the annotations; fixed: the same after :func:`check_flags` (returned as is, or as a new
            list with ``area`` added to the records that lacked it); kpts (N, K, 3); boxes (N, 4) [x, y, w, h].
    Returns:
        (areas, fixed).
    """
    has_area = np.array([a.get("area") is not None for a in records], dtype=bool)
    areas = np.maximum(AREA_FROM_BOX * boxes[:, 2] * boxes[:, 3], 1.0)
    if has_area.any():
        given = [records[i] for i in np.flatnonzero(has_area)]
        idx = np.flatnonzero(has_area)
        areas[idx] = numeric_field(given, "area", lambda i: where(int(idx[i])))
        # people without a labelled keypoint may have area 0 (SynthPose's fully hidden people): COCOeval
        # ignores them and the dataset skips them, so only labelled people need an area
        labelled = (kpts[idx, :, 2] > 0).any(-1)
        low = idx[(areas[idx] <= 0) & labelled]
        if len(low):
            raise UserError(f"{where(int(low[0]))}: 'area' must be > 0 (px^2; COCOeval divides by it), got "
                             f"{areas[low[0]]:g}")
    if not has_area.all():
        n = int((~has_area).sum())
        warn_once(path, f"{n} of {len(records)} annotations have no 'area' (e.g. annotation id "
                         f"{records[int(np.flatnonzero(~has_area)[0])]['id']}): derived from the box as "
                         f"max({AREA_FROM_BOX} x w x h, 1) px^2 (MMPose's rule)")
        fixed = [a if has_area[i] else dict(a, area=float(areas[i])) for i, a in enumerate(fixed)]
    return areas, fixed


def check_ground_truth(data, path, spec: SkeletonSpec | str | None = None) -> CheckedGroundTruth:
    """Validate a parsed COCO keypoint file (from ``path``, named in every error); see the module
    docstring for the checks and the two repairs. Returns a :class:`CheckedGroundTruth`."""
    if not isinstance(data, dict):
        raise UserError(f"{path}: ground truth must be a JSON object with 'images', 'annotations' and "
                         f"'categories', got a JSON {type(data).__name__} (a results file?)")
    if not isinstance(data.get("annotations"), list):
        raise UserError(f"{path}: no 'annotations' list (not a COCO keypoint file)")
    spec, category_id = _resolve_spec(data, path, spec)
    images, k = _image_table(data, path), spec.num_keypoints
    records, index = select_category(data, data["annotations"], category_id, path)
    if not records:
        raise UserError(f"{path}: no annotations" + (f" of the keypoint category {category_id}"
                                                      if data["annotations"] else "")
                        + ": no person to train on or evaluate")

    def label(i):
        a = records[i]
        return f"annotations[{index[i]}] (id {a.get('id')!r}, image_id {a.get('image_id')!r})"

    def where(i):
        return f"{path}: {label(i)}"

    _check_structure(records, index, images, k, where, path)

    def describe(j):
        return f"keypoint {j // 3} ({spec.keypoint_names[j // 3]}) {'xyv'[j % 3]}"

    kpts = numeric_field(records, "keypoints", where, 3 * k, describe).reshape(-1, k, 3)
    boxes = numeric_field(records, "bbox", where, 4)
    v = kpts[..., 2]
    _check_visibility(v, where, spec)
    fixed = check_flags(records, v, where, path, label)
    areas, fixed = _areas(records, fixed, kpts, boxes, where, path)
    if fixed is not data["annotations"]:  # a new dict: the caller's file stays as it was
        data = dict(data, annotations=fixed)
    return CheckedGroundTruth(data, spec, category_id, images, data["annotations"], where, kpts, boxes, areas)
