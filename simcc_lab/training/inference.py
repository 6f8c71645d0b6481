"""Inference: the one prediction path (with the flip test) and the metrics of its predictions.

``model outputs -> (flip test: average with the flipped image's outputs mapped back) -> codec.decode``.
:func:`predict_images` runs it on a batch of images, :func:`predict` over a whole data loader (the
engine's evaluation); :func:`compute_metrics` scores :func:`predict`'s output with COCOeval and pixel
errors.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..evaluation import cocoeval as E
from ..evaluation.oks import person_oks

__all__ = ["model_outputs", "average_flip", "decode_outputs", "predict_images", "predict", "compute_metrics",
           "batch_to_device", "AVERAGES"]

AVERAGES = ("logits", "probs")  # how the flip test averages SimCC outputs (heatmaps: always as maps)


def model_outputs(model, images: torch.Tensor, codec, flip_index=None, amp_dtype=None,
                  flip_shift: bool = True) -> tuple[tuple, tuple | None]:
    """``(outputs, flipped)`` float32 for images (B, 3, H, W): the model's output tuple, and with
    ``flip_index`` (K,) the flipped batch's outputs mapped back by ``codec.flip_outputs(..., shift=flip_shift)``
    (else None). ``amp_dtype``: run the model under autocast in that dtype."""
    with torch.autocast(images.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        outputs = model(images)
        flipped = None
        if flip_index is not None:
            flipped = codec.flip_outputs(tuple(model(images.flip(-1))), flip_index, shift=flip_shift)
    return tuple(o.float() for o in outputs), None if flipped is None else tuple(f.float() for f in flipped)


def average_flip(outputs: tuple, flipped: tuple | None, codec, average: str = "logits") -> tuple[tuple, bool]:
    """``(outputs to decode, from_logits)``: the plain outputs, or their mean with the flipped ones.

    ``average``: "logits" (default; the official SimCC code averages logits, i.e. a normalised geometric
    mean of the two probability vectors) or "probs" (the arithmetic mean of the softmax outputs; SimCC
    only). Heatmaps are always averaged as maps."""
    if average not in AVERAGES:
        raise ValueError(f"average must be 'logits' or 'probs', got {average!r}")
    if flipped is None:
        return outputs, True
    if average == "probs" and codec.kind == "simcc":
        return tuple((o.softmax(-1) + f.softmax(-1)) / 2 for o, f in zip(outputs, flipped)), False
    return tuple((o + f) / 2 for o, f in zip(outputs, flipped)), True


def decode_outputs(codec, outputs: tuple, from_logits: bool = True):
    """``codec.decode(*outputs)``; SimCC is told whether these are logits (model outputs are), rather than
    left to guess from the values (logits that happen to lie in [0, 1] are not probabilities)."""
    if getattr(codec, "kind", None) == "simcc":
        return codec.decode(*outputs, from_logits=from_logits)
    return codec.decode(*outputs)


@torch.no_grad()
def predict_images(model, images: torch.Tensor, codec, flip_index=None, flip_shift: bool = True,
                   average: str = "logits") -> tuple[torch.Tensor, torch.Tensor]:
    """Decoded keypoints (B, K, 2) in input pixels and scores (B, K) for images (B, 3, H, W).

    Runs in eval mode (the previous mode is restored). Flip test when ``flip_index`` (K,) (or a
    SkeletonSpec) is given: the horizontally flipped batch goes through the model, its outputs are
    mapped back with ``codec.flip_outputs(..., shift=flip_shift)`` and averaged with the plain ones
    (``average``: see :func:`average_flip`).
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be 'logits' or 'probs', got {average!r}")
    flip_index = getattr(flip_index, "flip_index", flip_index)
    was_training = model.training
    model.eval()
    try:
        outputs, flipped = model_outputs(model, images, codec, flip_index, flip_shift=flip_shift)
        kpts, scores = decode_outputs(codec, *average_flip(outputs, flipped, codec, average))
        return torch.as_tensor(kpts), torch.as_tensor(scores)
    finally:
        model.train(was_training)


def batch_to_device(batch: dict, device: torch.device, channels_last: bool):
    """``(images, targets tuple, weights)`` of a data set batch on ``device``."""
    images = batch["image"].to(device, non_blocking=True)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    targets = tuple(t.to(device, non_blocking=True) for t in batch["targets"])
    return images, targets, batch["weights"].to(device, non_blocking=True)


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
    model.eval()
    decoders = dict({"": codec}, **(also or {}))
    decoded = {name: ([], []) for name in decoders}
    metas, losses = [], []
    for batch in tqdm(loader, desc="eval", leave=False, disable=not progress):
        images, targets, weights = batch_to_device(batch, device, channels_last)
        outputs, flipped = model_outputs(model, images, codec, flip_index, amp_dtype)
        if loss_fn is not None and targets:
            losses.append(float(loss_fn(outputs, targets, weights)))
        outputs, from_logits = average_flip(outputs, flipped, codec)
        for name, c in decoders.items():
            k, s = decode_outputs(c, outputs, from_logits)
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
                oks=person_oks(kpts_img, true_img, np.asarray(meta["area"], np.float64), gt.spec.sigmas).tolist())
    return out
