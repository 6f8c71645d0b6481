"""The validation layer of annotation, detection and result files: checks run on a parsed file before any work.

Every error is a :class:`~simcc_lab.files.UserError` (a ValueError) that names the file, the record (its index
and id) and the field. What is checked here, beyond the structure checks of :mod:`simcc_lab.data.coco`:

* reading: a missing, empty, unreadable, non-UTF-8 (an image given as a JSON file?) or absurdly nested file;
* ids: annotation and image ids are integers (no bool, string, null, float or number beyond int64) and unique:
  pycocotools indexes records by id, so a repeated id silently drops or mixes people;
* numbers: booleans are refused where numbers are expected (``true`` is not a coordinate), as are values of
  the wrong shape (``score: [0.9]``);
* images: ``file_name`` is a relative path inside the image folder (no absolute path, no ``..``);
* categories: only the keypoint category's annotations are read; others (and category ids missing from
  ``categories``) are skipped with a counted warning;
* flags: ``iscrowd`` is 0 or 1; ``num_keypoints`` that disagrees with the visibility flags (COCOeval ignores
  people whose ``num_keypoints`` is 0) is recomputed, with a counted warning;
* results: records carry COCO's keypoint fields; extra ones that change what pycocotools computes
  (``bbox`` becomes the area of APm/APl, ``segmentation`` or ``caption`` switch it to another task) are
  stripped with a counted warning.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from numbers import Real
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from ..files import UserError

__all__ = ["read_json", "require_fields", "numeric_field", "integral_ids", "check_file_name", "select_category",
           "check_flags", "strip_result_fields", "RESULT_FIELDS", "OTHER_TASK_FIELDS", "INT64_MAX"]

log = logging.getLogger("simcc_lab.data.coco")  # one logger for the files' notices
INT64_MAX = 2 ** 63 - 1
RESULT_FIELDS = ("image_id", "category_id", "keypoints", "score")
OTHER_TASK_FIELDS = ("bbox", "segmentation", "caption")  # pycocotools' loadRes picks its task from these
_REPORTED: set = set()


def warn_once(path, message: str) -> None:
    """Log ``path: message`` as a warning, once per process for a file (always for ``<dict>`` sources)."""
    if str(path).startswith("<") or (str(path), message) not in _REPORTED:
        _REPORTED.add((str(path), message))
        log.warning("%s: %s", path, message)


def read_json(path, what: str = "annotation file") -> object:
    """The parsed JSON of ``path``; a FileNotFoundError / UserError naming the file and what is wrong."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder; name the JSON file in it")
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} not found")
    try:
        raw = path.read_bytes()
    except PermissionError:
        raise UserError(f"{what} {path} cannot be read (permission denied); check its permissions") from None
    if not raw.strip():
        raise UserError(f"{what} {path} is empty ({len(raw)} bytes); it should hold COCO-format JSON")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        kind = "an image" if raw[:3] == b"\xff\xd8\xff" or raw[:4] == b"\x89PNG" else "a binary file"
        raise UserError(f"{what} {path} is not JSON text (it looks like {kind}); name the COCO-format .json "
                        "file") from None
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: not valid JSON ({err}); the file may be truncated") from None
    except RecursionError:
        raise UserError(f"{path}: JSON nested too deeply to be a COCO file") from None


def require_fields(record, fields, label: str) -> None:
    """A UserError ``{label} is a list, not a record`` or ``{label} lacks [missing fields]``."""
    if not isinstance(record, dict):
        raise UserError(f"{label} is a {type(record).__name__}, not a record")
    missing = [key for key in fields if key not in record]
    if missing:
        raise UserError(f"{label} lacks {missing}")


def _has_bool(values, width) -> bool:
    # numpy turns True into 1 inside a list of numbers; the types tell (C-speed map over each record)
    if width is None:
        return bool in set(map(type, values))
    return any(bool in set(map(type, v)) for v in values)


def numeric_field(records: list, field: str, where, width: int | None = None, describe=None) -> np.ndarray:
    """``records[i][field]`` as float64 (N, width) (lists of ``width`` numbers) or (N,) (``width=None``,
    scalars), checked: a non-numeric value (a string such as ``"12"``, None, a bool, a list where a number is
    expected) or a non-finite one (NaN, inf) is a UserError that names ``where(i)``, the field and the position
    (``describe(j)``). Lengths must have been checked. Vectorised; the records are walked only to name a
    culprit."""
    values = [r[field] for r in records]
    shape = (len(values),) if width is None else (len(values), width)
    if not values:
        return np.zeros(shape)
    try:
        arr = np.asarray(values)
        ok = arr.dtype.kind in "iuf" and arr.shape == shape and not _has_bool(values, width)
    except (TypeError, ValueError):  # ragged or mixed
        ok = False
    if not ok:
        for i, v in enumerate(values):
            for j, x in enumerate([v] if width is None else v):
                if isinstance(x, bool) or not isinstance(x, Real):
                    at = "" if width is None else f" at {describe(j) if describe else f'position {j}'}"
                    raise UserError(f"{where(i)}: {field!r} has a non-numeric value {x!r}{at}")
        arr = np.asarray(values)
    arr = arr.astype(np.float64).reshape(shape)
    finite = np.isfinite(arr).reshape(len(values), -1)
    if not finite.all():
        i, j = (int(v) for v in np.argwhere(~finite)[0])
        at = "" if width is None else f" at {describe(j) if describe else f'position {j}'}"
        raise UserError(f"{where(i)}: {field!r} has a non-finite value {arr.reshape(len(values), -1)[i, j]}{at}")
    return arr


def integral_ids(records: list, field: str, where, unique: bool = False) -> np.ndarray:
    """``records[i][field]`` as int64 (N,): integers only (no bool, string, null, float, nor beyond int64),
    distinct when ``unique``; a UserError names the record (``where(i)``) and the field."""
    values = [r[field] for r in records]
    if not set(map(type, values)) <= {int}:
        i = next(i for i, v in enumerate(values) if type(v) is not int)
        raise UserError(f"{where(i)}: {field!r} must be an integer, got {values[i]!r}")
    if values and (max(values) > INT64_MAX or min(values) < -INT64_MAX):
        i = next(i for i, v in enumerate(values) if abs(v) > INT64_MAX)
        raise UserError(f"{where(i)}: {field!r} {values[i]} is beyond the 64-bit integers ids must fit")
    if unique and len(set(values)) != len(values):
        first = {}
        for i, v in enumerate(values):
            if v in first:
                raise UserError(f"{where(i)}: {field!r} {v} repeats that of record [{first[v]}]; ids must be "
                                "unique (pycocotools keeps one record per id)")
            first[v] = i
    return np.asarray(values, dtype=np.int64)


def check_file_name(name, where) -> None:
    """``file_name`` must be a relative path inside the image folder (no absolute path, drive or ``..``)."""
    if not isinstance(name, str) or not name.strip():
        raise UserError(f"{where}: 'file_name' must be a file name (text), got {name!r}")
    for pure in (PurePosixPath(name), PureWindowsPath(name)):
        if pure.is_absolute() or pure.drive or pure.root or ".." in pure.parts:
            raise UserError(f"{where}: 'file_name' {name!r} must be a path relative to the image folder, "
                            "inside it")


def select_category(data: dict, records: list, category_id, path) -> tuple[list, list]:
    """(records, their indices in the file) of the keypoint category ``category_id`` (a record without
    ``category_id`` is taken as one); records of another category, or of a category id missing from
    ``categories``, are skipped with one counted warning. Files without ``categories`` keep every record."""
    cats = [c for c in data.get("categories") or [] if isinstance(c, dict)]
    if not cats:
        return records, list(range(len(records)))
    names = {c.get("id"): c.get("name") for c in cats if isinstance(c.get("id"), int)}
    keep, index, skipped, example = [], [], Counter(), {}
    for i, a in enumerate(records):
        cid = a.get("category_id", category_id) if isinstance(a, dict) else category_id
        if type(cid) is int and cid == category_id:
            keep.append(a)
            index.append(i)
            continue
        reason = f"category {cid} ({names[cid]!r})" if type(cid) is int and cid in names \
            else f"category id {cid!r} absent from 'categories'"
        skipped[reason] += 1
        example.setdefault(reason, f"annotations[{i}] (id {a.get('id') if isinstance(a, dict) else None})")
    if skipped:
        text = ", ".join(f"{n} of {r} (e.g. {example[r]})" for r, n in sorted(skipped.items()))
        warn_once(path, f"skipped {sum(skipped.values())} of {len(records)} annotations: {text}; only the "
                        f"keypoint category {category_id} ({names.get(category_id)!r}) is read")
    return keep, index


def check_flags(records: list, visible: np.ndarray, where, path, label) -> list:
    """``iscrowd`` must be 0 or 1 (missing: 0); ``num_keypoints`` that disagrees with the labelled flags
    (``visible`` (N, K) v) is recomputed with one counted warning naming ``label(i)`` of an example. Returns
    the records (copies where changed)."""
    for i, a in enumerate(records):
        crowd = a.get("iscrowd", 0)
        if type(crowd) is not int or crowd not in (0, 1):
            raise UserError(f"{where(i)}: 'iscrowd' must be 0 or 1, got {crowd!r}")
    counts = (visible > 0).sum(-1)
    wrong = [i for i, a in enumerate(records)
             if "num_keypoints" in a and not (type(a["num_keypoints"]) is int and a["num_keypoints"] == counts[i])]
    if not wrong:
        return records
    i = wrong[0]
    warn_once(path, f"{len(wrong)} of {len(records)} annotations have a 'num_keypoints' that disagrees with their "
                    f"visibility flags (e.g. {label(i)}: {records[i]['num_keypoints']!r}, "
                    f"flags say {int(counts[i])}): recomputed from the flags (COCOeval ignores people with 0)")
    out = list(records)
    for i in wrong:
        out[i] = dict(records[i], num_keypoints=int(counts[i]))
    return out


def strip_result_fields(results: list, name) -> list:
    """Results without the fields that change what pycocotools computes from keypoint results (``bbox`` would
    be the area behind APm/APl; ``segmentation`` / ``caption`` switch it to another task), stripped with one
    counted warning. Other extra fields (MMPose's ``center`` / ``scale``, ``id``, ``area``) change nothing:
    pycocotools ignores or overwrites them."""
    extra = Counter(k for r in results for k in r if k in OTHER_TASK_FIELDS)
    if not extra:
        return results
    text = ", ".join(f"{k!r} ({n})" for k, n in sorted(extra.items()))
    warn_once(name, f"results carry fields a keypoint result does not have: {text}; stripped (pycocotools would "
                    "take the area of APm/APl from 'bbox', or evaluate another task for 'segmentation' / 'caption')")
    return [{k: v for k, v in r.items() if k not in OTHER_TASK_FIELDS} if any(k in OTHER_TASK_FIELDS for k in r)
            else r for r in results]
