"""Training configuration: one frozen dataclass, named presets, command-line flags for every field.

:class:`TrainConfig` holds everything a run needs (data, codec, model, schedule, hardware). Every field
has a default that works, so ``TrainConfig()`` trains something; presets in :data:`PRESETS` are
overrides on top of the defaults, and ``simcc-lab train --preset NAME --field value`` overrides again.

Configs travel as plain dicts (:func:`config_to_dict` / :func:`config_from_dict`): in checkpoints (so
``torch.load(weights_only=True)`` can read them, no pickled classes) and in JSON.

Batch size convention: ``batch_size`` is **per process** (per GPU, as in the paper's "32 per GPU x 4
GPUs"); the global batch of a ``torchrun --nproc-per-node N`` run is ``batch_size * N``.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, fields
from typing import Any

from ..arguments import parse_size
from ..codecs import REFINEMENTS, build_codec
from ..data.transforms import AugmentConfig
from .distributed import cpu_has_bf16

__all__ = ["TrainConfig", "PRESETS", "config_from_preset", "config_from_dict", "config_to_dict",
           "codec_for", "build_augment", "add_config_arguments", "overrides_from_args", "CODECS", "DATASETS",
           "AMP_MODES", "OPTIMIZERS", "SCHEDULES", "RUN_FIELDS", "RESUME_FIELDS", "EVAL_FIELDS"]

DATASETS = ("synthpose", "coco")
CODECS = ("simcc", "heatmap")
AMP_MODES = ("auto", "bf16", "fp16", "off")
OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("step", "cosine")
MAX_INPUT_SIDE = 4096  # px; the paper's largest input is 384x288: anything far beyond is a typo that would
#                        allocate tens of GB before failing
DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
PAPER_MILESTONES = (90 / 140, 120 / 140)  # lr x0.1 at epochs 90 and 120 of 140 (official ResNet configs)


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs. Sizes are ``(W, H)``; the paper's "256x192" is ``(192, 256)``."""

    # --- data -------------------------------------------------------------------------------------
    dataset: str = "synthpose"            # "synthpose" (generated, cached) or "coco" (real COCO 2017)
    synth_train_images: int = 1000        # SynthPose images (each holds 1-5 people)
    synth_val_images: int = 100
    synth_image_size: tuple[int, int] = (256, 256)
    crowded: bool = False                 # SynthPose crowded scenes (CrowdPose-like)
    synth_clean: bool = False             # SynthPose "clean" variant: one person, few distractors, no occluders
    data_seed: int = 0                    # SynthPose generation seed: kept apart from `seed` so that
    #                                       several training seeds share one data set
    cache_dir: str = ""                   # SynthPose cache ("" = $SIMCC_LAB_CACHE or data/cache/synthpose)
    coco_root: str = ""                   # COCO root ("" = $SIMCC_LAB_COCO); see data/README.md
    val_bbox_file: str = ""               # detector boxes (COCO results JSON) for validation; "" = GT boxes
    input_size: tuple[int, int] = (64, 64)
    flip_prob: float = 0.5                # augmentation (transforms.AugmentConfig)
    scale_factor: float = 0.35
    rotation_factor: float = 45.0
    half_body_prob: float = 0.0
    crop_cache: bool = False              # train from crops rendered once into memory, augmented in batches
    #                                       with torch (data/crops.py): the fast CPU data path
    # --- codec --------------------------------------------------------------------------------------
    codec: str = "simcc"                  # "simcc" or "heatmap"
    k: float = 2.0                        # SimCC bins per input pixel
    smoothing: str = "gaussian"           # SimCC label: "gaussian", "laplace", "equal", "none"
    sigma: float = 2.0                    # SimCC Gaussian sigma / Laplace b, in bins
    eps: float = 0.1                      # SimCC "equal" label smoothing
    centre: str = "continuous"            # SimCC label centre: "continuous" (official) or "rounded" (MMPose)
    stride: int = 4                       # heatmap stride (input pixels per heatmap pixel)
    hm_sigma: float = 2.0                 # heatmap Gaussian sigma, heatmap pixels
    encoding: str = "biased"              # heatmap centre: "biased" (MSRA) or "unbiased" (DARK)
    refinement: str = "none"              # heatmap decoding: "none", "quarter", "dark"
    # --- model --------------------------------------------------------------------------------------
    backbone: str = "compact"             # "compact", "resnet18", "resnet50", "transformer"
    deconvs: int | None = None            # deconvolution layers before the head (None = model default)
    pretrained: bool = False              # ImageNet weights for torchvision backbones (needs them cached)
    # --- schedule -----------------------------------------------------------------------------------
    epochs: int = 20
    batch_size: int = 32                  # per process; global batch = batch_size * world size
    lr: float = 1e-3                      # peak learning rate
    optimizer: str = "adam"               # "adam" (the paper's) or "adamw" (decoupled weight decay)
    schedule: str = "step"                # "step" (x lr_gamma at the milestones, the paper's) or "cosine" (to 0)
    milestones: tuple[float, ...] = PAPER_MILESTONES  # fractions of `epochs` where lr is multiplied by lr_gamma
    lr_gamma: float = 0.1
    warmup_steps: int = 0                 # linear warm-up from lr * 1e-3 over this many optimiser steps
    grad_clip: float = 0.0                # max gradient norm; 0 = no clipping
    weight_decay: float = 0.0
    max_steps_per_epoch: int = 0          # 0 = whole epochs; > 0 cuts epochs short (quick runs, tests)
    # --- run ----------------------------------------------------------------------------------------
    seed: int = 0
    deterministic: bool = False           # deterministic CUDA kernels (docs/training.md)
    workers: int = 2                      # DataLoader worker processes
    threads: int = 0                      # CPU threads for PyTorch ops (torch.set_num_threads); 0 = its default.
    #                                       1 is fastest on small, shared CPUs (no OpenMP barrier stalls)
    device: str = "auto"                  # "auto" (cuda, then mps, then cpu), or "cpu", "cuda", "cuda:1", "mps"
    amp: str = "auto"                     # "auto" (bf16 if the GPU has it, else fp16; CUDA only), "bf16", "fp16", "off"
    channels_last: bool = False
    flip_test: bool = True                # average with the flipped image's output at evaluation
    eval_every: int = 1                   # evaluate every N epochs (the last epoch always); 0 = last only
    eval_epochs: tuple[float, ...] = ()   # also evaluate after these epochs, every heatmap decoding (learning
    #                                       curves: history records AP_<variant>, pixel_error_<variant>)
    out_dir: str = "runs/train"
    tensorboard: bool = False
    progress: bool = True                 # tqdm progress bars
    resume: bool | str = False            # True: continue from out_dir/last.pt if there; a path: from it
    overwrite: bool = False               # replace a run already in out_dir (else training there refuses)

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, allowed: str) -> None:
            if not ok:  # the field and its flag: the same message serves Python and the command line
                raise ValueError(f"TrainConfig.{name} (--{name.replace('_', '-')}) must be {allowed}, "
                                 f"got {getattr(self, name)!r}")

        def number(v) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

        # Finite numbers first: inf and nan pass every comparison below the wrong way (nan > 0 is False, but
        # inf > 0 is True), and a nan rotation trains on blank crops without a word.
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.type in ("float", "int", float, int) and not number(v):
                need(False, f.name, "a finite number")
            if f.type in ("int", int) and number(v):  # 2.5 epochs would train 2 and report 2.5
                need(float(v).is_integer(), f.name, "a whole number")
                object.__setattr__(self, f.name, int(v))  # 3.0 from Python: an int from here on
            if f.name in ("milestones", "eval_epochs", "input_size", "synth_image_size"):
                need(isinstance(v, tuple) and all(number(x) for x in v), f.name, "finite numbers")

        need(self.dataset in DATASETS, "dataset", f"one of {DATASETS}")
        need(self.codec in CODECS, "codec", f"one of {CODECS}")
        need(self.amp in AMP_MODES, "amp", f"one of {AMP_MODES}")
        need(self.refinement in REFINEMENTS, "refinement", f"one of {REFINEMENTS}")
        need(self.encoding in ("biased", "unbiased"), "encoding", "'biased' or 'unbiased'")
        need(self.centre in ("continuous", "rounded"), "centre", "'continuous' or 'rounded'")
        need(self.optimizer in OPTIMIZERS, "optimizer", f"one of {OPTIMIZERS}")
        need(self.schedule in SCHEDULES, "schedule", f"one of {SCHEDULES}")
        need(not (self.crowded and self.synth_clean), "synth_clean", "False when crowded is True")
        need(all(e >= 1 and float(e).is_integer() for e in self.eval_epochs), "eval_epochs", "whole epochs >= 1")
        need(len(self.input_size) == 2 and min(self.input_size) > 0, "input_size", "a positive (W, H) pair")
        for name in ("input_size", "synth_image_size"):
            need(len(getattr(self, name)) == 2 and 0 < min(getattr(self, name))
                 and max(getattr(self, name)) <= MAX_INPUT_SIDE, name, f"a (W, H) pair of 1..{MAX_INPUT_SIDE} px")
        need(all(e <= self.epochs for e in self.eval_epochs), "eval_epochs", f"epochs in 1..epochs ({self.epochs}): later ones never come")
        need(isinstance(self.device, str) and DEVICE_PATTERN.fullmatch(self.device) is not None, "device",
             "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
        for name in ("flip_prob", "half_body_prob"):
            need(0 <= getattr(self, name) <= 1, name, "a probability in [0, 1]")
        need(0 <= self.scale_factor < 1, "scale_factor", "in [0, 1)")
        need(self.rotation_factor >= 0, "rotation_factor", ">= 0 (degrees)")
        for name in ("sigma", "hm_sigma"):
            need(getattr(self, name) > 0, name, "> 0")
        need(0 <= self.eps < 1, "eps", "in [0, 1)")
        need(not (self.resume is not False and self.resume not in ("", "false") and self.overwrite),
             "overwrite", "False with resume (continue the run, or replace it: not both)")
        for name in ("synth_train_images", "synth_val_images", "epochs", "batch_size", "stride"):
            need(getattr(self, name) >= 1, name, ">= 1")
        for name in ("warmup_steps", "max_steps_per_epoch", "workers", "threads", "eval_every", "seed", "data_seed"):
            need(getattr(self, name) >= 0, name, ">= 0")
        for name in ("grad_clip", "weight_decay"):
            need(getattr(self, name) >= 0, name, ">= 0")
        need(self.lr > 0, "lr", "> 0")
        need(self.k > 0, "k", "> 0")
        need(0 < self.lr_gamma <= 1, "lr_gamma", "in (0, 1]")
        need(all(0 < m <= 1 for m in self.milestones), "milestones", "fractions of the epochs in (0, 1]")

    @property
    def milestone_epochs(self) -> tuple[int, ...]:
        """The milestones as epoch numbers: the paper's 90/140 and 120/140 scaled to ``epochs``."""
        return tuple(sorted(max(1, round(m * self.epochs)) for m in self.milestones))

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some fields changed (unknown names raise a ValueError naming them)."""
        _check_names(changes)
        return dataclasses.replace(self, **_coerce(changes))


# Fields that say where and how fast a run goes, not what it trains or how it is scored.
RUN_FIELDS = frozenset({"resume", "overwrite", "out_dir", "workers", "threads", "device", "progress", "tensorboard",
                        "eval_every", "eval_epochs", "cache_dir", "coco_root", "amp", "channels_last"})
# Fields that may change between a run and its resumption without changing what is trained: where and
# how fast it runs (RUN_FIELDS) and how it is evaluated.
RESUME_FIELDS = RUN_FIELDS | {"flip_test", "refinement"}
# Fields an evaluation of a trained model may change (the rest describe the trained model).
EVAL_FIELDS = ("flip_test", "refinement", "device", "batch_size", "workers", "threads", "amp", "channels_last",
               "val_bbox_file", "coco_root", "cache_dir", "progress")


# The recipe of the reproduction's CPU modes (simcc_lab.reproduce.grid) and of the synth-*-64 presets: the clean
# SynthPose variant (one person per image), crops rendered once and augmented in batches (data/crops.py),
# AdamW with a cosine schedule, light augmentation, flip test, one torch thread and no loader process, bf16
# autocast + channels-last where the CPU has bf16 instructions (~2x the images/s, benchmarks/bench_train.py).
# 2,500 images x 32 epochs = 80,000 samples; results in reports/REPORT.md and docs/training.md.
QUICK_RECIPE: dict[str, Any] = dict(
    dataset="synthpose", synth_clean=True, synth_train_images=2500, synth_val_images=200, crop_cache=True,
    optimizer="adamw", weight_decay=1e-4, schedule="cosine", lr=2e-3, warmup_steps=100, epochs=32, batch_size=32,
    rotation_factor=15.0, scale_factor=0.25, half_body_prob=0.0, sigma=3.0, hm_sigma=1.5, flip_test=True,
    workers=0, threads=1, amp="bf16" if cpu_has_bf16() else "off", channels_last=True)

# Presets: overrides on top of the TrainConfig defaults.
PRESETS: dict[str, dict[str, Any]] = {
    # The quick reproduction's 64x64 runs (one seed): ~5 min (SimCC) and ~6 min (heatmap) on one core of the
    # project's machine; evaluated every 4 epochs.
    "synth-simcc-64": dict(QUICK_RECIPE, codec="simcc", k=2.0, smoothing="gaussian", input_size=(64, 64),
                           eval_every=4),
    "synth-heatmap-64": dict(QUICK_RECIPE, codec="heatmap", stride=4, encoding="unbiased", refinement="dark",
                             input_size=(64, 64), eval_every=4),
    # Seconds: for tests and smoke checks.
    "synth-simcc-64-tiny": dict(codec="simcc", input_size=(64, 64), synth_train_images=8, synth_val_images=4,
                                epochs=2, batch_size=8, max_steps_per_epoch=2, workers=0, threads=1,
                                progress=False, flip_test=False),
    "synth-heatmap-64-tiny": dict(codec="heatmap", input_size=(64, 64), synth_train_images=8, synth_val_images=4,
                                  epochs=2, batch_size=8, max_steps_per_epoch=2, workers=0, threads=1,
                                  progress=False, flip_test=False),
    # The paper's recipe on real COCO (GPU): SimpleBaseline ResNet-50 at 256x192, Adam 1e-3, lr x0.1 at
    # epochs 90 and 120 of 140, 32 images per GPU, flip, rotation 45, scale 0.35, half-body 0.3, flip test.
    # SimBa-SimCC keeps SimpleBaseline's 3 deconvolutions (the paper's equal GFLOPs, 8.9 vs 9.0, and its
    # +2.8M parameters are the linear heads on the 48x64 map).
    "coco-res50-simcc-256x192": dict(dataset="coco", codec="simcc", k=2.0, smoothing="gaussian", sigma=6.0,
                                     input_size=(192, 256), backbone="resnet50", pretrained=True, deconvs=3,
                                     epochs=140, batch_size=32, lr=1e-3, milestones=PAPER_MILESTONES,
                                     warmup_steps=500, half_body_prob=0.3, workers=8, amp="auto",
                                     channels_last=True, eval_every=10),
    "coco-res50-heatmap-256x192": dict(dataset="coco", codec="heatmap", stride=4, hm_sigma=2.0, encoding="biased",
                                       refinement="quarter", input_size=(192, 256), backbone="resnet50",
                                       pretrained=True, deconvs=3, epochs=140, batch_size=32, lr=1e-3,
                                       milestones=PAPER_MILESTONES, warmup_steps=500, half_body_prob=0.3,
                                       workers=8, amp="auto", channels_last=True, eval_every=10),
}


def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


def _check_names(values: dict) -> None:
    unknown = sorted(set(values) - {f.name for f in fields(TrainConfig)})
    if unknown:
        raise ValueError(f"unknown TrainConfig field(s) {unknown}; known: {[f.name for f in fields(TrainConfig)]}")


def _coerce(values: dict) -> dict:
    """Lists (from JSON or a checkpoint) back to the tuples the dataclass declares."""
    types_ = _field_types()
    out = {}
    for name, v in values.items():
        if isinstance(v, list) and typing.get_origin(types_[name]) is tuple:
            v = tuple(v)
        out[name] = v
    return out


def config_from_preset(name: str | None = None, **overrides) -> TrainConfig:
    """The named preset (None: the defaults) with ``overrides``; ``out_dir`` defaults to ``runs/<name>``.

    Raises ValueError naming the unknown preset or field.
    """
    if name is not None and name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {sorted(PRESETS)}")
    _check_names(overrides)
    values = dict(PRESETS[name]) if name else {}
    if name:
        values["out_dir"] = f"runs/{name}"
    values.update(overrides)
    return TrainConfig(**_coerce(values))


def config_to_dict(cfg: TrainConfig) -> dict[str, Any]:
    """Plain types only (tuples become lists), safe for JSON and ``torch.load(weights_only=True)``."""
    return {f.name: (list(v) if isinstance(v := getattr(cfg, f.name), tuple) else v) for f in fields(cfg)}


def config_from_dict(values: dict[str, Any]) -> TrainConfig:
    """Inverse of :func:`config_to_dict`. Fields missing from ``values`` take today's defaults; unknown
    keys (a checkpoint from a newer version) raise."""
    _check_names(values)
    return TrainConfig(**_coerce(values))


def codec_for(cfg: TrainConfig, refinement: str | None = None):
    """The codec the config describes, from :func:`simcc_lab.codecs.build_codec` (``refinement`` overrides
    the heatmap decoding)."""
    if cfg.codec == "simcc":
        return build_codec("simcc", tuple(cfg.input_size), k=cfg.k, smoothing=cfg.smoothing, sigma=cfg.sigma,
                           eps=cfg.eps, centre=cfg.centre)
    return build_codec("heatmap", tuple(cfg.input_size), stride=cfg.stride, sigma=cfg.hm_sigma,
                       encoding=cfg.encoding, refinement=refinement or cfg.refinement)


def build_augment(cfg: TrainConfig):
    """The training augmentation (transforms.AugmentConfig) from the config's fields."""
    return AugmentConfig(flip_prob=cfg.flip_prob, scale_factor=cfg.scale_factor,
                         rotation_factor=cfg.rotation_factor, half_body_prob=cfg.half_body_prob)


# ---------------------------------------------------------------------------------------------------
# Command-line flags
# ---------------------------------------------------------------------------------------------------
def parse_bool(text: str) -> bool:
    """``true/false``, ``yes/no``, ``1/0``, ``on/off`` -> bool (an argparse type)."""
    t = str(text).strip().lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _parse_floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _optional(parse):
    def parse_or_none(text: str):
        return None if text.strip().lower() in ("none", "") else parse(text)
    return parse_or_none


def _flag_kwargs(name: str, tp) -> dict[str, Any]:
    """argparse keyword arguments for a field of type ``tp``."""
    args = typing.get_args(tp)
    if tp is bool:
        # `--flip-test` alone means true; `--flip-test false` turns it off.
        return dict(type=parse_bool, nargs="?", const=True, metavar="BOOL")
    if name == "resume":  # bool | str: `--resume` (True) or `--resume PATH`
        return dict(nargs="?", const=True, metavar="PATH")
    if tp in (int, float, str):
        return dict(type=tp, metavar=tp.__name__.upper())
    if typing.get_origin(tp) is tuple and args == (int, int):
        return dict(type=parse_size, metavar="WxH")
    if typing.get_origin(tp) is tuple:
        return dict(type=_parse_floats, metavar="A,B,...")
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        inner = next(a for a in args if a is not type(None))
        return dict(type=_optional(inner), metavar=f"{inner.__name__.upper()}|none")
    raise TypeError(f"no command-line parser for field {name!r} of type {tp!r}")


def add_config_arguments(parser: argparse.ArgumentParser, only: tuple[str, ...] | None = None) -> None:
    """Add ``--field-name VALUE`` for every TrainConfig field (or those in ``only``).

    Flags default to "not given" (argparse.SUPPRESS), so only the flags typed override a preset.
    """
    defaults = TrainConfig()
    group = parser.add_argument_group("config fields (override the preset)")
    for name, tp in _field_types().items():
        if only is not None and name not in only:
            continue
        default = getattr(defaults, name)
        shown = "x".join(map(str, default)) if name.endswith("_size") and isinstance(default, tuple) else default
        group.add_argument("--" + name.replace("_", "-"), dest=name, default=argparse.SUPPRESS,
                           help=f"(default {shown})", **_flag_kwargs(name, tp))


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The TrainConfig fields given on the command line."""
    names = {f.name for f in fields(TrainConfig)}
    return {k: v for k, v in vars(args).items() if k in names}
