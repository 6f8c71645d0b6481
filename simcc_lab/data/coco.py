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
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..files import UserError
from ..keypoints import SkeletonSpec
from .ground_truth import AREA_FROM_BOX, CheckedGroundTruth, check_ground_truth
from .images import open_image
from .validate import integral_ids, numeric_field, read_json, require_fields, warn_once

__all__ = ["Annotations", "load_annotations", "load_detections", "coco_paths", "check_ground_truth",
           "CheckedGroundTruth", "read_json", "numeric_field", "require_fields", "AREA_FROM_BOX"]

log = logging.getLogger(__name__)
OUTSIDE_TOL = 1.0  # px; COCO clicks land on integer pixels, so x == W happens at the border
COCO_ENV = "SIMCC_LAB_COCO"


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


def _clip_boxes(boxes: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Clip ``[x, y, w, h]`` boxes (M, 4) to their images (M, 2) = (width, height)."""
    lo = np.maximum(boxes[:, :2], 0.0)
    hi = np.minimum(boxes[:, :2] + np.maximum(boxes[:, 2:], 0.0), sizes)
    return np.concatenate([lo, hi - lo], axis=1)


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
