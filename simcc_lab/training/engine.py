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
from torch.utils.data import DistributedSampler
from tqdm.auto import tqdm

from ..files import write_json
from . import distributed as D
from . import run_folder
from .checkpoint import copy_file, get_rng_state, load_checkpoint, save_checkpoint, set_rng_state, write_history
from .config import EVAL_FIELDS, RESUME_FIELDS, TrainConfig, config_from_dict, config_to_dict
from .distributed import resolve_amp, select_device
from .inference import batch_to_device
from .parts import Parts, build_datasets, build_model_for, build_parts, data_paths, make_loader, place_model
from .run_result import RunResult, result_of
from .validation import epoch_record, evaluate, load_model, validate

__all__ = ["fit", "train", "evaluate", "load_model", "select_device", "resolve_amp", "lr_factor",
           "data_paths", "build_datasets", "build_model_for", "EVAL_FIELDS", "TrainState"]

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


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A generator seeded from (seed, epoch) alone: the DataLoader draws its workers' seeds from it."""
    g = torch.Generator()
    g.manual_seed(int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0] >> 1))
    return g


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
    given = Parts(model=model, train_set=train_set, val_set=val_set, loss_fn=loss, codec=codec)
    return _run(cfg, given, on_epoch_end, final=False).history


def train(cfg: TrainConfig, *, on_epoch_end: Callable[[int, dict], None] | None = None, **given) -> RunResult:
    """Train ``cfg`` like :func:`fit` and return its :class:`RunResult`: the last epoch's validation pass
    decodes every decoding of the codec from one forward pass and keeps the per-person data, so nothing is
    evaluated again, no data set is rebuilt and the trained model itself is counted for compute. A run
    already finished in ``cfg.out_dir`` (``resume``) is evaluated once from its checkpoint. Stand-ins
    (``model=``, ``train_set=``, ...) as for :func:`fit`. Rank 0's result is the one that counts."""
    return _run(cfg, Parts(**{("loss_fn" if k == "loss" else k): v for k, v in given.items()}), on_epoch_end,
                final=True).result


@dataclass
class _Outcome:
    """What :func:`_fit` leaves: the history, the parts it trained, and (``final``) the last validation."""

    history: list
    parts: Parts
    final: dict | None = None
    result: RunResult | None = None


def _run(cfg: TrainConfig, given: Parts, on_epoch_end, final: bool) -> _Outcome:
    """Process-group set-up and tear-down around :func:`_fit` (and, with ``final``, :func:`_result`)."""
    device = select_device(cfg.device, D.env_info().local_rank)
    created = not torch.distributed.is_initialized()
    info = D.setup(device.type)
    try:
        with D.cpu_threads(cfg.threads), run_folder.claim(cfg, info.is_main):
            outcome = _fit(cfg, info, device, given, on_epoch_end, final)
            if final and info.is_main:
                by = outcome.final or validate(outcome.parts, cfg, device, every_decoding=True, per_person=True)
                outcome.result = result_of(cfg, device, outcome.parts, outcome.history, by)
    except BaseException:
        if created:  # no barrier: the other ranks may never reach it (torchrun stops them)
            D.cleanup(wait=False)
        raise
    if created:  # a group made by the caller (several fits in one torchrun job) stays open
        D.cleanup()
    return outcome


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


def _fit(cfg: TrainConfig, info: D.DistInfo, device: torch.device, given: Parts,
         on_epoch_end: Callable[[int, dict], None] | None, final: bool = False) -> _Outcome:
    """The training loop. ``final``: the last epoch's validation decodes every decoding with per-person data
    (kept in the outcome, not in the history)."""
    out_dir = Path(cfg.out_dir)
    _set_determinism(cfg, device)
    main = info.is_main
    parts = build_parts(cfg, info, device, given)
    model, train_set, val_set = place_model(parts.model, cfg, device), parts.train_set, parts.val_set

    sampler = DistributedSampler(train_set, num_replicas=info.world_size, rank=info.rank, shuffle=True,
                                 seed=cfg.seed)
    loader = make_loader(train_set, cfg.batch_size, cfg.workers, device, sampler=sampler, drop_last=True)
    steps_per_epoch = len(loader) if not cfg.max_steps_per_epoch else min(len(loader), cfg.max_steps_per_epoch)
    if steps_per_epoch == 0:
        raise ValueError(f"no full batch: {len(train_set)} training samples over {info.world_size} process(es) "
                         f"with batch_size {cfg.batch_size}; lower batch_size or add data")
    state = _new_state(cfg, info, device, parts, steps_per_epoch)

    start_epoch, rng_state, outcome_final = 0, None, None
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
        if main and val_set is not None:
            by = _validate_epoch(state, parts, record, final)
            outcome_final = by if by is not None else outcome_final
        state.history.append(record)
        if main:
            _end_epoch(state, record, out_dir)
        D.barrier()  # the other ranks wait for rank 0's evaluation and checkpoint
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, record)
    if state.writer is not None:
        state.writer.close()
    return _Outcome(history=state.history, parts=parts, final=outcome_final)


def _new_state(cfg: TrainConfig, info: D.DistInfo, device: torch.device, parts: Parts,
               steps_per_epoch: int) -> TrainState:
    """A fresh TrainState: the optimiser, the per-step schedule and the AMP scaler around ``parts.model``."""
    amp_dtype = resolve_amp(cfg.amp, device)
    opt_class = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    optimizer = opt_class(parts.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return TrainState(cfg=cfg, info=info, device=device, amp_dtype=amp_dtype, model=parts.model,
                      loss_fn=parts.loss_fn, optimizer=optimizer,
                      scheduler=torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                                  lambda s: lr_factor(s, cfg, steps_per_epoch)),
                      scaler=torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16))


def _validate_epoch(state: TrainState, parts: Parts, record: dict, final: bool) -> dict | None:
    """Rank 0 after an epoch: validate when due (``eval_every``, the last epoch) or a learning-curve point, and add
    the fields to ``record``. Returns the per-decoding metrics of the last epoch with ``final``, else None."""
    cfg, epoch = state.cfg, record["epoch"]
    last = epoch == cfg.epochs
    due = last or (cfg.eval_every and epoch % cfg.eval_every == 0)
    curve = epoch in {int(e) for e in cfg.eval_epochs}
    if not (due or curve):
        return None
    t1 = time.perf_counter()
    keep = final and last
    by = validate(parts, cfg, state.device, every_decoding=curve or keep, per_person=keep)
    record.update(epoch_record(by, curve))
    record["eval_time_s"] = time.perf_counter() - t1
    return by if keep else None


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
