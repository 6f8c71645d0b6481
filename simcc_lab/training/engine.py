"""Training and evaluation: ``fit(cfg) -> history`` and ``evaluate(checkpoint) -> metrics``.

One loop serves a laptop CPU, one GPU and many GPUs on many nodes (``torchrun`` + DDP, see
:mod:`simcc_lab.distributed`). What makes runs reproducible and resumable:

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

import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from . import distributed as D
from .checkpoint import copy_file, get_rng_state, load_checkpoint, save_checkpoint, set_rng_state, write_history
from .config import (REFINEMENTS, RUN_FIELDS, TrainConfig, add_config_arguments, build_augment, build_codec,
                     config_from_dict, config_from_preset, config_to_dict, overrides_from_args)
from .distributed import resolve_amp, select_device
from .io import write_json

__all__ = ["fit", "evaluate", "load_model", "predict", "compute_metrics", "select_device", "resolve_amp", "lr_factor",
           "data_paths", "build_datasets", "build_model_for", "register_cli", "EVAL_FIELDS"]

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
        from .data.coco import coco_paths

        root = cfg.coco_root or None
        return {s: coco_paths(root, s) for s in ("train", "val")}
    from .data.synthetic import ensure_dataset

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
    from .data.coco import TopDownDataset

    paths = data_paths(cfg, info)
    if cfg.crop_cache:
        from .data.crops import CropCache

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
    from .models import build_model

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


def _to_device(batch: dict, device: torch.device, channels_last: bool):
    images = batch["image"].to(device, non_blocking=True)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    targets = tuple(t.to(device, non_blocking=True) for t in batch["targets"])
    return images, targets, batch["weights"].to(device, non_blocking=True)


# ---------------------------------------------------------------------------------------------------
# Inference and metrics
# ---------------------------------------------------------------------------------------------------
@torch.no_grad()
def predict(model, loader, codec, device, flip_index=None, amp_dtype=None, channels_last=False,
            loss_fn=None, progress: bool = False, also: dict | None = None) -> dict[str, Any]:
    """Decoded keypoints of every sample in ``loader``.

    Flip test (``flip_index`` given): the flipped image's outputs are mapped back with
    ``codec.flip_outputs`` and averaged with the plain outputs (logits for SimCC, heatmaps otherwise,
    as the official code does) before decoding.

    Args:
        also: ``{name: codec}``, more decodings of the same outputs (e.g. heatmap refinements), from one
            forward pass.

    Returns:
        dict with ``kpts_input`` (N, K, 2) input pixels, ``scores`` (N, K), ``meta`` (dict of
        concatenated numpy arrays from the samples' meta), ``loss`` (mean per batch, or None) and
        ``also`` (``{name: (kpts_input, scores)}``).
    """
    from tqdm.auto import tqdm

    model.eval()
    decoders = dict({"": codec}, **(also or {}))
    decoded = {name: ([], []) for name in decoders}
    metas, losses = [], []
    for batch in tqdm(loader, desc="eval", leave=False, disable=not progress):
        images, targets, weights = _to_device(batch, device, channels_last)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            outputs = model(images)
            if flip_index is not None:
                flipped = codec.flip_outputs(tuple(model(images.flip(-1))), flip_index)
        outputs = tuple(o.float() for o in outputs)
        if loss_fn is not None and targets:
            losses.append(float(loss_fn(outputs, targets, weights)))
        if flip_index is not None:
            outputs = tuple((o + f.float()) / 2 for o, f in zip(outputs, flipped))
        for name, c in decoders.items():
            # The model gives SimCC logits; say so rather than let the codec guess from the values.
            k, s = c.decode(*outputs, from_logits=True) if getattr(c, "kind", None) == "simcc" else c.decode(*outputs)
            decoded[name][0].append(torch.as_tensor(k).float().cpu().numpy())
            decoded[name][1].append(torch.as_tensor(s).float().cpu().numpy())
        metas.append({name: _numpy(v) for name, v in batch.get("meta", {}).items()})
    meta = {name: np.concatenate([m[name] for m in metas]) for name in (metas[0] if metas else {})}
    joined = {name: (np.concatenate(k) if k else np.zeros((0, 0, 2)), np.concatenate(s) if s else np.zeros((0, 0)))
              for name, (k, s) in decoded.items()}
    kpts, scores = joined.pop("")
    return dict(kpts_input=kpts, scores=scores, meta=meta, loss=float(np.mean(losses)) if losses else None,
                also=joined)


def _numpy(v) -> np.ndarray:
    return v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)


def compute_metrics(pred: dict, dataset, input_size, out_json=None, per_person: bool = False) -> dict:
    """COCO AP/AR (when ``dataset`` has a ground-truth file) and mean pixel errors from :func:`predict`.

    ``pixel_error`` is in input pixels (the codec's frame), ``pixel_error_image`` in image pixels.
    ``per_person=True`` adds ``per_person``: lists over the val people (ground-truth boxes) of ``ann_id``,
    ``err_sum`` (summed input-px error of labelled keypoints), ``count`` (labelled keypoints) and ``oks``
    (COCO's object keypoint similarity in image px), for paired bootstrap intervals (reproduce/report).
    """
    from . import evaluation as E

    out: dict[str, float] = {}
    if pred["loss"] is not None:
        out["val_loss"] = pred["loss"]
    meta = pred["meta"]
    gt = getattr(dataset, "gt", None)
    if gt is None or "image_id" not in meta:
        return out  # a data set without an annotation file (tests): loss only
    kpts_img = E.keypoints_to_image(pred["kpts_input"], meta, input_size)
    detections = bool(getattr(dataset, "records", gt) is not gt)
    ap = E.evaluate_topdown(gt.ann_file, meta["image_id"], kpts_img, pred["scores"], meta["score"],
                            areas=meta["area"], nms=detections, sigmas=gt.spec.sigmas, out_json=out_json)
    out.update({k: v for k, v in ap.items() if k in ("AP", "AP50", "AP75", "APm", "APl", "AR")})
    if not detections:  # detection boxes have no matched ground truth to measure distances against
        out["pixel_error"] = E.pixel_errors(pred["kpts_input"], meta["kpts_input"], meta["visible"])["mean"]
        true_img = dataset.records.keypoints[meta["index"].astype(np.int64)]
        out["pixel_error_image"] = E.pixel_errors(kpts_img, true_img[..., :2], true_img[..., 2])["mean"]
        if per_person:
            err = E.pixel_errors(pred["kpts_input"], meta["kpts_input"], meta["visible"])["errors"]
            out["per_person"] = dict(
                ann_id=meta["ann_id"].astype(np.int64).tolist(), err_sum=np.nansum(err, axis=1).tolist(),
                count=(np.asarray(meta["visible"]) > 0).sum(1).tolist(),
                oks=_oks(kpts_img, true_img, np.asarray(meta["area"], np.float64), gt.spec.sigmas).tolist())
    return out


def _oks(pred, true, area, sigmas) -> np.ndarray:
    """COCO object keypoint similarity per person: pred (N, K, 2), true (N, K, 3) with v, area (N,) px^2,
    sigmas (K,); mean of exp(-d^2 / (2 area (2 sigma)^2)) over labelled keypoints (nan when none)."""
    d2 = ((pred - true[..., :2]) ** 2).sum(-1)
    e = d2 / (2.0 * (2.0 * np.asarray(sigmas)) ** 2 * (area[:, None] + np.spacing(1)))
    lab = true[..., 2] > 0
    with np.errstate(invalid="ignore"):
        return np.where(lab, np.exp(-e), 0.0).sum(1) / np.where(lab.any(1), lab.sum(1), np.nan)


def _validate(model, val_set, codec, cfg: TrainConfig, device, amp_dtype, loss_fn, out_json=None,
              per_person: bool = False, curve: bool = False) -> dict:
    """Metrics of ``model`` on ``val_set``. ``curve``: also ``AP_<variant>`` and ``pixel_error_<variant>`` for
    every decoding of the codec (``default`` for SimCC; each refinement for heatmaps), from one forward pass."""
    flip_index = None
    if cfg.flip_test:
        spec = getattr(val_set, "spec", None)
        if spec is None:
            raise ValueError("flip_test needs a data set with a skeleton spec (for the left/right swap)")
        flip_index = spec.flip_index
    loader = _loader(val_set, cfg.batch_size, cfg.workers, device)
    own = cfg.refinement if cfg.codec == "heatmap" else "default"
    also = {v: build_codec(cfg, refinement=v) for v in REFINEMENTS if v != own} \
        if curve and cfg.codec == "heatmap" else {}
    pred = predict(model, loader, codec, device, flip_index, amp_dtype, cfg.channels_last, loss_fn,
                   progress=cfg.progress, also=also)
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


# Fields that may change between a run and its resumption without changing what is trained: where and
# how fast it runs (config.RUN_FIELDS) and how it is evaluated.
_RUN_FIELDS = RUN_FIELDS | {"flip_test", "refinement"}


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
    out_dir = Path(cfg.out_dir)
    device = select_device(cfg.device, D.env_info().local_rank)
    created = not torch.distributed.is_initialized()
    info = D.setup(device.type)
    try:
        with D.cpu_threads(cfg.threads):
            history = _fit(cfg, out_dir, info, device, model, train_set, val_set, loss, codec, on_epoch_end)
    except BaseException:
        if created:  # no barrier: the other ranks may never reach it (torchrun stops them)
            D.cleanup(wait=False)
        raise
    if created:  # a group made by the caller (several fits in one torchrun job) stays open
        D.cleanup()
    return history


def _fit(cfg, out_dir, info, device, model, train_set, val_set, loss_fn, codec, on_epoch_end) -> list[dict]:
    from tqdm.auto import tqdm

    _set_determinism(cfg, device)
    amp_dtype = resolve_amp(cfg.amp, device)
    main = info.is_main
    if codec is None and (model is None or train_set is None or loss_fn is None or val_set is not None):
        codec = build_codec(cfg)
    if train_set is None:
        train_set, built_val = build_datasets(cfg, codec, info, device=device)
        val_set = val_set if val_set is not None else built_val
    if model is None:
        model = build_model_for(cfg, codec, train_set.spec.num_keypoints)
    if loss_fn is None:
        from .losses import build_loss

        loss_fn = build_loss(codec)
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
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, cfg, steps_per_epoch))
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)

    start_epoch, step, best_ap, history = 0, 0, -math.inf, []
    ckpt_path = _resume_path(cfg, out_dir)
    rng_state = None
    if ckpt_path is not None:
        ckpt = load_checkpoint(ckpt_path)
        changed = sorted(k for k, v in config_to_dict(config_from_dict(ckpt["config"])).items()
                         if k not in _RUN_FIELDS and config_to_dict(cfg)[k] != v)
        if changed and main:
            print(f"warning: resuming {ckpt_path} with changed settings {changed}", file=sys.stderr)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        start_epoch, step, best_ap = ckpt["epoch"], ckpt["global_step"], ckpt["best_ap"]
        history, rng_state = list(ckpt["history"]), ckpt["rng"]
        if main:
            print(f"resumed from {ckpt_path} after epoch {start_epoch} (step {step})", file=sys.stderr)

    train_model = model
    if info.enabled:
        ids = [device.index] if device.type == "cuda" else None
        train_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    if main:
        write_json(out_dir / "config.json", config_to_dict(cfg))
    writer = _tensorboard(cfg, out_dir) if main else None
    if rng_state is not None:  # last, so that nothing after it draws from the restored generators
        set_rng_state(rng_state)

    for epoch in range(start_epoch, cfg.epochs):
        sampler.set_epoch(epoch)
        if hasattr(train_set, "set_epoch"):
            train_set.set_epoch(epoch)
        loader.generator = _epoch_generator(cfg.seed, epoch)
        t0 = time.perf_counter()
        bar = tqdm(total=steps_per_epoch, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                   disable=not (cfg.progress and main), file=sys.stderr)
        loss_sum, seen, step = _train_epoch(train_model, loader, steps_per_epoch, loss_fn, optimizer, scheduler,
                                            scaler, cfg, device, amp_dtype, step, bar, writer, info.world_size)
        bar.close()
        total_loss, total_seen = D.all_reduce_sum([loss_sum, float(seen)], device)
        elapsed = time.perf_counter() - t0
        record = dict(epoch=epoch + 1, step=step, lr=optimizer.param_groups[0]["lr"],
                      train_loss=total_loss / total_seen, images_per_s=total_seen / elapsed,
                      epoch_time_s=elapsed)
        record["samples_seen"] = step * cfg.batch_size * info.world_size
        last = epoch + 1 == cfg.epochs
        due = last or (cfg.eval_every and (epoch + 1) % cfg.eval_every == 0)
        curve = epoch + 1 in {int(e) for e in cfg.eval_epochs}
        if main and val_set is not None and (due or curve):
            t1 = time.perf_counter()
            record.update(_validate(model, val_set, codec, cfg, device, amp_dtype, loss_fn, curve=curve))
            record["eval_time_s"] = time.perf_counter() - t1
        history.append(record)
        if main:
            is_best = "AP" in record and record["AP"] > best_ap
            best_ap = record["AP"] if is_best else best_ap
            save_checkpoint(out_dir / "last.pt", model=D.unwrap(model).state_dict(),
                            optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
                            scaler=scaler.state_dict(), epoch=epoch + 1, global_step=step, best_ap=best_ap,
                            history=history, rng=get_rng_state(), config=config_to_dict(cfg))
            if is_best:
                copy_file(out_dir / "last.pt", out_dir / "best.pt")
            write_history(out_dir, history)
            if writer is not None:
                for k, v in record.items():
                    writer.add_scalar(f"epoch/{k}", v, epoch + 1)
            shown = ", ".join(f"{k} {v:.4g}" for k, v in record.items() if k not in ("epoch", "step"))
            print(f"epoch {epoch + 1}/{cfg.epochs}: {shown}", file=sys.stderr)
        D.barrier()  # the other ranks wait for rank 0's evaluation and checkpoint
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, record)
    if writer is not None:
        writer.close()
    return history


def _train_epoch(train_model, loader, steps, loss_fn, optimizer, scheduler, scaler, cfg: TrainConfig, device,
                 amp_dtype, step: int, bar, writer, world_size: int) -> tuple[float, int, int]:
    """One epoch of at most ``steps`` optimiser steps. Returns (sum of sample losses, samples, global step)."""
    train_model.train()
    model = D.unwrap(train_model)
    t0, seen, loss_sum = time.perf_counter(), 0, torch.zeros((), dtype=torch.float64, device=device)
    for i, batch in enumerate(loader):
        if i >= steps:
            break
        images, targets, weights = _to_device(batch, device, cfg.channels_last)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            outputs = train_model(images)
        # The loss in float32: softmax/KL over many bins is where half precision loses accuracy.
        loss = loss_fn(tuple(o.float() for o in outputs), targets, weights)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if cfg.grad_clip > 0:
            scaler.unscale_(optimizer)  # clip the true gradients, not the fp16-scaled ones
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()  # per step: warm-up and milestones are counted in optimiser steps
        step += 1
        loss_sum += loss.detach().double() * images.shape[0]
        seen += images.shape[0]
        if (i + 1) % LOG_EVERY == 0 or i + 1 == steps:  # .item() syncs a GPU, so only now and then
            mean = loss_sum.item() / seen
            if not math.isfinite(mean):
                raise FloatingPointError(f"loss became {mean} at step {step}; lower lr or set grad_clip")
            rate = seen * world_size / (time.perf_counter() - t0)
            bar.set_postfix(loss=f"{mean:.4g}", img_s=f"{rate:.0f}")
            if writer is not None:
                writer.add_scalar("train/loss", mean, step)
        bar.update(1)
    return loss_sum.item(), seen, step


# ---------------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------------
# TrainConfig fields an evaluation may change (the rest describe the trained model).
EVAL_FIELDS = ("flip_test", "refinement", "device", "batch_size", "workers", "threads", "amp", "channels_last",
               "val_bbox_file", "coco_root", "cache_dir", "progress")


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
        return _evaluate(cfg, state, model, val_set, codec, out_json, per_person)


def load_model(checkpoint, device: str = "cpu"):
    """``(model, cfg, codec)`` from a checkpoint (``last.pt``, ``best.pt`` or an exported
    ``reports/models/*.pt``): the model in eval mode with its weights (float32), the TrainConfig it was
    trained with and the codec that decodes its outputs."""
    ckpt = load_checkpoint(checkpoint)
    cfg = config_from_dict(ckpt["config"])
    codec = build_codec(cfg)
    # both training data sets (SynthPose, COCO) are COCO-17
    model = build_model_for(cfg, codec, num_keypoints=17)
    model.load_state_dict(ckpt["model"])  # float16 exports are cast back to the model's float32
    return model.to(select_device(device)).eval(), cfg, codec


def _evaluate(cfg: TrainConfig, state, model, val_set, codec, out_json, per_person=False) -> dict[str, float]:
    info = D.DistInfo()  # evaluation runs in one process
    device = select_device(cfg.device)
    codec = codec if codec is not None else build_codec(cfg)
    if val_set is None:
        _, val_set = build_datasets(cfg, codec, info)
    if model is None:
        model = build_model_for(cfg, codec, val_set.spec.num_keypoints)
    if state is not None:
        model.load_state_dict(state)
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    return _validate(model, val_set, codec, cfg, device, resolve_amp(cfg.amp, device), None, out_json, per_person)


# ---------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------
def register_cli(subparsers) -> None:
    """``simcc-lab train --preset NAME [--field value ...] [--resume [PATH]]`` and
    ``simcc-lab eval --checkpoint PATH [--flip-test] [--refinement dark] ...``."""
    from .config import PRESETS

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
    import json

    metrics = evaluate(args.checkpoint, out_json=args.results_json, **overrides_from_args(args))
    print(json.dumps(metrics, indent=1))
    if args.out_json:
        write_json(args.out_json, metrics)
    return 0
