"""From a config to what a run trains and evaluates, in one place: data paths, data sets, model, loss, codec.

:func:`build_parts` fills in what a caller did not give (tests and notebooks inject small stand-ins);
every other module that needs a model or data set from a :class:`~.config.TrainConfig` goes through here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils.data import DataLoader

from ..data.coco import coco_paths
from ..data.crops import CropCache
from ..data.synthetic import ensure_dataset
from ..data.topdown import TopDownDataset
from ..models import build_model
from . import distributed as D
from .config import TrainConfig, build_augment, codec_for
from .losses import build_loss

__all__ = ["Parts", "build_parts", "data_paths", "build_datasets", "build_model_for", "synth_name", "make_loader", "place_model"]


@dataclass
class Parts:
    """What a run trains and evaluates. None where not built (yet): :func:`build_parts` fills them in."""

    model: torch.nn.Module | None = None
    train_set: Any = None
    val_set: Any = None
    loss_fn: Callable | None = None
    codec: Any = None


def synth_name(cfg: TrainConfig) -> str:
    """The SynthPose cache folder name of the config's data set (every generation parameter in it)."""
    w, h = cfg.synth_image_size
    variant = "-crowded" if cfg.crowded else "-clean" if cfg.synth_clean else ""
    return f"synthpose{variant}-{w}x{h}-n{cfg.synth_train_images}-v{cfg.synth_val_images}-s{cfg.data_seed}"


def data_paths(cfg: TrainConfig, info: D.DistInfo | None = None) -> dict[str, tuple[Path, Path]]:
    """``{"train": (annotation file, image folder), "val": (...)}`` of the config's data set; SynthPose is
    generated into its cache first when not there (by rank 0 with ``cfg.workers`` render processes, which
    give the same images as one; the other ranks wait)."""
    info = info or D.env_info()
    if cfg.dataset == "coco":
        root = cfg.coco_root or None
        return {s: coco_paths(root, s) for s in ("train", "val")}
    kwargs = dict(cache_dir=cfg.cache_dir or None, name=synth_name(cfg), num_train=cfg.synth_train_images,
                  num_val=cfg.synth_val_images, seed=cfg.data_seed, crowded=cfg.crowded, clean=cfg.synth_clean,
                  size=tuple(cfg.synth_image_size), progress=cfg.progress and info.is_main)
    # Rank 0 generates; the others wait and then only find the cached files (two writers would clash).
    paths = ensure_dataset(workers=cfg.workers, **kwargs) if info.is_main else None
    D.barrier()
    return paths if paths is not None else ensure_dataset(**kwargs)


def build_datasets(cfg: TrainConfig, codec, info: D.DistInfo | None = None, device="cpu"):
    """(train data set, val TopDownDataset) of the config's data set; the train set is a CropCache (crops
    kept and augmented on ``device``) when ``cfg.crop_cache``, else a TopDownDataset."""
    paths = data_paths(cfg, info)
    if cfg.crop_cache:
        train = CropCache(*paths["train"], cfg.input_size, codec, augment=build_augment(cfg), seed=cfg.seed,
                          device=device)
    else:
        train = TopDownDataset(*paths["train"], cfg.input_size, codec, train=True, augment=build_augment(cfg),
                               seed=cfg.seed)
    return train, build_val_set(cfg, codec, info, paths)


def build_val_set(cfg: TrainConfig, codec, info: D.DistInfo | None = None, paths=None) -> TopDownDataset:
    """The config's validation TopDownDataset (ground-truth boxes, or ``cfg.val_bbox_file``'s detections);
    ``paths``: :func:`data_paths`'s answer when the caller has it."""
    paths = paths or data_paths(cfg, info)
    return TopDownDataset(*paths["val"], cfg.input_size, codec, train=False, bbox_file=cfg.val_bbox_file or None)


def build_model_for(cfg: TrainConfig, codec, num_keypoints: int = 17) -> torch.nn.Module:
    """The PoseModel the config describes (both training data sets are COCO-17 by default)."""
    kwargs = dict(pretrained=cfg.pretrained)
    if cfg.deconvs is not None:
        kwargs["deconvs"] = cfg.deconvs
    return build_model(cfg.backbone, codec, num_keypoints, **kwargs)


def place_model(model: torch.nn.Module, cfg: TrainConfig, device: torch.device) -> torch.nn.Module:
    """``model`` on ``device``, in channels-last memory format when ``cfg.channels_last`` (training and
    evaluation run it the same way)."""
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def build_parts(cfg: TrainConfig, info: D.DistInfo, device: torch.device, given: Parts | None = None,
                train: bool = True) -> Parts:
    """``given`` with what it lacks built from the config: codec, data sets (the training set only when
    ``train``), model, loss."""
    p = given or Parts()
    codec = p.codec if p.codec is not None else codec_for(cfg)
    train_set, val_set = p.train_set, p.val_set
    if train and train_set is None:
        train_set, built_val = build_datasets(cfg, codec, info, device=device)
        val_set = val_set if val_set is not None else built_val
    elif val_set is None and not train:
        val_set = build_val_set(cfg, codec, info)
    spec = getattr(train_set if train_set is not None else val_set, "spec", None)
    model = p.model if p.model is not None else build_model_for(cfg, codec, spec.num_keypoints if spec else 17)
    loss_fn = p.loss_fn if p.loss_fn is not None or not train else build_loss(codec)
    return Parts(model=model, train_set=train_set, val_set=val_set, loss_fn=loss_fn, codec=codec)


def make_loader(dataset, batch_size: int, workers: int, device: torch.device, sampler=None,
                drop_last: bool = False) -> DataLoader:
    """The DataLoader of training and validation. Workers are re-created each epoch (not persistent) and so
    see ``dataset.set_epoch()``. A data set that serves whole batches (data/crops.CropCache) brings its own
    pass-through collate; one that makes GPU tensors (``in_process``) must load in this process."""
    in_process = getattr(dataset, "in_process", False)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, shuffle=False,
                      num_workers=0 if in_process else workers, pin_memory=device.type == "cuda" and not in_process,
                      drop_last=drop_last, persistent_workers=False,
                      generator=torch.Generator().manual_seed(0), collate_fn=getattr(dataset, "collate_fn", None))
