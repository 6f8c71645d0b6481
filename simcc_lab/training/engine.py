"""Training and evaluation: ``fit(cfg) -> history`` and ``evaluate(checkpoint) -> metrics``.

One loop serves a laptop CPU, one GPU and many GPUs on many nodes (``torchrun`` + DDP, see
:mod:`simcc_lab.training.distributed`). What makes runs reproducible and resumable:

* data order and augmentation depend only on ``(seed, epoch)``: a ``DistributedSampler`` (also with one
  process) is re-seeded by ``set_epoch``, the dataset's own draws by ``dataset.set_epoch``, and the
  DataLoader's worker seeds come from a generator seeded with ``(seed, epoch)``;
* a checkpoint after every epoch (``out_dir/last.pt``, written whole) holds model, optimiser, scheduler,
  AMP scaler, epoch, step, history and all random-number states, so ``resume`` continues a killed run
  to the same weights as an uninterrupted run (exactly, on CPU);
* ``batch_size`` is per process: the global batch is ``batch_size * world_size``, and because rank ``r``
  takes every ``world_size``-th index of the shared permutation, the union of the ranks' batches at a
  step is exactly the single-process batch of size ``batch_size * world_size``.

See docs/training.md for the commands, the CUDA determinism settings and measured results.
"""
from __future__ import annotations

import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler
from tqdm.auto import tqdm

from ..codecs import REFINEMENTS
from ..data.coco import coco_paths
from ..data.topdown import TopDownDataset
from ..data.crops import CropCache
from ..data.synthetic import ensure_dataset
from ..files import check_output_file, write_json
from ..models import build_model
from . import distributed as D
from . import run_folder
from .checkpoint import copy_file, get_rng_state, load_checkpoint, save_checkpoint, set_rng_state, write_history
from .config import (EVAL_FIELDS, PRESETS, RESUME_FIELDS, TrainConfig, add_config_arguments, build_augment,
                     codec_for, config_from_dict, config_from_preset, config_to_dict, overrides_from_args)
from .distributed import resolve_amp, select_device
from .inference import batch_to_device, compute_metrics, predict
from .losses import build_loss

__all__ = ["fit", "evaluate", "load_model", "select_device", "resolve_amp", "lr_factor",
           "data_paths", "build_datasets", "build_model_for", "register_cli", "EVAL_FIELDS", "TrainState"]

WARMUP_START = 1e-3  # warm-up starts at lr * 1e-3 (MMPose's LinearLR start_factor)
LOG_EVERY = 10       # optimiser steps between progress updates (each one syncs the GPU)


# ---------------------------------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------------------------------
def _set_determinism(cfg: TrainConfig, device: torch.device) -> None:
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    random.seed(cfg.seed)
    if cfg.deterministic:
        # cuBLAS needs a fixed workspace to be deterministic; it must be set before the first matmul.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    elif device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick its fastest kernels


# ---------------------------------------------------------------------------------------------------
# Schedule
# ---------------------------------------------------------------------------------------------------
def lr_factor(step: int, cfg: TrainConfig, steps_per_epoch: int) -> float:
    """Learning-rate multiplier at optimiser step ``step`` (0-based): warm-up x decay.

    ``schedule="step"`` is the paper's decay: x ``lr_gamma`` at each milestone epoch
    (``cfg.milestone_epochs``, the fractions 90/140 and 120/140 scaled to ``cfg.epochs``);
    ``"cosine"`` falls from 1 to 0 over all steps. Warm-up rises linearly from 1e-3 to 1.
    """
    if cfg.schedule == "cosine":  # half a cosine from 1 to 0 over the whole run
        factor = 0.5 * (1.0 + math.cos(math.pi * min(1.0, step / max(1, cfg.epochs * steps_per_epoch))))
    else:
        factor = cfg.lr_gamma ** sum(step >= m * steps_per_epoch for m in cfg.milestone_epochs)
    if step < cfg.warmup_steps:
        factor *= WARMUP_START + (1.0 - WARMUP_START) * step / cfg.warmup_steps
    return factor


# ---------------------------------------------------------------------------------------------------
# Data and model from a config
# ---------------------------------------------------------------------------------------------------
def data_paths(cfg: TrainConfig, info: D.DistInfo | None = None) -> dict[str, tuple[Path, Path]]:
    """``{"train": (annotation file, image folder), "val": (...)}`` of the config's data set; SynthPose is
    generated into its cache first when not there (by rank 0; the other ranks wait)."""
    info = info or D.env_info()
    if cfg.dataset == "coco":
        root = cfg.coco_root or None
        return {s: coco_paths(root, s) for s in ("train", "val")}
    w, h = cfg.synth_image_size
    variant = "-crowded" if cfg.crowded else "-clean" if cfg.synth_clean else ""
    name = f"synthpose{variant}-{w}x{h}-n{cfg.synth_train_images}-v{cfg.synth_val_images}-s{cfg.data_seed}"
    kwargs = dict(cache_dir=cfg.cache_dir or None, name=name, num_train=cfg.synth_train_images,
                  num_val=cfg.synth_val_images, seed=cfg.data_seed, crowded=cfg.crowded, clean=cfg.synth_clean,
                  size=(w, h),
                  progress=cfg.progress and info.is_main)
    # Rank 0 generates; the others wait and then only find the cached files (two writers would clash).
    paths = ensure_dataset(**kwargs) if info.is_main else None
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
    val = TopDownDataset(*paths["val"], cfg.input_size, codec, train=False,
                         bbox_file=cfg.val_bbox_file or None)
    return train, val


def build_model_for(cfg: TrainConfig, codec, num_keypoints: int) -> torch.nn.Module:
    """The PoseModel the config describes."""
    kwargs = dict(pretrained=cfg.pretrained)
    if cfg.deconvs is not None:
        kwargs["deconvs"] = cfg.deconvs
    return build_model(cfg.backbone, codec, num_keypoints, **kwargs)


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A generator seeded from (seed, epoch) alone: the DataLoader draws its workers' seeds from it."""
    g = torch.Generator()
    g.manual_seed(int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0] >> 1))
    return g


def _loader(dataset, batch_size: int, workers: int, device: torch.device, sampler=None,
            drop_last: bool = False) -> DataLoader:
    # persistent_workers=False: workers are re-created each epoch and so see dataset.set_epoch().
    # A data set that serves whole batches (data/crops.CropCache) brings its own pass-through collate; one
    # that makes GPU tensors must load in this process.
    in_process = getattr(dataset, "in_process", False)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, shuffle=False,
                      num_workers=0 if in_process else workers, pin_memory=device.type == "cuda" and not in_process,
                      drop_last=drop_last, persistent_workers=False,
                      generator=torch.Generator().manual_seed(0), collate_fn=getattr(dataset, "collate_fn", None))


# ---------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------
def _validate(parts: _Parts, cfg: TrainConfig, device, out_json=None, per_person: bool = False,
              curve: bool = False) -> dict:
    """Metrics of ``parts.model`` on ``parts.val_set`` (decoded by ``parts.codec``; with ``parts.loss_fn``
    also the val loss). ``curve``: also ``AP_<variant>`` and ``pixel_error_<variant>`` for every decoding of
    the codec (``default`` for SimCC; each refinement for heatmaps), from one forward pass."""
    model, val_set, codec = parts.model, parts.val_set, parts.codec
    flip_index = None
    if cfg.flip_test:
        spec = getattr(val_set, "spec", None)
        if spec is None:
            raise ValueError("flip_test needs a data set with a skeleton spec (for the left/right swap)")
        flip_index = spec.flip_index
    loader = _loader(val_set, cfg.batch_size, cfg.workers, device)
    own = cfg.refinement if cfg.codec == "heatmap" else "default"
    also = {v: codec_for(cfg, refinement=v) for v in REFINEMENTS if v != own} \
        if curve and cfg.codec == "heatmap" else {}
    pred = predict(model, loader, codec, device, flip_index, resolve_amp(cfg.amp, device), cfg.channels_last,
                   parts.loss_fn, progress=cfg.progress, also=also)
    out = compute_metrics(pred, val_set, cfg.input_size, out_json, per_person)
    if curve:
        variants = {own: out}
        for v, (k, s) in pred["also"].items():
            variants[v] = compute_metrics(dict(pred, kpts_input=k, scores=s, loss=None), val_set, cfg.input_size)
        for v, m in variants.items():
            out.update({f"{k}_{v}": m[k] for k in ("AP", "pixel_error") if k in m})
    return out


# ---------------------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------------------
def _tensorboard(cfg: TrainConfig, out_dir: Path):
    if not cfg.tensorboard:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        print("tensorboard=True but the tensorboard package is not installed (pip install tensorboard); "
              "training continues without it", file=sys.stderr)
        return None
    return SummaryWriter(str(out_dir / "tensorboard"))


# ---------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------
def _resume_path(cfg: TrainConfig, out_dir: Path) -> Path | None:
    if cfg.resume is False or cfg.resume in ("", "false"):
        return None
    if cfg.resume is True or cfg.resume == "true":
        path = out_dir / "last.pt"
        return path if path.is_file() else None  # nothing to resume yet: a fresh start
    path = Path(cfg.resume)
    if not path.is_file():
        raise FileNotFoundError(f"resume checkpoint {path} not found")
    return path


@dataclass
class TrainState:
    """One training run in progress: what the loop reads (config, device, model, optimiser, ...) and what it
    advances (global step, best AP, history). ``model`` is the bare model (saved and evaluated);
    ``train_model`` is what the loop calls (the DDP wrapper under torchrun, else the model itself)."""

    cfg: TrainConfig
    info: D.DistInfo
    device: torch.device
    amp_dtype: torch.dtype | None
    model: torch.nn.Module
    loss_fn: Callable
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: Any
    train_model: torch.nn.Module | None = None
    writer: Any = None
    step: int = 0
    best_ap: float = -math.inf
    history: list = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.train_model is None:
            self.train_model = self.model


@dataclass
class _Parts:
    """What a run trains and evaluates: stand-ins given to :func:`fit` (None: built from the config)."""

    model: torch.nn.Module | None = None
    train_set: Any = None
    val_set: Any = None
    loss_fn: Callable | None = None
    codec: Any = None


def fit(cfg: TrainConfig, *, model: torch.nn.Module | None = None, train_set=None, val_set=None,
        loss: Callable | None = None, codec=None,
        on_epoch_end: Callable[[int, dict], None] | None = None) -> list[dict]:
    """Train ``cfg`` and return the history (one dict per finished epoch, resumed epochs included).

    Args:
        cfg: the run's config.
        model, train_set, val_set, loss, codec: stand-ins for what the config would build (tests and
            notebooks inject small ones). Datasets yield dicts ``image``, ``targets`` (tuple), ``weights``
            (and ``meta``); ``loss(outputs, targets, weights)`` returns a scalar; the model returns a tuple.
        on_epoch_end: called as ``on_epoch_end(epoch, record)`` on every rank after the epoch's
            checkpoint is written; an exception raised there stops training (a simulated kill in tests).

    Files in ``cfg.out_dir`` (rank 0): ``config.json``, ``last.pt``, ``best.pt`` (best val AP),
    ``history.json``, ``history.csv``, ``tensorboard/`` (optional).
    """
    device = select_device(cfg.device, D.env_info().local_rank)
    created = not torch.distributed.is_initialized()
    info = D.setup(device.type)
    parts = _Parts(model=model, train_set=train_set, val_set=val_set, loss_fn=loss, codec=codec)
    try:
        with D.cpu_threads(cfg.threads), run_folder.claim(cfg, info.is_main):
            history = _fit(cfg, info, device, parts, on_epoch_end)
    except BaseException:
        if created:  # no barrier: the other ranks may never reach it (torchrun stops them)
            D.cleanup(wait=False)
        raise
    if created:  # a group made by the caller (several fits in one torchrun job) stays open
        D.cleanup()
    return history


def _build_parts(cfg: TrainConfig, info: D.DistInfo, device: torch.device, parts: _Parts) -> _Parts:
    """``parts`` with what was not given built from the config: codec, data sets, model, loss."""
    codec, model, train_set, val_set, loss_fn = parts.codec, parts.model, parts.train_set, parts.val_set, parts.loss_fn
    if codec is None and (model is None or train_set is None or loss_fn is None or val_set is not None):
        codec = codec_for(cfg)
    if train_set is None:
        train_set, built_val = build_datasets(cfg, codec, info, device=device)
        val_set = val_set if val_set is not None else built_val
    if model is None:
        model = build_model_for(cfg, codec, train_set.spec.num_keypoints)
    if loss_fn is None:
        loss_fn = build_loss(codec)
    return _Parts(model=model, train_set=train_set, val_set=val_set, loss_fn=loss_fn, codec=codec)


def _resume(state: TrainState, ckpt_path: Path) -> tuple[int, dict]:
    """Load ``ckpt_path`` into ``state`` (weights, optimiser, scheduler, scaler, step, best AP, history);
    returns (epochs done, the random-number states to restore last)."""
    cfg, main = state.cfg, state.info.is_main
    ckpt = load_checkpoint(ckpt_path)
    run_folder.check_resumable(ckpt, ckpt_path, cfg)
    changed = sorted(k for k, v in config_to_dict(config_from_dict(ckpt["config"])).items()
                     if k not in RESUME_FIELDS and config_to_dict(cfg)[k] != v)
    if changed and main:
        print(f"warning: resuming {ckpt_path} with changed settings {changed}", file=sys.stderr)
    state.model.load_state_dict(ckpt["model"])
    state.optimizer.load_state_dict(ckpt["optimizer"])
    state.scheduler.load_state_dict(ckpt["scheduler"])
    state.scaler.load_state_dict(ckpt["scaler"])
    state.step, state.best_ap = ckpt["global_step"], ckpt["best_ap"]
    state.history = list(ckpt["history"])
    if main:
        print(f"resumed from {ckpt_path} after epoch {ckpt['epoch']} (step {state.step})", file=sys.stderr)
    return ckpt["epoch"], ckpt["rng"]


def _fit(cfg: TrainConfig, info: D.DistInfo, device: torch.device, parts: _Parts,
         on_epoch_end: Callable[[int, dict], None] | None) -> list[dict]:
    out_dir = Path(cfg.out_dir)
    _set_determinism(cfg, device)
    amp_dtype = resolve_amp(cfg.amp, device)
    main = info.is_main
    parts = _build_parts(cfg, info, device, parts)
    model, train_set, val_set = parts.model, parts.train_set, parts.val_set
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)

    sampler = DistributedSampler(train_set, num_replicas=info.world_size, rank=info.rank, shuffle=True,
                                 seed=cfg.seed)
    loader = _loader(train_set, cfg.batch_size, cfg.workers, device, sampler=sampler, drop_last=True)
    steps_per_epoch = len(loader) if not cfg.max_steps_per_epoch else min(len(loader), cfg.max_steps_per_epoch)
    if steps_per_epoch == 0:
        raise ValueError(f"no full batch: {len(train_set)} training samples over {info.world_size} process(es) "
                         f"with batch_size {cfg.batch_size}; lower batch_size or add data")
    opt_class = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    optimizer = opt_class(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    state = TrainState(cfg=cfg, info=info, device=device, amp_dtype=amp_dtype, model=model, loss_fn=parts.loss_fn,
                       optimizer=optimizer,
                       scheduler=torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                                   lambda s: lr_factor(s, cfg, steps_per_epoch)),
                       scaler=torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16))

    start_epoch, rng_state = 0, None
    ckpt_path = _resume_path(cfg, out_dir)
    if ckpt_path is not None:
        start_epoch, rng_state = _resume(state, ckpt_path)

    if info.enabled:
        ids = [device.index] if device.type == "cuda" else None
        state.train_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    if main:
        write_json(out_dir / "config.json", config_to_dict(cfg))
    state.writer = _tensorboard(cfg, out_dir) if main else None
    if rng_state is not None:  # last, so that nothing after it draws from the restored generators
        set_rng_state(rng_state)

    for epoch in range(start_epoch, cfg.epochs):
        sampler.set_epoch(epoch)
        if hasattr(train_set, "set_epoch"):
            train_set.set_epoch(epoch)
        loader.generator = _epoch_generator(cfg.seed, epoch)
        record = _train_epoch(state, loader, steps_per_epoch, epoch)
        last = epoch + 1 == cfg.epochs
        due = last or (cfg.eval_every and (epoch + 1) % cfg.eval_every == 0)
        curve = epoch + 1 in {int(e) for e in cfg.eval_epochs}
        if main and val_set is not None and (due or curve):
            t1 = time.perf_counter()
            record.update(_validate(parts, cfg, device, curve=curve))
            record["eval_time_s"] = time.perf_counter() - t1
        state.history.append(record)
        if main:
            _end_epoch(state, record, out_dir)
        D.barrier()  # the other ranks wait for rank 0's evaluation and checkpoint
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, record)
    if state.writer is not None:
        state.writer.close()
    return state.history


def _end_epoch(state: TrainState, record: dict, out_dir: Path) -> None:
    """Rank 0 after an epoch: checkpoint (``last.pt``, ``best.pt`` when the AP improved), history files,
    TensorBoard scalars and a progress line."""
    cfg, epoch = state.cfg, record["epoch"]
    is_best = "AP" in record and record["AP"] > state.best_ap
    state.best_ap = record["AP"] if is_best else state.best_ap
    # best.pt first: a kill between the two writes leaves the older last.pt, whose lower best AP makes the
    # resumed epoch write best.pt again (last.pt first would leave a best_ap that no best.pt holds)
    first = out_dir / ("best.pt" if is_best else "last.pt")
    save_checkpoint(first, model=D.unwrap(state.model).state_dict(),
                    optimizer=state.optimizer.state_dict(), scheduler=state.scheduler.state_dict(),
                    scaler=state.scaler.state_dict(), epoch=epoch, global_step=state.step, best_ap=state.best_ap,
                    history=state.history, rng=get_rng_state(), config=config_to_dict(cfg))
    if is_best:
        copy_file(first, out_dir / "last.pt")
    write_history(out_dir, state.history)
    if state.writer is not None:
        for k, v in record.items():
            state.writer.add_scalar(f"epoch/{k}", v, epoch)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in record.items() if k not in ("epoch", "step"))
    print(f"epoch {epoch}/{cfg.epochs}: {shown}", file=sys.stderr)


def _train_epoch(state: TrainState, loader, steps: int, epoch: int) -> dict:
    """One epoch of at most ``steps`` optimiser steps; advances ``state.step``. Returns the epoch's record
    (epoch, step, lr, train loss over all ranks, throughput, time)."""
    cfg, device, info = state.cfg, state.device, state.info
    t0 = time.perf_counter()
    bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
               disable=not (cfg.progress and info.is_main), file=sys.stderr)
    loss_sum, seen = _train_steps(state, loader, steps, bar)
    bar.close()
    total_loss, total_seen = D.all_reduce_sum([loss_sum, float(seen)], device)
    elapsed = time.perf_counter() - t0
    record = dict(epoch=epoch + 1, step=state.step, lr=state.optimizer.param_groups[0]["lr"],
                  train_loss=total_loss / total_seen, images_per_s=total_seen / elapsed,
                  epoch_time_s=elapsed)
    record["samples_seen"] = state.step * cfg.batch_size * info.world_size
    return record


def _train_steps(state: TrainState, loader, steps: int, bar) -> tuple[float, int]:
    """At most ``steps`` optimiser steps over ``loader``. Returns (sum of sample losses, samples)."""
    cfg, device, amp_dtype = state.cfg, state.device, state.amp_dtype
    state.train_model.train()
    model = D.unwrap(state.train_model)
    t0, seen, loss_sum = time.perf_counter(), 0, torch.zeros((), dtype=torch.float64, device=device)
    for i, batch in enumerate(loader):
        if i >= steps:
            break
        images, targets, weights = batch_to_device(batch, device, cfg.channels_last)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            outputs = state.train_model(images)
        # The loss in float32: softmax/KL over many bins is where half precision loses accuracy.
        loss = state.loss_fn(tuple(o.float() for o in outputs), targets, weights)
        state.optimizer.zero_grad(set_to_none=True)
        state.scaler.scale(loss).backward()
        if cfg.grad_clip > 0:
            state.scaler.unscale_(state.optimizer)  # clip the true gradients, not the fp16-scaled ones
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        state.scaler.step(state.optimizer)
        state.scaler.update()
        state.scheduler.step()  # per step: warm-up and milestones are counted in optimiser steps
        state.step += 1
        loss_sum += loss.detach().double() * images.shape[0]
        seen += images.shape[0]
        if (i + 1) % LOG_EVERY == 0 or i + 1 == steps:  # .item() syncs a GPU, so only now and then
            mean = loss_sum.item() / seen
            if not math.isfinite(mean):
                raise FloatingPointError(f"loss became {mean} at step {state.step}; lower lr or set grad_clip")
            rate = seen * state.info.world_size / (time.perf_counter() - t0)
            bar.set_postfix(loss=f"{mean:.4g}", img_s=f"{rate:.0f}")
            if state.writer is not None:
                state.writer.add_scalar("train/loss", mean, state.step)
        bar.update(1)
    return loss_sum.item(), seen


# ---------------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------------
def evaluate(source: TrainConfig | str | Path, *, model: torch.nn.Module | None = None, val_set=None,
             codec=None, out_json=None, per_person: bool = False, **overrides) -> dict[str, float]:
    """Evaluate a trained model on its validation set: COCO AP/AR and mean pixel errors.

    Args:
        source: a checkpoint path (model and config from it; loaded with ``weights_only=True``), or a
            TrainConfig (with ``model`` given, or the weights from ``cfg.out_dir/last.pt``).
        model, val_set, codec: stand-ins for what the config would build.
        out_json: where to write the COCO results file.
        per_person: add per-person errors and OKS (see :func:`compute_metrics`).
        overrides: TrainConfig fields of :data:`EVAL_FIELDS`, e.g. ``flip_test=True, refinement="dark"``.
    """
    bad = sorted(set(overrides) - set(EVAL_FIELDS))
    if bad:
        raise ValueError(f"evaluate() cannot change {bad}; allowed: {list(EVAL_FIELDS)}")
    if isinstance(source, TrainConfig):
        cfg, state = source, None
        if model is None:
            state = load_checkpoint(Path(cfg.out_dir) / "last.pt")["model"]
    else:
        ckpt = load_checkpoint(source)
        cfg, state = config_from_dict(ckpt["config"]), ckpt["model"]
    cfg = cfg.replace(**overrides)
    with D.cpu_threads(cfg.threads):
        return _evaluate(cfg, state, _Parts(model=model, val_set=val_set, codec=codec), out_json, per_person)


def load_model(checkpoint, device: str = "cpu"):
    """``(model, cfg, codec)`` from a checkpoint (``last.pt``, ``best.pt`` or an exported
    ``reports/models/*.pt``): the model in eval mode with its weights (float32), the TrainConfig it was
    trained with and the codec that decodes its outputs."""
    ckpt = load_checkpoint(checkpoint)
    cfg = config_from_dict(ckpt["config"])
    codec = codec_for(cfg)
    # both training data sets (SynthPose, COCO) are COCO-17
    model = build_model_for(cfg, codec, num_keypoints=17)
    model.load_state_dict(ckpt["model"])  # float16 exports are cast back to the model's float32
    return model.to(select_device(device)).eval(), cfg, codec


def _evaluate(cfg: TrainConfig, state, parts: _Parts, out_json, per_person=False) -> dict[str, float]:
    info = D.DistInfo()  # evaluation runs in one process
    device = select_device(cfg.device)
    model, val_set = parts.model, parts.val_set
    codec = parts.codec if parts.codec is not None else codec_for(cfg)
    if val_set is None:
        _, val_set = build_datasets(cfg, codec, info)
    if model is None:
        model = build_model_for(cfg, codec, val_set.spec.num_keypoints)
    if state is not None:
        model.load_state_dict(state)
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    return _validate(_Parts(model=model, val_set=val_set, codec=codec), cfg, device, out_json, per_person)


# ---------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------
def register_cli(subparsers) -> None:
    """``simcc-lab train --preset NAME [--field value ...] [--resume [PATH]]`` and
    ``simcc-lab eval --checkpoint PATH [--flip-test] [--refinement dark] ...``."""
    p = subparsers.add_parser("train", help="train a pose model (torchrun for several GPUs)",
                              description="Train a model. Every TrainConfig field is a flag; see docs/training.md.")
    p.add_argument("--preset", default=None, help=f"named config: {', '.join(sorted(PRESETS))}")
    add_config_arguments(p)
    p.set_defaults(func=_cli_train)

    e = subparsers.add_parser("eval", help="evaluate a checkpoint (COCO AP, pixel errors)")
    e.add_argument("--checkpoint", required=True, help="a last.pt or best.pt written by `simcc-lab train`")
    e.add_argument("--out-json", default=None, help="write the metrics here as JSON")
    e.add_argument("--results-json", default=None, help="write the COCO keypoint results here")
    add_config_arguments(e, only=EVAL_FIELDS)
    e.set_defaults(func=_cli_eval)


def _cli_train(args) -> int:
    cfg = config_from_preset(args.preset, **overrides_from_args(args))
    history = fit(cfg)
    if D.env_info().is_main and history:
        final = {k: v for k, v in history[-1].items() if k in ("AP", "pixel_error", "train_loss")}
        print(f"done: {cfg.out_dir}/last.pt {final}")
    return 0


def _cli_eval(args) -> int:
    for flag, path in (("--out-json", args.out_json), ("--results-json", args.results_json)):
        if path:  # before the evaluation, not after it
            check_output_file(path, flag)
    metrics = evaluate(args.checkpoint, out_json=args.results_json, **overrides_from_args(args))
    print(json.dumps(metrics, indent=1))
    if args.out_json:
        write_json(args.out_json, metrics)
    return 0
