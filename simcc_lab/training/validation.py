"""Validation: one forward pass over the val set, decoded by every decoding the codec offers.

:func:`validate` is what the training loop runs after an epoch and what :func:`evaluate` runs on a
checkpoint; :func:`epoch_record` turns its answer into the fields of one history record.
"""
from __future__ import annotations

from pathlib import Path

import torch

from . import distributed as D
from .checkpoint import load_checkpoint
from .config import EVAL_FIELDS, TrainConfig, codec_for, config_from_dict
from .distributed import resolve_amp, select_device
from .inference import compute_metrics, predict
from .parts import Parts, build_model_for, build_parts, make_loader, place_model

__all__ = ["validate", "epoch_record", "decodings_of", "evaluate", "load_model", "CURVE_KEYS"]

CURVE_KEYS = ("AP", "pixel_error")  # per-decoding fields of a learning-curve record (AP_<decoding>, ...)


def decodings_of(codec) -> tuple[str, tuple[str, ...]]:
    """``(own, all)``: the decoding ``codec.decode`` applies and every decoding it offers (own first). A
    stand-in codec without :meth:`decodings` has one, "default"."""
    own = getattr(codec, "decoding", "default")
    offered = tuple(codec.decodings()) if hasattr(codec, "decodings") else (own,)
    return own, (own,) + tuple(d for d in offered if d != own)


def validate(parts: Parts, cfg: TrainConfig, device, every_decoding: bool = False, out_json=None,
             per_person: bool = False) -> dict[str, dict]:
    """``{decoding: metrics}`` of ``parts.model`` on ``parts.val_set`` from one forward pass: the codec's own
    decoding (with the val loss when ``parts.loss_fn``), and with ``every_decoding`` each other one the
    codec offers (heatmaps: none / quarter / DARK), decoded from the same outputs. ``per_person``: each
    decoding's metrics also hold per-person data (see :func:`~.inference.compute_metrics`)."""
    model, val_set, codec = parts.model, parts.val_set, parts.codec
    flip_index = None
    if cfg.flip_test:
        spec = getattr(val_set, "spec", None)
        if spec is None:
            raise ValueError("flip_test needs a data set with a skeleton spec (for the left/right swap)")
        flip_index = spec.flip_index
    own, names = decodings_of(codec)
    also = {d: codec.with_decoding(d) for d in names[1:]} if every_decoding else {}
    loader = make_loader(val_set, cfg.batch_size, cfg.workers, device)
    pred = predict(model, loader, codec, device, flip_index, resolve_amp(cfg.amp, device), cfg.channels_last,
                   parts.loss_fn, progress=cfg.progress, also=also)
    out = {own: compute_metrics(pred, val_set, cfg.input_size, out_json, per_person)}
    for d, (k, s) in pred["also"].items():
        out[d] = compute_metrics(dict(pred, kpts_input=k, scores=s, loss=None), val_set, cfg.input_size,
                                 per_person=per_person)
    return out


def epoch_record(by_decoding: dict[str, dict], curve: bool) -> dict:
    """History fields from :func:`validate`: the own (first) decoding's metrics, and for a learning-curve
    point (``curve``) ``AP_<decoding>`` and ``pixel_error_<decoding>`` of every decoding (own included)."""
    own = next(iter(by_decoding))
    out = {k: v for k, v in by_decoding[own].items() if k != "per_person"}
    if curve:
        for d, m in by_decoding.items():
            out.update({f"{k}_{d}": m[k] for k in CURVE_KEYS if k in m})
    return out


def evaluate(source: TrainConfig | str | Path, *, model: torch.nn.Module | None = None, val_set=None,
             codec=None, out_json=None, per_person: bool = False, **overrides) -> dict[str, float]:
    """Evaluate a trained model on its validation set: COCO AP/AR and mean pixel errors.

    Args:
        source: a checkpoint path (model and config from it; loaded with ``weights_only=True``), or a
            TrainConfig (with ``model`` given, or the weights from ``cfg.out_dir/last.pt``).
        model, val_set, codec: stand-ins for what the config would build.
        out_json: where to write the COCO results file.
        per_person: add per-person errors and OKS (see :func:`~.inference.compute_metrics`).
        overrides: TrainConfig fields of :data:`EVAL_FIELDS`, e.g. ``flip_test=True, refinement="dark"``.
    """
    bad = sorted(set(overrides) - set(EVAL_FIELDS))
    if bad:
        raise ValueError(f"evaluate() cannot change {bad}; allowed: {list(EVAL_FIELDS)}")
    if isinstance(source, TrainConfig):
        cfg, state = source, None
    else:
        ckpt = load_checkpoint(source)
        cfg, state = config_from_dict(ckpt["config"]), ckpt["model"]
    if cfg.codec != "heatmap" and overrides.get("refinement", "none") != "none":
        raise ValueError(f"refinement={overrides['refinement']!r} applies to heatmap models; this is a "
                         f"{cfg.codec} model, which has its own decoding (leave --refinement out)")
    if isinstance(source, TrainConfig) and model is None:
        state = load_checkpoint(Path(cfg.out_dir) / "last.pt")["model"]
    cfg = cfg.replace(**overrides)
    with D.cpu_threads(cfg.threads):
        device = select_device(cfg.device)
        parts = build_parts(cfg, D.DistInfo(), device, Parts(model=model, val_set=val_set, codec=codec), train=False)
        if state is not None:
            parts.model.load_state_dict(state)
        place_model(parts.model, cfg, device)
        by = validate(parts, cfg, device, out_json=out_json, per_person=per_person)
    return next(iter(by.values()))


def load_model(checkpoint, device: str = "cpu"):
    """``(model, cfg, codec)`` from a checkpoint (``last.pt``, ``best.pt`` or an exported
    ``reports/models/*.pt``): the model in eval mode with its weights (float32), the TrainConfig it was
    trained with and the codec that decodes its outputs."""
    ckpt = load_checkpoint(checkpoint)
    cfg = config_from_dict(ckpt["config"])
    codec = codec_for(cfg)
    model = build_model_for(cfg, codec, num_keypoints=17)  # both training data sets are COCO-17
    model.load_state_dict(ckpt["model"])  # float16 exports are cast back to the model's float32
    return model.to(select_device(device)).eval(), cfg, codec
