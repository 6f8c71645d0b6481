"""Keypoint evaluation: COCO results files, pycocotools COCOeval (OKS AP/AR), OKS-NMS, PCK, pixel errors.

Top-down rescoring (the HRNet / SimCC / MMPose rule, used by :func:`to_coco_results`): a person's score
is ``box_score * mean(keypoint scores > thr)`` with ``thr = 0.2``. It ranks confident, complete poses
above poses whose detector box was sure but whose keypoints are not. One deliberate change: when *no*
keypoint passes, the official code scores the person 0; here the mean of all its keypoint scores is used.
SimCC's scores are softmax maxima over many bins (a Gaussian target with sigma = 4 bins peaks at
about 0.1), so a well-trained SimCC model can have every keypoint under 0.2, and a score of 0 for
everyone would throw the ranking away.

OKS (COCO): ``exp(-d^2 / (2 s^2 kappa^2))`` per labelled keypoint, averaged, with ``s^2`` = the
person's area and ``kappa = 2 sigma`` (the data set's per-keypoint sigmas); written once, in
:mod:`simcc_lab.evaluation.oks`.

The codec oracle (``simcc-lab oracle``) lives in :mod:`simcc_lab.evaluation.oracle`.
"""
from __future__ import annotations

import contextlib
import logging
import copy
import io as _io
from pathlib import Path

import numpy as np

from ..data.coco import check_ground_truth, numeric_field, read_json, require_fields
from ..data.validate import integral_ids, strip_result_fields
from ..files import UserError
from ..data.transforms import inverse_keypoints
from ..files import write_json
from ..keypoints import COCO17, SkeletonSpec, known_spec, spec_from_coco_category
from .oks import oks_matrix

__all__ = ["evaluate_coco", "to_coco_results", "rescore", "oks_matrix", "oks_nms", "evaluate_topdown",
           "keypoints_to_image", "pck", "pixel_errors", "check_results", "METRIC_NAMES"]

log = logging.getLogger(__name__)
# COCOeval.stats order for keypoints.
METRIC_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
RESCORE_THR = 0.2
MISS_PX = 1e9  # where evaluate_topdown moves non-finite predicted coordinates: OKS term exp(-1e18 / ...) = 0
OKS_NMS_THR = 0.9


def rescore(kpt_scores, box_scores, thr: float | None = RESCORE_THR) -> np.ndarray:
    """Instance scores (N,) = box score x mean of the keypoint scores (N, K) above ``thr``.

    A person with no keypoint above ``thr`` uses the mean of all its keypoint scores (see the module
    docstring); ``thr=None`` returns the box scores unchanged.
    """
    box = np.asarray(box_scores, dtype=np.float64).reshape(-1)
    if thr is None:
        return box
    s = np.asarray(kpt_scores, dtype=np.float64)
    above = s > thr
    mean = np.where(above.any(-1), (s * above).sum(-1) / np.maximum(above.sum(-1), 1), s.mean(-1))
    return box * mean


def to_coco_results(image_ids, kpts_img, kpt_scores, box_scores, category_id: int = 1,
                    rescore_thr: float | None = RESCORE_THR) -> list[dict]:
    """Predictions -> COCO keypoint results (one dict per person).

    Args:
        image_ids: (N,) ints; kpts_img: (N, K, 2) image pixels; kpt_scores: (N, K); box_scores: (N,).
        rescore_thr: see :func:`rescore` (None: the instance score is the box score).
    """
    kpts = np.asarray(kpts_img, dtype=np.float64)
    ks = np.asarray(kpt_scores, dtype=np.float64)
    n = kpts.shape[0]
    if ks.shape != kpts.shape[:2] or len(np.asarray(image_ids).reshape(-1)) != n:
        raise ValueError(f"shapes disagree: kpts {kpts.shape}, kpt_scores {ks.shape}, "
                         f"image_ids {np.shape(image_ids)}")
    scores = rescore(ks, box_scores, rescore_thr)
    flat = np.concatenate([kpts, ks[..., None]], axis=-1).reshape(n, -1)  # x1 y1 s1 x2 y2 s2 ...
    return [dict(image_id=int(i), category_id=int(category_id), keypoints=f.tolist(), score=float(s))
            for i, f, s in zip(np.asarray(image_ids).reshape(-1), flat, scores)]


def oks_nms(kpts, scores, areas, sigmas, thr: float = OKS_NMS_THR, image_ids=None) -> np.ndarray:
    """Greedy OKS non-maximum suppression (per image when ``image_ids`` is given).

    A person is dropped when its OKS with a higher-scoring kept person of the same image exceeds ``thr``.
    Returns the kept indices (N',) in descending score order within each image.
    """
    kpts = np.asarray(kpts, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    areas = np.asarray(areas, dtype=np.float64)
    groups = np.zeros(len(scores), dtype=np.int64) if image_ids is None else np.asarray(image_ids)
    keep = []
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        oks = oks_matrix(kpts[idx], areas[idx], sigmas)
        alive = np.ones(len(idx), dtype=bool)
        for i in range(len(idx)):  # greedy: the loop is over kept people, the OKS work is vectorised
            if alive[i]:
                keep.append(idx[i])
                alive[i + 1:] &= oks[i, i + 1:] <= thr
    return np.asarray(keep, dtype=np.int64)


def _load_gt(gt, sigmas=None):
    """A pycocotools COCO object from a path, a dict or a COCO object, validated as
    :func:`simcc_lab.data.coco.check_ground_truth` does (areas derived where missing), and its name.
    ``sigmas`` (K,), when given, stand in for a category's missing ones; a file without a keypoint category
    is read as COCO-17 (or as K unnamed keypoints with ``sigmas``)."""
    from pycocotools.coco import COCO

    if isinstance(gt, COCO):
        name, data = "<COCO object>", gt.dataset
    elif isinstance(gt, dict):
        name, data = "<dict>", gt
    else:
        name = str(gt)
        data = read_json(gt)
    data = copy.deepcopy(check_ground_truth(data, name, _spec_for(data, sigmas)).data)
    for a in data["annotations"]:
        # COCOeval reads both; COCO files always have them, hand-made files may not.
        a.setdefault("num_keypoints", int((np.asarray(a["keypoints"][2::3]) > 0).sum()))
        a.setdefault("iscrowd", 0)
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(_io.StringIO()):
        coco.createIndex()
    return coco, name


def _spec_for(data, sigmas):
    """The spec to check ``data`` with: None (from its category) unless ``sigmas`` must fill in."""
    if not isinstance(data, dict):
        return None
    cats = [c for c in data.get("categories") or [] if isinstance(c, dict) and c.get("keypoints")]
    if not cats:
        if sigmas is None or len(sigmas) == COCO17.num_keypoints:
            return COCO17
        n = len(sigmas)
        return SkeletonSpec("custom", tuple(f"kp{i}" for i in range(n)), (), (), tuple(float(v) for v in sigmas))
    if sigmas is not None and len(cats) == 1 and "sigmas" not in cats[0] and known_spec(cats[0]["keypoints"]) is None:
        with contextlib.suppress(ValueError):  # a skeleton that does not fit: the check names it
            return spec_from_coco_category(cats[0], sigmas=tuple(float(v) for v in sigmas))
    return None


def _as_misses(results: list, name: str) -> list:
    """Results with every non-finite predicted coordinate moved ``MISS_PX`` px away (its OKS term is then
    exactly 0: a miss) and non-finite keypoint or instance scores set to 0, with one warning counting them.
    Records are copied where changed. Non-numeric values are left for :func:`check_results` to name."""
    try:
        kp = np.asarray([r["keypoints"] for r in results])
        score = np.asarray([r["score"] for r in results])
    except (KeyError, TypeError, ValueError):  # ragged or missing: check_results names it
        return results
    if kp.dtype.kind != "f" or score.dtype.kind != "f" or kp.ndim != 2 or kp.shape[1] % 3:
        return results
    bad_kp, bad_score = ~np.isfinite(kp), ~np.isfinite(score)
    if not (bad_kp.any() or bad_score.any()):
        return results
    fill = np.where(np.arange(kp.shape[1]) % 3 == 2, 0.0, MISS_PX)
    fixed = np.where(bad_kp, fill, kp)
    score = np.where(bad_score, 0.0, score)
    rows = np.flatnonzero(bad_kp.any(-1) | bad_score)
    log.warning("%s: %d of %d results have non-finite values (%d keypoint values, %d scores; e.g. result [%d]): "
                "scored as misses (coordinates moved %g px away, scores 0)", name, len(rows), len(results),
                int(bad_kp.sum()), int(bad_score.sum()), rows[0], MISS_PX)
    out = list(results)
    for i in rows:
        out[i] = dict(results[i], keypoints=fixed[i].tolist(), score=float(score[i]))
    return out


def check_results(results, coco_gt, gt_name: str, name: str, num_keypoints: int | None = None,
                  nonfinite: str = "error") -> list:
    """Validate COCO keypoint results against the ground truth before COCOeval sees them.

    Args:
        results: the parsed results (a list of ``{image_id, category_id, keypoints, score}`` records).
        coco_gt: pycocotools COCO of the ground truth; gt_name / name: the two sources, for the errors.
        num_keypoints: K (default: the first record's).

    A ValueError names the results source, the record and the field for: records that are not dicts, a
    missing field, an image id or category id the ground truth does not have, a keypoint list that is not
    3 K long, a non-numeric or non-finite keypoint or score. (COCOeval would count a person with a NaN
    keypoint as *matched*: its OKS is NaN, and ``NaN < threshold`` is False.)

    ``nonfinite="miss"`` (network outputs, e.g. a diverging run: :func:`evaluate_topdown`) instead scores
    non-finite predictions as misses with a counted warning (:func:`_as_misses`). Returns the results
    (copied records where changed).
    """
    if nonfinite not in ("error", "miss"):
        raise ValueError(f"nonfinite must be 'error' or 'miss', got {nonfinite!r}")
    if not isinstance(results, list):
        raise UserError(f"{name}: results must be a JSON list of {{image_id, category_id, keypoints, score}} "
                         f"records, got a JSON {type(results).__name__}")
    k = num_keypoints
    for i, r in enumerate(results):
        require_fields(r, ("image_id", "category_id", "keypoints", "score"),
                       f"{name}: result [{i}]" + (f" (image_id {r.get('image_id')})" if isinstance(r, dict) else ""))
    results = strip_result_fields(results, name)
    integral_ids(results, "image_id", lambda i: f"{name}: result [{i}]")
    integral_ids(results, "category_id", lambda i: f"{name}: result [{i}] (image_id {results[i]['image_id']})")
    for i, r in enumerate(results):
        if k is None and isinstance(r["keypoints"], list):
            k = max(len(r["keypoints"]) // 3, 1)
        if not isinstance(r["keypoints"], list) or len(r["keypoints"]) != 3 * k:
            raise UserError(f"{name}: result [{i}] (image_id {r['image_id']}) has {r['keypoints']!r:.60} as "
                             f"'keypoints', expected 3 x {k or 'K'} numbers")
        if r["image_id"] not in coco_gt.imgs:
            raise UserError(f"{name}: result [{i}] refers to image id {r['image_id']!r}, which the ground truth "
                             f"{gt_name} does not have")
        if r["category_id"] not in coco_gt.cats:
            raise UserError(f"{name}: result [{i}] (image_id {r['image_id']}) has category_id "
                             f"{r['category_id']!r}; the ground truth {gt_name} has {sorted(coco_gt.cats)}")

    if not results:
        return results
    if nonfinite == "miss":
        results = _as_misses(results, name)

    def where(i):
        return f"{name}: result [{i}] (image_id {results[i]['image_id']})"

    numeric_field(results, "keypoints", where, 3 * k, lambda j: f"keypoint {j // 3} {'xys'[j % 3]}")
    numeric_field(results, "score", where)
    return results


def _default_sigmas(coco, name) -> np.ndarray:
    cats = [c for c in coco.dataset.get("categories", []) if c.get("keypoints")]
    if cats:
        try:
            return np.asarray(spec_from_coco_category(cats[0]).sigmas)
        except ValueError as err:
            raise UserError(f"{name}: {err}") from None
    return np.asarray(COCO17.sigmas)


def evaluate_coco(gt, results, sigmas=None, out_json=None, verbose: bool = False, nonfinite: str = "error") -> dict:
    """COCO keypoint AP/AR with pycocotools.

    Args:
        gt: ground-truth file path, dict or pycocotools COCO.
        results: list of result dicts (:func:`to_coco_results`) or a results JSON path.
        sigmas: (K,) OKS sigmas (default: from the ground truth's category, else COCO-17).
        out_json: when given, the results are written there (whole) first.
        verbose: let pycocotools print its summary.
        nonfinite: "error" (a ValueError naming the record) or "miss" (scored as misses, with a warning)
            for NaN/inf predicted keypoints or scores; see :func:`check_results`.

    Returns:
        {"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"} as floats (-1 where
        COCOeval has no ground truth in that area range), plus "num_results".
    """
    from pycocotools.cocoeval import COCOeval

    coco_gt, name = _load_gt(gt, sigmas)
    results_name = "<results list>"
    if isinstance(results, (str, Path)):
        results_name, results = str(results), read_json(results, "results file")
    own = _default_sigmas(coco_gt, name)
    sig = np.asarray(sigmas if sigmas is not None else own, dtype=np.float64)
    # K from the ground truth (or the sigmas), not from the first result: a short first record is its own error
    has_cat = any(c.get("keypoints") for c in coco_gt.dataset.get("categories", []))
    k = len(own) if has_cat else len(sig)
    if len(sig) != k:
        raise ValueError(f"{len(sig)} OKS sigmas for {k}-keypoint results")
    results = check_results(results, coco_gt, name, results_name, num_keypoints=k, nonfinite=nonfinite)
    if out_json is not None:
        write_json(out_json, results, indent=None)
    if not results:  # loadRes cannot take an empty list; nothing predicted scores zero
        return dict({m: 0.0 for m in METRIC_NAMES}, num_results=0)
    quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(_io.StringIO())
    with quiet:
        coco_dt = coco_gt.loadRes(copy.deepcopy(results))  # loadRes edits the dicts it gets
        ev = COCOeval(coco_gt, coco_dt, "keypoints")
        ev.params.kpt_oks_sigmas = sig
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return dict({m: float(v) for m, v in zip(METRIC_NAMES, ev.stats)}, num_results=len(results))


def keypoints_to_image(kpts_input, meta: dict, input_size) -> np.ndarray:
    """Decoded input-pixel keypoints (B, K, 2) -> image pixels, from a collated ``meta`` batch."""
    def arr(x):
        return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)

    return inverse_keypoints(arr(kpts_input), arr(meta["centre"]), arr(meta["scale"]), input_size,
                             rotation=arr(meta.get("rotation", 0.0)), flip=arr(meta.get("flip", False)))


def evaluate_topdown(gt, image_ids, kpts_img, kpt_scores, box_scores, areas=None, nms: bool = False,
                     sigmas=None, out_json=None, category_id: int = 1,
                     rescore_thr: float | None = RESCORE_THR, verbose: bool = False) -> dict:
    """Rescore, optionally OKS-NMS (detection boxes: ``nms=True``, ``areas`` = box areas), then COCOeval.
    Network outputs may diverge: NaN/inf keypoints or scores are scored as misses with a counted warning
    (``evaluate_coco(..., nonfinite="miss")``), and OKS-NMS sees such coordinates as far away.

    Shapes as in :func:`to_coco_results`; returns :func:`evaluate_coco`'s dict.
    """
    image_ids = np.asarray(image_ids).reshape(-1)
    kpts_img, kpt_scores = np.asarray(kpts_img), np.asarray(kpt_scores)
    if nms:
        if areas is None:
            raise ValueError("OKS-NMS needs the people's areas (detection box areas)")
        coco_gt, name = _load_gt(gt, sigmas)
        gt, sig = coco_gt, (sigmas if sigmas is not None else _default_sigmas(coco_gt, name))
        far = np.where(np.isfinite(kpts_img), kpts_img, MISS_PX)  # a NaN OKS would suppress everyone after it
        keep = oks_nms(far, rescore(kpt_scores, box_scores, rescore_thr), areas, sig, image_ids=image_ids)
        image_ids, kpts_img, kpt_scores = image_ids[keep], kpts_img[keep], kpt_scores[keep]
        box_scores = np.asarray(box_scores).reshape(-1)[keep]
    results = to_coco_results(image_ids, kpts_img, kpt_scores, box_scores, category_id, rescore_thr)
    return evaluate_coco(gt, results, sigmas=sigmas, out_json=out_json, verbose=verbose, nonfinite="miss")


def pixel_errors(pred, gt, visible) -> dict:
    """Euclidean errors of labelled keypoints, in the units of the coordinates given.

    Args:
        pred, gt: (N, K, 2); visible: (N, K) (> 0 counts).
    Returns:
        {"mean", "median", "rms", "count", "per_keypoint" (K,) mean (nan where none), "errors" (N, K)
        with nan for unlabelled keypoints}.
    """
    err = np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(gt, np.float64), axis=-1)
    lab = np.asarray(visible) > 0
    err = np.where(lab, err, np.nan)
    count = int(lab.sum())
    with np.errstate(invalid="ignore"):
        per = np.nansum(err, axis=0) / np.where(lab.sum(0) > 0, lab.sum(0), np.nan)
    if count == 0:
        return dict(mean=float("nan"), median=float("nan"), rms=float("nan"), count=0, per_keypoint=per,
                    errors=err)
    e = err[lab]
    return dict(mean=float(e.mean()), median=float(np.median(e)), rms=float(np.sqrt((e ** 2).mean())),
                count=count, per_keypoint=per, errors=err)


def pck(pred, gt, visible, boxes, alpha: float = 0.1) -> dict:
    """PCK@alpha: share of labelled keypoints within ``alpha * max(box w, box h)`` of the truth.

    Args:
        pred, gt: (N, K, 2) image pixels; visible: (N, K); boxes: (N, 4) ``[x, y, w, h]`` or (N,) sizes.
    Returns:
        {"pck": float, "per_keypoint": (K,) (nan where none labelled), "count": int}.
    """
    b = np.asarray(boxes, dtype=np.float64)
    size = b[:, 2:].max(-1) if b.ndim == 2 else b
    err = pixel_errors(pred, gt, visible)["errors"] / size[:, None]
    lab = ~np.isnan(err)
    hit = (err <= alpha) & lab
    with np.errstate(invalid="ignore"):
        per = hit.sum(0) / np.where(lab.sum(0) > 0, lab.sum(0), np.nan)
    return dict(pck=float(hit.sum() / max(lab.sum(), 1)) if lab.any() else float("nan"), per_keypoint=per,
                count=int(lab.sum()))

