"""COCO-format keypoint files (real COCO, SynthPose, CrowdPose, other skeletons): loading and validation.
The crops made from them are :class:`~simcc_lab.data.topdown.TopDownDataset`.

Files are validated when read, in the main process (:func:`check_ground_truth`, shared with evaluation):
a problem raises a ValueError / FileNotFoundError that names the file, the record (index, annotation id,
image id) and the field:

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

import json
import logging
import math
import os
from collections import Counter
from dataclasses import dataclass
from numbers import Real
from pathlib import Path

import numpy as np

from ..keypoints import SkeletonSpec, get_spec, spec_from_coco_category

__all__ = ["Annotations", "load_annotations", "load_detections", "coco_paths", "check_ground_truth",
           "CheckedGroundTruth", "read_json", "numeric_field", "require_fields", "AREA_FROM_BOX"]

log = logging.getLogger(__name__)
OUTSIDE_TOL = 1.0  # px; COCO clicks land on integer pixels, so x == W happens at the border
COCO_ENV = "SIMCC_LAB_COCO"
AREA_FROM_BOX = 0.53  # MMPose's area for files without one: 0.53 x box w x h (at least 1 px^2)
_REPORTED: set = set()  # (file, message) already logged by this process: each repair is reported once


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


def _warn_once(path, message: str) -> None:
    """Log ``path: message`` as a warning, once per process for a file (always for ``<dict>`` sources)."""
    if str(path).startswith("<") or (str(path), message) not in _REPORTED:
        _REPORTED.add((str(path), message))
        log.warning("%s: %s", path, message)


def _resolve_spec(data: dict, path: Path, spec) -> tuple[SkeletonSpec, int]:
    """The skeleton (given, named, or from the file's keypoint category) and the category id."""
    cats = [c for c in data.get("categories") or [] if isinstance(c, dict) and c.get("keypoints")]
    if isinstance(spec, str):
        spec = get_spec(spec)
    if spec is None:
        if not cats:
            raise ValueError(f"{path}: no category with 'keypoints' names; pass spec= (e.g. 'coco17')")
        if len(cats) > 1:
            raise ValueError(f"{path}: {len(cats)} keypoint categories; pass spec= to choose one")
        where = f"category {cats[0].get('id')}"
        try:
            spec = spec_from_coco_category(cats[0], warn=lambda m: _warn_once(path, f"{where}: {m}"))
        except ValueError as err:
            raise ValueError(f"{path}: {where}: {err}") from None
    elif cats and len(cats[0]["keypoints"]) != spec.num_keypoints:
        raise ValueError(f"{path}: category has {len(cats[0]['keypoints'])} keypoints, "
                         f"spec {spec.name!r} has {spec.num_keypoints}")
    return spec, int(cats[0].get("id", 1)) if cats else 1


def _image_table(data: dict, path: Path) -> dict:
    if not isinstance(data.get("images"), list):
        raise ValueError(f"{path}: no 'images' list")
    table = {}
    for i, im in enumerate(data["images"]):
        missing = [k for k in ("id", "file_name", "width", "height") if k not in im]
        if missing:
            raise ValueError(f"{path}: images[{i}] (id {im.get('id')}) lacks {missing}")
        size = (im["width"], im["height"])
        if not all(isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in size):
            raise ValueError(f"{path}: images[{i}] (id {im['id']}): 'width' and 'height' must be positive numbers, "
                             f"got {size}")
        table[im["id"]] = (im["file_name"], int(im["width"]), int(im["height"]))
    return table


def _clip_boxes(boxes: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Clip ``[x, y, w, h]`` boxes (M, 4) to their images (M, 2) = (width, height)."""
    lo = np.maximum(boxes[:, :2], 0.0)
    hi = np.minimum(boxes[:, :2] + np.maximum(boxes[:, 2:], 0.0), sizes)
    return np.concatenate([lo, hi - lo], axis=1)


def read_json(path) -> object:
    """The parsed JSON of ``path``; FileNotFoundError / ValueError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation file {path} not found")
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None


def require_fields(record, fields, label: str) -> None:
    """A ValueError ``{label} is a list, not a record`` or ``{label} lacks [missing fields]``."""
    if not isinstance(record, dict):
        raise ValueError(f"{label} is a {type(record).__name__}, not a record")
    missing = [key for key in fields if key not in record]
    if missing:
        raise ValueError(f"{label} lacks {missing}")


def numeric_field(records: list, field: str, where, width: int | None = None, describe=None) -> np.ndarray:
    """``records[i][field]`` as float64 (N, width) (lists of ``width`` numbers) or (N,) (``width=None``,
    scalars), checked: a non-numeric value (a string such as ``"12"``, None, a bool) or a non-finite one
    (NaN, inf) is a ValueError that names ``where(i)``, the field and the position (``describe(j)``).
    Lengths must have been checked. Vectorised; the records are walked only to name a culprit."""
    values = [r[field] for r in records]
    try:
        arr = np.asarray(values)
        ok = arr.dtype.kind in "iuf"
    except (TypeError, ValueError):  # ragged or mixed
        ok = False
    if not ok:
        for i, v in enumerate(values):
            for j, x in enumerate([v] if width is None else v):
                if isinstance(x, bool) or not isinstance(x, Real):
                    at = "" if width is None else f" at {describe(j) if describe else f'position {j}'}"
                    raise ValueError(f"{where(i)}: {field!r} has a non-numeric value {x!r}{at}")
        arr = np.asarray(values)
    arr = arr.astype(np.float64).reshape((len(values),) if width is None else (len(values), width))
    finite = np.isfinite(arr).reshape(len(values), -1)
    if not finite.all():
        i, j = (int(v) for v in np.argwhere(~finite)[0])
        at = "" if width is None else f" at {describe(j) if describe else f'position {j}'}"
        raise ValueError(f"{where(i)}: {field!r} has a non-finite value {arr.reshape(len(values), -1)[i, j]}{at}")
    return arr


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


def check_ground_truth(data, path, spec: SkeletonSpec | str | None = None) -> CheckedGroundTruth:
    """Validate a parsed COCO keypoint file (from ``path``, named in every error); see the module
    docstring for the checks and the two repairs. Returns a :class:`CheckedGroundTruth`."""
    if not isinstance(data, dict):
        raise ValueError(f"{path}: ground truth must be a JSON object with 'images', 'annotations' and "
                         f"'categories', got a JSON {type(data).__name__} (a results file?)")
    if not isinstance(data.get("annotations"), list):
        raise ValueError(f"{path}: no 'annotations' list (not a COCO keypoint file)")
    spec, category_id = _resolve_spec(data, path, spec)
    images, k = _image_table(data, path), spec.num_keypoints
    records = data["annotations"]

    def where(i):
        a = records[i]
        return f"{path}: annotations[{i}] (id {a.get('id')}, image_id {a.get('image_id')})"

    for i, a in enumerate(records):
        require_fields(a, ("id", "image_id", "keypoints", "bbox"),
                       where(i) if isinstance(a, dict) else f"{path}: annotations[{i}]")
        if not isinstance(a["keypoints"], list) or len(a["keypoints"]) != 3 * k:
            n = len(a["keypoints"]) if isinstance(a["keypoints"], list) else repr(a["keypoints"])
            raise ValueError(f"{where(i)} has {n} keypoint values, expected 3 x {k}")
        if not isinstance(a["bbox"], list) or len(a["bbox"]) != 4:
            raise ValueError(f"{where(i)} has a bbox of {a['bbox']!r}, expected [x, y, w, h]")
        if a["image_id"] not in images:
            raise ValueError(f"{where(i)} refers to an image id missing from 'images'")

    def describe(j):
        return f"keypoint {j // 3} ({spec.keypoint_names[j // 3]}) {'xyv'[j % 3]}"

    kpts = numeric_field(records, "keypoints", where, 3 * k, describe).reshape(-1, k, 3)
    boxes = numeric_field(records, "bbox", where, 4)
    v = kpts[..., 2]
    bad = (v != 0) & (v != 1) & (v != 2)
    if bad.any():
        i, j = (int(t) for t in np.argwhere(bad)[0])
        raise ValueError(f"{where(i)}: keypoint {j} ({spec.keypoint_names[j]}) has visibility {v[i, j]:g}; "
                         "COCO allows 0 (not labelled), 1 (labelled, hidden), 2 (labelled, visible)")
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
            raise ValueError(f"{where(int(low[0]))}: 'area' must be > 0 (px^2; COCOeval divides by it), got "
                             f"{areas[low[0]]:g}")
    if not has_area.all():
        n = int((~has_area).sum())
        _warn_once(path, f"{n} of {len(records)} annotations have no 'area' (e.g. annotation id "
                         f"{records[int(np.flatnonzero(~has_area)[0])]['id']}): derived from the box as "
                         f"max({AREA_FROM_BOX} x w x h, 1) px^2 (MMPose's rule)")
        data = dict(data, annotations=[a if has_area[i] else dict(a, area=float(areas[i]))
                                       for i, a in enumerate(records)])
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
        name = ann.images[iid][0]
        if not (image_dir / name).is_file():
            raise FileNotFoundError(f"{source}: image {name!r} (image id {iid}, record {rid}) not found in "
                                    f"{image_dir}")


def load_detections(det_file, gt: Annotations, score_thr: float = 0.0, image_dir=None) -> Annotations:
    """Person boxes of a COCO results file (``image_id``, ``bbox``, ``score``, ``category_id``).

    Boxes of other categories, under ``score_thr`` or empty once clipped are skipped and counted.
    Returns Annotations on ``gt``'s images (ann_ids -1, keypoints zero, areas = box areas).
    """
    path = Path(det_file)
    dets = read_json(path)
    if not isinstance(dets, list):
        raise ValueError(f"{path}: a detection file is a JSON list of {{image_id, bbox, score}} records")
    skipped, keep = Counter(), []
    for i, d in enumerate(dets):
        require_fields(d, ("image_id", "bbox", "score"), f"{path}: record [{i}]")
        if not isinstance(d["bbox"], list) or len(d["bbox"]) != 4:
            raise ValueError(f"{path}: record [{i}] has a bbox of {d['bbox']!r}, expected [x, y, w, h]")
        if d["image_id"] not in gt.images:
            raise ValueError(f"{path}: record [{i}] refers to image id {d['image_id']}, not in {gt.ann_file}")

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
    out = Annotations(path, gt.spec, gt.images,
                      image_ids=np.array([keep[j]["image_id"] for j in idx], dtype=np.int64),
                      ann_ids=np.full(len(idx), -1, dtype=np.int64), boxes=boxes[idx],
                      keypoints=np.zeros((len(idx), k, 3)), areas=boxes[idx, 2] * boxes[idx, 3],
                      scores=np.array([keep[j]["score"] for j in idx], dtype=np.float64), skipped=dict(skipped),
                      category_id=gt.category_id)
    if image_dir is not None:
        _check_images(out, Path(image_dir), path, [f"[{j}]" for j in idx])
    return out
