"""Baselines a trained model must beat: a network that learned nothing about the image scores about this.

``mean_pose_baseline`` predicts, in every validation box, the training set's mean pose in box-normalised
coordinates: ``(keypoint - box centre) / box scale`` averaged over the labelled keypoints of all training
people, then mapped back with each validation box's centre and scale. It uses the boxes (as the
top-down models do) and nothing else.
"""
from __future__ import annotations

import numpy as np

from ..data.coco import load_annotations
from .cocoeval import evaluate_topdown, pixel_errors
from ..data.transforms import box_to_centre_scale

__all__ = ["mean_normalised_pose", "mean_pose_baseline"]


def mean_normalised_pose(ann, aspect: float = 1.0, padding: float = 1.25) -> np.ndarray:
    """(K, 2) mean of ``(keypoint - centre) / scale`` over labelled keypoints (0 where none labelled).

    Args:
        ann: :class:`simcc_lab.data.coco.Annotations` (ground truth).
        aspect, padding: how boxes become (centre, scale), as in the data pipeline (W/H of the input).
    """
    centre, scale = box_to_centre_scale(ann.boxes, aspect, padding)
    norm = (ann.keypoints[..., :2] - centre[:, None]) / scale[:, None]   # (M, K, 2)
    labelled = ann.keypoints[..., 2] > 0                                  # (M, K)
    count = labelled.sum(0)[:, None]
    return np.where(count > 0, (norm * labelled[..., None]).sum(0) / np.maximum(count, 1), 0.0)


def mean_pose_baseline(train_ann, val_ann, input_size=(64, 64), padding: float = 1.25) -> dict[str, float]:
    """COCO AP (and mean image-pixel error) of placing the mean training pose in each validation box.

    Args:
        train_ann, val_ann: COCO keypoint files (ground-truth boxes of ``val_ann`` are used).
        input_size: (W, H) of the models being compared (sets the box aspect ratio).
    Returns:
        evaluate_coco's AP/AR dict plus ``pixel_error_image``.
    """
    aspect = input_size[0] / input_size[1]
    train = load_annotations(train_ann)
    val = load_annotations(val_ann, spec=train.spec)
    mean = mean_normalised_pose(train, aspect, padding)
    centre, scale = box_to_centre_scale(val.boxes, aspect, padding)
    pred = centre[:, None] + mean[None] * scale[:, None]                  # (N, K, 2) image pixels
    scores = np.ones(pred.shape[:2])
    metrics = evaluate_topdown(val_ann, val.image_ids, pred, scores, val.scores, sigmas=val.spec.sigmas)
    metrics["pixel_error_image"] = pixel_errors(pred, val.keypoints[..., :2], val.keypoints[..., 2])["mean"]
    return metrics
