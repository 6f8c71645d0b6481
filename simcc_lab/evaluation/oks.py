"""COCO's object keypoint similarity (OKS), written once.

One keypoint of a person of area ``s^2`` (px^2), off by ``d`` px, has the similarity
``exp(-d^2 / (2 s^2 kappa^2))`` with ``kappa = 2 sigma`` (the data set's per-keypoint sigma); a person's
OKS is the mean over its labelled keypoints. :func:`keypoint_similarity` is that formula; everything
else here (and OKS-NMS, the per-person OKS of a run, the lessons' OKS curves) calls it.
"""
from __future__ import annotations

import numpy as np

__all__ = ["OKS_THRESHOLDS", "keypoint_similarity", "keypoint_oks", "person_oks", "oks_matrix"]

OKS_THRESHOLDS = np.round(np.arange(0.5, 0.951, 0.05), 2)  # COCO's ten AP thresholds


def keypoint_similarity(d2, sigmas, s2) -> np.ndarray:
    """``exp(-d2 / (2 (2 sigma)^2 s2))`` per keypoint: ``d2`` squared errors (px^2), ``sigmas`` per
    keypoint, ``s2`` the person's area (px^2, with any guard against 0 already added); arrays broadcast."""
    var = (2.0 * np.asarray(sigmas, dtype=np.float64)) ** 2
    return np.exp(-(np.asarray(d2, dtype=np.float64) / (2.0 * var * s2)))


def keypoint_oks(error, sigma, area):
    """COCO's similarity of one keypoint: exp(-d^2 / (2 s^2 kappa^2)) with kappa = 2 sigma and s^2 = the
    person's area. ``error`` (d) and ``area`` must be in the same pixels (d in px, area in px^2);
    arrays broadcast."""
    error, area = (np.asarray(v, dtype=np.float64) for v in (error, area))
    return keypoint_similarity(error**2, sigma, area)


def person_oks(pred, true, area, sigmas) -> np.ndarray:
    """COCO object keypoint similarity per person: pred (N, K, 2), true (N, K, 3) with v, area (N,) px^2,
    sigmas (K,); mean of exp(-d^2 / (2 area (2 sigma)^2)) over labelled keypoints (nan when none)."""
    d2 = ((pred - true[..., :2]) ** 2).sum(-1)
    sim = keypoint_similarity(d2, sigmas, area[:, None] + np.spacing(1))
    lab = true[..., 2] > 0
    with np.errstate(invalid="ignore"):
        return np.where(lab, sim, 0.0).sum(1) / np.where(lab.any(1), lab.sum(1), np.nan)


def oks_matrix(kpts, areas, sigmas, kpts_b=None, areas_b=None) -> np.ndarray:
    """Pairwise OKS between people (all keypoints count; MMPose's ``oks_iou`` without a visibility cut).

    Args:
        kpts: (N, K, 2); areas: (N,); sigmas: (K,); kpts_b/areas_b: (M, K, 2)/(M,) (default: the same set).
    Returns:
        (N, M) OKS in [0, 1], with the mean area of each pair as ``s^2``.
    """
    a = np.asarray(kpts, dtype=np.float64)
    b = a if kpts_b is None else np.asarray(kpts_b, dtype=np.float64)
    area_a = np.asarray(areas, dtype=np.float64)
    area_b = area_a if areas_b is None else np.asarray(areas_b, dtype=np.float64)
    d2 = ((a[:, None] - b[None]) ** 2).sum(-1)  # (N, M, K)
    s2 = (area_a[:, None] + area_b[None]) / 2 + np.spacing(1)
    return keypoint_similarity(d2, sigmas, s2[..., None]).mean(-1)
