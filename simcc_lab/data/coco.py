"""COCO-format keypoint files (real COCO, SynthPose, CrowdPose, other skeletons): loading and validation.
The crops made from them are :class:`~simcc_lab.data.topdown.TopDownDataset`.

Files are validated when read, in the main process (:func:`check_ground_truth`, shared with evaluation):
a problem raises a UserError (a ValueError) / FileNotFoundError that names the file, the record (index,
annotation id, image id) and the field; the checks shared by every kind of file (ids, categories, flags,
booleans, file names, reading) are in :mod:`simcc_lab.data.validate`. Here:

* structure: not a JSON object, no ``annotations``, a missing ``id``/``image_id``/``keypoints``/``bbox``,
  a wrong keypoint count, an unknown image id, a missing image file;
* values: a non-numeric (e.g. the string ``"12"``) or non-finite (NaN, inf) keypoint, box or area, a
  visibility outside {0, 1, 2}, an ``area`` <= 0 on a person with a labelled keypoint (COCOeval divides by
  it; people without one are ignored by COCOeval and skipped here). A NaN keypoint would make COCOeval count
  that person as matched whatever the prediction.

Two documented repairs, each reported once per file as a warning:

* a missing ``area`` (official CrowdPose files have none) is derived from the box as MMPose does:
  ``area = max(AREA_FROM_BOX * w * h, 1)`` px^2 with ``AREA_FROM_BOX = 0.53``;
* a category skeleton that does not fit its keypoints (official CrowdPose files carry COCO's 17-keypoint
  skeleton) is replaced by the skeleton of the spec its keypoint names choose.

People that cannot make a sound training target are skipped, counted in ``skipped`` (reason -> count)
and logged:

* ``iscrowd``: crowd regions (COCO's own rule);
* ``no_keypoints``: no labelled keypoint (``num_keypoints == 0``; COCOeval ignores them too);
* ``empty_box``: the box has no area once clipped to the image;
* ``keypoint_outside_image``: a labelled keypoint lies more than ``OUTSIDE_TOL`` px outside the image
  (a labelling error: the target would point at nothing);
* ``other_category`` / ``below_score`` (detection files): not a person, or score under the threshold.
"""
from __future__ import annotations

import logging
import math
import os
from collections import Counter
from dataclasses import dataclass
from numbers import Real
from pathlib import Path

import numpy as np

from ..files import UserError
from ..keypoints import SkeletonSpec, get_spec, spec_from_coco_category
from .images import open_image
from .validate import (check_file_name, check_flags, integral_ids, numeric_field, read_json, require_fields,
                       select_category, warn_once)

__all__ = ["Annotations", "load_annotations", "load_detections", "coco_paths", "check_ground_truth",
           "CheckedGroundTruth", "read_json", "numeric_field", "require_fields", "AREA_FROM_BOX"]

log = logging.getLogger(__name__)
OUTSIDE_TOL = 1.0  # px; COCO clicks land on integer pixels, so x == W happens at the border
COCO_ENV = "SIMCC_LAB_COCO"
AREA_FROM_BOX = 0.53  # MMPose's area for files without one: 0.53 x box w x h (at least 1 px^2)


def coco_paths(root=None, split: str = "val") -> tuple[Path, Path]:
    """(annotation file, image folder) of real COCO 2017 keypoints under ``root`` or ``$SIMCC_LAB_COCO``.

    Expected layout: ``root/annotations/person_keypoints_{split}2017.json``, ``root/{split}2017/*.jpg``.
    """
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    root = root if root is not None else os.environ.get(COCO_ENV)
    if not root:
        raise FileNotFoundError(f"no COCO root given: pass --coco-root DIR or set {COCO_ENV} "
                                "(see data/README.md)")
    root = Path(root)
    ann, images = root / "annotations" / f"person_keypoints_{split}2017.json", root / f"{split}2017"
    for p in (ann, images):
        if not p.exists():
            raise FileNotFoundError(f"{p} not found (COCO root {root}, from --coco-root or {COCO_ENV}); "
                                    "see data/README.md for the expected layout")
    return ann, images


@dataclass
class Annotations:
    """Validated people of one keypoint file (structure of arrays: cheap to share with workers).

    Attributes:
        ann_file: the source file; spec: its skeleton.
        images: image id -> (file_name, width, height).
        image_ids, ann_ids: (M,) int64 (ann_id -1 for detections).
        boxes: (M, 4) float64 ``[x, y, w, h]`` image pixels (clipped to the image).
        keypoints: (M, K, 3) float64 (x, y image pixels; v) (zeros for detections).
        areas: (M,) segment area (GT) or box area (detections); scores: (M,) (1 for GT boxes).
        skipped: reason -> number of records left out.
        category_id: the keypoint category's id (results files use it).
    """

    ann_file: Path
    spec: SkeletonSpec
    images: dict
    image_ids: np.ndarray
    ann_ids: np.ndarray
    boxes: np.ndarray
    keypoints: np.ndarray
    areas: np.ndarray
    scores: np.ndarray
    skipped: dict
    category_id: int = 1

    def __len__(self) -> int:
        return len(self.image_ids)


_warn_once = warn_once


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
            spec = spec_from_coco_category(cats[0], warn=lambda m: _warn_once(path, f"{where}: {m}"))
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


def _clip_boxes(boxes: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Clip ``[x, y, w, h]`` boxes (M, 4) to their images (M, 2) = (width, height)."""
    lo = np.maximum(boxes[:, :2], 0.0)
    hi = np.minimum(boxes[:, :2] + np.maximum(boxes[:, 2:], 0.0), sizes)
    return np.concatenate([lo, hi - lo], axis=1)


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
        _warn_once(path, f"{n} of {len(records)} annotations have no 'area' (e.g. annotation id "
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


def _log_skipped(path, skipped: Counter, examples: dict | None = None) -> None:
    """One log line per file; the data-quality reasons (not COCO's routine ones) as warnings."""
    if not skipped:
        return
    examples = examples or {}
    text = ", ".join(f"{n} {r}" + (f" (e.g. annotation id {examples[r]})" if r in examples else "")
                     for r, n in sorted(skipped.items()))
    level = logging.WARNING if {"empty_box", "keypoint_outside_image"} & set(skipped) else logging.INFO
    log.log(level, "%s: skipped %s", path, text)


def load_annotations(ann_file, spec: SkeletonSpec | str | None = None, image_dir=None) -> Annotations:
    """Read, validate and filter the people of a COCO keypoint file.

    Args:
        ann_file: COCO-format JSON with ``images``, ``annotations`` (keypoints, bbox, area) and a
            keypoint category.
        spec: a SkeletonSpec, a spec name, or None to build it from the file's category.
        image_dir: when given, every kept person's image must exist there (checked now, not in workers).

    Returns:
        Annotations of the kept people, in file order.
    """
    path = Path(ann_file)
    gt = check_ground_truth(read_json(path), path, spec)
    crowd = np.array([bool(a.get("iscrowd", 0)) for a in gt.records], dtype=bool)
    skipped = Counter({"iscrowd": int(crowd.sum())} if crowd.any() else {})
    sel = np.flatnonzero(~crowd)
    keep = [gt.records[j] for j in sel]
    m = len(keep)
    kpts = gt.keypoints[sel]
    sizes = np.array([gt.images[a["image_id"]][1:] for a in keep], dtype=np.float64).reshape(m, 2)
    boxes = _clip_boxes(gt.boxes[sel], sizes)
    labelled = kpts[..., 2] > 0
    # Checks on all people at once; the first failing reason of a person is the one counted.
    lo, hi = -0.5 - OUTSIDE_TOL, sizes[:, None, :] - 0.5 + OUTSIDE_TOL
    outside = (labelled & ((kpts[..., :2] < lo) | (kpts[..., :2] > hi)).any(-1)).any(-1)
    reasons = [("no_keypoints", ~labelled.any(-1)), ("empty_box", (boxes[:, 2:] <= 0).any(-1)),
               ("keypoint_outside_image", outside)]
    ok, examples = np.ones(m, dtype=bool), {}
    for reason, bad in reasons:
        hit = bad & ok
        if hit.any():
            skipped[reason], examples[reason] = int(hit.sum()), keep[int(np.flatnonzero(hit)[0])]["id"]
        ok &= ~bad
    _log_skipped(path, skipped, examples)
    idx = np.flatnonzero(ok)
    if not len(idx):  # a data set of nobody would train on nothing and evaluate to {}
        raise UserError(f"{path}: no usable person: every annotation is skipped "
                        f"({', '.join(f'{n} {r}' for r, n in sorted(skipped.items()))})")
    out = Annotations(
        path, gt.spec, gt.images,
        image_ids=np.array([keep[j]["image_id"] for j in idx], dtype=np.int64),
        ann_ids=np.array([keep[j]["id"] for j in idx], dtype=np.int64),
        boxes=boxes[idx], keypoints=kpts[idx], areas=gt.areas[sel][idx],
        scores=np.ones(len(idx)), skipped=dict(skipped), category_id=gt.category_id)
    if image_dir is not None:
        _check_images(out, Path(image_dir), path, [keep[j]["id"] for j in idx])
    return out


def _check_images(ann: Annotations, image_dir: Path, source, record_ids) -> None:
    seen = set()
    for iid, rid in zip(ann.image_ids.tolist(), record_ids):
        if iid in seen:
            continue
        seen.add(iid)
        name, w, h = ann.images[iid]
        if not (image_dir / name).is_file():
            raise FileNotFoundError(f"{source}: image {name!r} (image id {iid}, record {rid}) not found in "
                                    f"{image_dir}")
        open_image(image_dir / name, iid, (w, h)).close()  # the header: a wrong size or a non-image, now


def load_detections(det_file, gt: Annotations, score_thr: float = 0.0, image_dir=None) -> Annotations:
    """Person boxes of a COCO results file (``image_id``, ``bbox``, ``score``, ``category_id``).

    Boxes of other categories, under ``score_thr`` or empty once clipped are skipped and counted.
    Returns Annotations on ``gt``'s images (ann_ids -1, keypoints zero, areas = box areas).
    """
    path = Path(det_file)
    dets = read_json(path, "detection file")
    if not isinstance(dets, list):
        raise UserError(f"{path}: a detection file is a JSON list of {{image_id, bbox, score}} records")
    skipped, keep = Counter(), []
    for i, d in enumerate(dets):
        require_fields(d, ("image_id", "bbox", "score"), f"{path}: record [{i}]")
    integral_ids(dets, "image_id", lambda i: f"{path}: record [{i}]")
    for i, d in enumerate(dets):
        if type(d.get("category_id", 1)) is not int:
            raise UserError(f"{path}: record [{i}] (image_id {d['image_id']}): 'category_id' must be an integer, "
                            f"got {d['category_id']!r}")
        if not isinstance(d["bbox"], list) or len(d["bbox"]) != 4:
            raise UserError(f"{path}: record [{i}] has a bbox of {d['bbox']!r}, expected [x, y, w, h]")
        if d["image_id"] not in gt.images:
            raise UserError(f"{path}: record [{i}] refers to image id {d['image_id']}, not in {gt.ann_file}")

    def where(i):
        return f"{path}: record [{i}] (image_id {dets[i].get('image_id')})"

    numeric_field(dets, "bbox", where, 4)
    numeric_field(dets, "score", where)
    for d in dets:
        if d.get("category_id", gt.category_id) != gt.category_id:
            skipped["other_category"] += 1
        elif d["score"] < score_thr:
            skipped["below_score"] += 1
        else:
            keep.append(d)
    m, k = len(keep), gt.spec.num_keypoints
    sizes = np.array([gt.images[d["image_id"]][1:] for d in keep], dtype=np.float64).reshape(m, 2)
    boxes = _clip_boxes(np.array([d["bbox"] for d in keep], dtype=np.float64).reshape(m, 4), sizes)
    ok = (boxes[:, 2:] > 0).all(-1)
    if (~ok).sum():
        skipped["empty_box"] += int((~ok).sum())
    _log_skipped(path, skipped)
    idx = np.flatnonzero(ok)
    if not len(idx):  # an evaluation of nobody would print {} and succeed
        why = ", ".join(f"{n} {r}" for r, n in sorted(skipped.items())) or "the file is an empty list"
        raise UserError(f"{path}: no usable person box ({why}); a detection file holds person boxes "
                        f"(category_id {gt.category_id}) with a score >= {score_thr:g}")
    out = Annotations(path, gt.spec, gt.images,
                      image_ids=np.array([keep[j]["image_id"] for j in idx], dtype=np.int64),
                      ann_ids=np.full(len(idx), -1, dtype=np.int64), boxes=boxes[idx],
                      keypoints=np.zeros((len(idx), k, 3)), areas=boxes[idx, 2] * boxes[idx, 3],
                      scores=np.array([keep[j]["score"] for j in idx], dtype=np.float64), skipped=dict(skipped),
                      category_id=gt.category_id)
    if image_dir is not None:
        _check_images(out, Path(image_dir), path, [f"[{j}]" for j in idx])
    return out
