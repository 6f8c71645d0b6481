"""Training crops rendered once, augmented in whole batches with torch: the fast CPU data path.

:class:`TopDownDataset` decodes a PNG and warps it for every sample (~360 crops/s per process on this
project's CPU), which on a 2-core machine takes a core away from the model. :class:`CropCache` reads each
image once when it is built, keeps one larger crop per person (the padded box times ``context``, so that
any augmented crop lies inside it) as uint8 in memory, and serves a batch with one ``affine_grid`` /
``grid_sample`` call: random scale, rotation and flip for the whole batch at once.

The random draws are the same as :class:`TopDownDataset`'s (``transforms.random_crop`` with a generator of
``(seed, epoch, index)``), and keypoints are mapped with the exact image -> input affine, so targets are
identical; only the pixels differ, by a second bilinear resampling (the cache holds ``density`` cache
pixels per input pixel so that zooming in stays sharp).

Used through the DataLoader like any data set: ``__getitems__`` returns a collated batch and
:func:`collate_batch` passes it through (``loader(collate_fn=dataset.collate_fn)``).
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .transforms import (AugmentConfig, affine_points, box_to_centre_scale, get_affine, invert_affine,
                         random_crop, warp_image)
from ..codecs import size_pair
from .coco import load_annotations
from .topdown import IMAGENET_MEAN, IMAGENET_STD, check_codec_size, read_rgb

__all__ = ["CropCache", "collate_batch", "context_for"]


def collate_batch(batch):
    """The DataLoader's ``collate_fn`` for :class:`CropCache`: its batches come collated already."""
    return batch


def context_for(augment: AugmentConfig) -> float:
    """How much larger than the padded box the cached crop must be for every augmented crop to fit:
    the largest scale times the rotated square's extent, ``(1 + s) (|cos r| + |sin r|)`` (r <= 45 deg)."""
    r = math.radians(min(abs(augment.rotation_factor), 45.0))
    return (1.0 + augment.scale_factor) * (math.cos(r) + math.sin(r))


class CropCache(torch.utils.data.Dataset):
    """Augmented training crops with codec targets, from crops rendered once into memory.

    Args:
        ann_file, image_dir: a COCO-format keypoint file and its images (as :class:`TopDownDataset`).
        input_size: (W, H) of the network input.
        codec: ``encode(keypoints (N, K, 2), visible (N, K))`` -> NamedTuple ending in ``weights``.
        augment: scale / rotation / flip (``half_body_prob`` must be 0: a half-body box leaves the cache).
        seed: the augmentation seed (draws depend on ``(seed, epoch, index)`` only).
        spec: SkeletonSpec, name or None (from the file).
        padding: box growth factor (1.25, as :class:`TopDownDataset`).
        density: cache pixels per input pixel of the un-augmented crop (1.5: zooming in by the largest
            scale factor still samples the cache at <= 1 cache px per input px).
        device: where the crops live and the augmentation runs ("cuda": batches come out on the GPU, so
            the loader must run in the main process, ``in_process``; targets are encoded on the CPU).

    Memory: ``people x 3 x (H c d) x (W c d)`` bytes with ``c`` = :func:`context_for`: ~100 MB for 1,500
    people at 64x64 with the quick recipe. Items (``__getitem__``) are single-sample batches.
    """

    def __init__(self, ann_file, image_dir, input_size, codec, augment: AugmentConfig = AugmentConfig(),
                 seed: int = 0, spec=None, padding: float = 1.25, density: float = 1.5, device="cpu"):
        w, h = size_pair(input_size, "input_size")
        check_codec_size(codec, (w, h))
        if augment.half_body_prob > 0:
            raise ValueError("CropCache cannot do half-body crops (they leave the cached context); "
                             "use TopDownDataset or half_body_prob=0")
        if density <= 0:
            raise ValueError(f"density must be > 0, got {density!r}")
        self.input_size, self.codec, self.augment = (w, h), codec, augment
        self.seed, self.epoch = int(seed), 0
        self.gt = load_annotations(ann_file, spec, image_dir=image_dir)
        self.spec = self.gt.spec
        self._flip_index = np.asarray(self.spec.flip_index)
        r = self.gt
        self.centre, self.scale = box_to_centre_scale(r.boxes, w / h, padding)  # (N, 2) image px
        ctx = context_for(augment)
        self.cache_size = (max(w, round(w * ctx * density)), max(h, round(h * ctx * density)))
        cw, ch = self.cache_size
        # cache crop of person i: the padded box scaled so that cache_size / (scale * ctx) px per image px
        self._m_cache = get_affine(self.centre, self.scale * ctx, 0.0, self.cache_size)  # (N, 2, 3)
        self.crops = torch.empty((len(r), 3, ch, cw), dtype=torch.uint8)
        by_image = defaultdict(list)
        for i, image_id in enumerate(r.image_ids):
            by_image[int(image_id)].append(i)
        image_dir = Path(image_dir)
        for image_id, people in by_image.items():
            image = read_rgb(image_dir / r.images[image_id][0], image_id, r.images[image_id][1:])
            for i in people:
                crop = warp_image(image, self._m_cache[i], self.cache_size)
                self.crops[i] = torch.from_numpy(crop).permute(2, 0, 1)
        self.device = torch.device(device)
        self.in_process = self.device.type != "cpu"  # CUDA tensors must not be made in loader workers
        self.crops = self.crops.to(self.device)
        self.keypoints = r.keypoints[:, :, :2].astype(np.float64)  # (N, K, 2) image px
        self.visible = r.keypoints[:, :, 2].astype(np.float32)
        self._mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1) * 255.0
        self._std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1) * 255.0

    collate_fn = staticmethod(collate_batch)

    def __len__(self) -> int:
        return len(self.crops)

    def set_epoch(self, epoch: int) -> None:
        """Change the random draws of every item (call before each epoch)."""
        self.epoch = int(epoch)

    def _draws(self, indices: np.ndarray):
        """(scale (B, 2), rotation (B,), flip (B,)) from one generator per ``(seed, epoch, index)``."""
        scale = np.empty((len(indices), 2))
        rotation, flip = np.zeros(len(indices)), np.zeros(len(indices), bool)
        for b, i in enumerate(indices):
            rng = np.random.default_rng([self.seed, self.epoch, int(i)])  # as TopDownDataset's, item for item
            _, scale[b], rotation[b], flip[b] = random_crop(self.centre[i], self.scale[i], self.keypoints[i],
                                                            self.visible[i], self.augment, rng)
        return scale, rotation, flip

    def __getitems__(self, indices) -> dict:
        """A batch: ``image`` (B, 3, H, W) float32 normalised, ``targets`` (tuple of (B, ...) float32),
        ``weights`` (B, K), ``meta`` (``index`` (B,), ``kpts_input`` (B, K, 2), ``visible`` (B, K))."""
        idx = np.asarray(indices, dtype=np.int64)
        scale, rotation, flip = self._draws(idx)
        m = get_affine(self.centre[idx], scale, rotation, self.input_size, flip=flip)  # image -> input
        kpts = affine_points(self.keypoints[idx], m)
        vis = self.visible[idx].copy()
        if flip.any():  # the mirrored left arm is now a right arm
            kpts[flip], vis[flip] = kpts[flip][:, self._flip_index], vis[flip][:, self._flip_index]
        images = self._warp(idx, m)
        encoded = self.codec.encode(kpts.astype(np.float32), vis)
        targets = tuple(torch.as_tensor(np.asarray(t), dtype=torch.float32) for t in encoded.targets)
        weights = torch.as_tensor(np.asarray(encoded.weights), dtype=torch.float32)
        meta = dict(index=torch.from_numpy(idx), kpts_input=torch.from_numpy(kpts), visible=torch.from_numpy(vis))
        return dict(image=images, targets=targets, weights=weights, meta=meta)

    def __getitem__(self, index: int) -> dict:
        """One sample as a batch of one (leading dimension 1)."""
        return self.__getitems__([int(index)])

    def _warp(self, idx: np.ndarray, m: np.ndarray) -> torch.Tensor:
        """Resample the cached crops ``idx`` with the image -> input matrices ``m`` (B, 2, 3)."""
        w, h = self.input_size
        cw, ch = self.cache_size
        # input px -> cache px: m_cache o m^-1 (both image-referenced affines)
        inv, cache = invert_affine(m), self._m_cache[idx]
        in_to_cache = np.concatenate([cache[:, :, :2] @ inv[:, :, :2],
                                      (cache[:, :, :2] @ inv[:, :, 2:]) + cache[:, :, 2:]], axis=-1)
        # grid_sample's normalised coordinates (align_corners=False): x_n = (2 x + 1) / W - 1, so
        # x = (x_n + 1) W / 2 - 1/2 on the output side
        to_norm = np.array([[2.0 / cw, 0, 1.0 / cw - 1], [0, 2.0 / ch, 1.0 / ch - 1]])
        from_norm = np.array([[w / 2.0, 0, (w - 1) / 2.0], [0, h / 2.0, (h - 1) / 2.0], [0, 0, 1]])
        theta = to_norm[:, :2] @ in_to_cache @ from_norm
        theta[:, :, 2] += to_norm[:, 2]
        theta = torch.from_numpy(theta).float().to(self.device)
        grid = F.affine_grid(theta, [len(idx), 3, h, w], align_corners=False)
        crops = self.crops[torch.from_numpy(idx).to(self.device)].float()
        # zeros outside the cache: black, as warp_image fills outside the image
        out = F.grid_sample(crops, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        return (out - self._mean) / self._std
