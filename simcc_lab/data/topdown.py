"""Top-down person crops: :class:`TopDownDataset`, one person crop per item with its codec targets, from any
COCO-format keypoint file (loaded and validated by :mod:`simcc_lab.data.coco`).
"""
from __future__ import annotations

import math
from numbers import Real
from pathlib import Path

import numpy as np
import torch

from ..codecs import size_pair
from .coco import load_annotations, load_detections
from .images import read_rgb
from .transforms import (NO_AUGMENT, AugmentConfig, affine_points, box_to_centre_scale, get_affine,
                         lower_body_mask, random_crop, warp_image)

__all__ = ["TopDownDataset", "denormalize", "check_codec_size", "read_rgb", "IMAGENET_MEAN", "IMAGENET_STD"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def denormalize(image) -> np.ndarray:
    """(3, H, W) ImageNet-normalised float tensor/array -> (H, W, 3) uint8, for display."""
    img = np.asarray(image, dtype=np.float32).transpose(1, 2, 0)
    img = img * np.array(IMAGENET_STD, np.float32) + np.array(IMAGENET_MEAN, np.float32)
    return (img.clip(0, 1) * 255).round().astype(np.uint8)


def check_codec_size(codec, input_size: tuple[int, int]) -> None:
    """Raise a ValueError when ``codec`` (None allowed) encodes for another input (W, H) than the crops'."""
    codec_size = getattr(codec, "input_size", None)
    if codec is not None and codec_size is not None and tuple(codec_size) != tuple(input_size):
        raise ValueError(f"codec input_size {tuple(codec_size)} differs from the dataset's input_size "
                         f"{tuple(input_size)}: its targets would not match the crops")


class TopDownDataset(torch.utils.data.Dataset):
    """One person crop per item, with codec targets.

    Args:
        ann_file: COCO-format keypoint JSON; image_dir: folder of its images.
        input_size: (W, H) of the crop (e.g. (192, 256) for the paper's 256x192).
        codec: any object with ``encode(keypoints (N,K,2), visible (N,K))`` returning targets with
            ``.targets`` (a tuple in the order of the model's outputs) and ``.weights`` (SimCCCodec,
            HeatmapCodec; :class:`~simcc_lab.codecs.base.Codec`); None: no targets (``targets == ()``,
            weights = labelled), for looking at crops.
        spec: SkeletonSpec, spec name, or None (from the file's category).
        train: apply ``augment`` (random draws from ``(seed, epoch, index)``).
        bbox_file: COCO results file of person detections to crop instead of the ground-truth boxes
            (evaluation only), kept when ``score >= det_score_thr``.
        padding: box growth factor (1.25).

    Items are dicts: ``image`` float32 (3, H, W) ImageNet-normalised; ``targets`` tuple of float32 tensors
    (SimCC: x (K, Nx), y (K, Ny); heatmap: (K, h, w)); ``weights`` float32 (K,); ``meta`` dict:
    ``image_id``, ``ann_id`` (-1 for detections), ``index``, ``centre`` (2,), ``scale`` (2,) image px,
    ``rotation`` deg, ``flip`` bool, ``score`` (box score), ``area``, ``kpts_input`` (K, 2) input px,
    ``visible`` (K,) COCO v (slots swapped with the image when flipped).
    """

    def __init__(self, ann_file, image_dir, input_size, codec, spec=None, train: bool = False,
                 augment: AugmentConfig = AugmentConfig(), bbox_file=None, seed: int = 0,
                 det_score_thr: float = 0.0, padding: float = 1.25):
        w, h = size_pair(input_size, "input_size")
        check_codec_size(codec, (w, h))
        if isinstance(padding, bool) or not isinstance(padding, Real) or not math.isfinite(padding) or padding <= 0:
            raise ValueError(f"padding must be a positive number (box growth factor, e.g. 1.25), got {padding!r}")
        if train and bbox_file is not None:
            raise ValueError("bbox_file (detection boxes) is for evaluation; use train=False")
        self.input_size, self.codec, self.train = (w, h), codec, bool(train)
        self.augment = augment if train else NO_AUGMENT
        self.seed, self.epoch, self.padding = int(seed), 0, float(padding)
        self.image_dir = Path(image_dir)
        self.gt = load_annotations(ann_file, spec, image_dir=None if bbox_file else self.image_dir)
        self.records = self.gt if bbox_file is None else load_detections(bbox_file, self.gt, det_score_thr,
                                                                         image_dir=self.image_dir)
        self.spec = self.gt.spec
        self.skipped = dict(self.records.skipped)
        self._flip_index = self.spec.flip_index
        self._lower = lower_body_mask(self.spec.keypoint_names)
        self._aspect = w / h

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        """Change the random draws of every item (call before each epoch; with persistent workers the
        workers' copies would not see it, so use ``persistent_workers=False``)."""
        self.epoch = int(epoch)

    def crop_params(self, index: int, rng: np.random.Generator | None = None):
        """(centre (2,), scale (2,), rotation deg, flip) of item ``index`` (augmented when training)."""
        r = self.records
        centre, scale = box_to_centre_scale(r.boxes[index], self._aspect, self.padding)
        rotation, flip = 0.0, False
        if not self.train:
            return centre, scale, rotation, flip
        rng = rng if rng is not None else self._rng(index)
        return random_crop(centre, scale, r.keypoints[index, :, :2], r.keypoints[index, :, 2], self.augment, rng,
                           self._lower, self._aspect)

    def _rng(self, index: int) -> np.random.Generator:
        # One generator per (seed, epoch, item): independent of worker count and iteration order.
        return np.random.default_rng([self.seed, self.epoch, int(index)])

    def image_path(self, index: int) -> Path:
        return self.image_dir / self.records.images[int(self.records.image_ids[index])][0]

    def __getitem__(self, index: int) -> dict:
        r = self.records
        centre, scale, rotation, flip = self.crop_params(index)
        m = get_affine(centre, scale, rotation, self.input_size, flip=flip)
        image = read_rgb(self.image_path(index), r.image_ids[index], r.images[int(r.image_ids[index])][1:])
        crop = warp_image(image, m, self.input_size)
        kpts_input = affine_points(r.keypoints[index, :, :2], m)
        visible = r.keypoints[index, :, 2].copy()
        if flip:  # the mirrored left arm is now a right arm
            kpts_input, visible = kpts_input[self._flip_index], visible[self._flip_index]
        if self.codec is None:
            targets, weights = (), (visible > 0).astype(np.float32)
        else:
            encoded = self.codec.encode(kpts_input[None].astype(np.float32), visible[None].astype(np.float32))
            targets = tuple(torch.as_tensor(np.asarray(t)[0], dtype=torch.float32) for t in encoded.targets)
            weights = np.asarray(encoded.weights)[0]
        img = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).float().div_(255.0)
        img = (img - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None, None]
        meta = dict(image_id=int(r.image_ids[index]), ann_id=int(r.ann_ids[index]), index=int(index),
                    centre=centre, scale=scale, rotation=float(rotation), flip=bool(flip),
                    score=float(r.scores[index]), area=float(r.areas[index]),
                    kpts_input=kpts_input, visible=visible)
        return dict(image=img, targets=targets, weights=torch.as_tensor(weights, dtype=torch.float32), meta=meta)
