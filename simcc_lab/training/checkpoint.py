"""Run files: checkpoints that resume a run exactly and load safely, and the per-epoch history.

A checkpoint is a dict of tensors and plain Python values only (no pickled classes), so it is read with
``torch.load(weights_only=True)``: opening a checkpoint from elsewhere cannot run code. The config is
stored as a plain dict (:func:`simcc_lab.training.config.config_to_dict`); random-number states are stored as
tensors and lists (numpy's state is a tuple holding an ndarray, which ``weights_only`` refuses).

Contents: ``model``, ``optimizer``, ``scheduler``, ``scaler`` state dicts; ``epoch`` (epochs finished),
``global_step``, ``best_ap``, ``history`` (list of per-epoch dicts), ``rng`` and ``config``.
"""
from __future__ import annotations

import csv
import random
import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..files import atomic_write, torch_save, write_json, write_text

__all__ = ["save_checkpoint", "load_checkpoint", "get_rng_state", "set_rng_state", "write_history", "copy_file",
           "FORMAT_VERSION"]

FORMAT_VERSION = 1


def get_rng_state() -> dict[str, Any]:
    """The global generators of torch, numpy, Python and CUDA (if any), as plain types and tensors."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = dict(torch=torch.get_rng_state(),
                 numpy=dict(kind=kind, keys=torch.from_numpy(keys.astype(np.int64)), pos=int(pos),
                            has_gauss=int(has_gauss), cached=float(cached)),
                 python=dict(version=version, internal=list(internal), gauss_next=gauss_next))
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


def save_checkpoint(path, **contents) -> Path:
    """Write ``contents`` (plus the format version) whole to ``path``."""
    return torch_save(dict(contents, format_version=FORMAT_VERSION), path)


def load_checkpoint(path, map_location="cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``.

    Raises FileNotFoundError for a missing file and ValueError for a file that is not a simcc_lab
    checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # unpickling errors come in several types; name the file in every case
        first = (str(err).strip().splitlines() or [""])[0]  # torch's advice runs over many lines
        raise ValueError(f"{path}: not a loadable checkpoint ({type(err).__name__}: {first})") from err
    if not isinstance(ckpt, dict) or "model" not in ckpt or "config" not in ckpt:
        raise ValueError(f"{path}: not a simcc_lab checkpoint (no 'model' and 'config' entries)")
    return ckpt


def write_history(out_dir, history: list[dict]) -> None:
    """``history.json`` and ``history.csv`` (one row per epoch; columns in order of first appearance), whole."""
    out_dir = Path(out_dir)
    write_json(out_dir / "history.json", history)
    columns = list(dict.fromkeys(k for rec in history for k in rec))
    buf = StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_text(out_dir / "history.csv", buf.getvalue())


def copy_file(src, dst) -> None:
    """Copy ``src`` to ``dst`` whole (``best.pt`` from ``last.pt``)."""
    with open(src, "rb") as f:
        atomic_write(dst, lambda out: shutil.copyfileobj(f, out))


def export_model(src, dst, half: bool = True, **extra) -> Path:
    """A small, inference-only copy of checkpoint ``src``: the model's weights (float16 when ``half``: a
    1.5 M-parameter model in 3 MB) and its config, plus ``extra`` (e.g. metrics). ``simcc-lab eval`` and
    :func:`simcc_lab.training.engine.evaluate` load it like any checkpoint (weights are cast back on loading)."""
    ckpt = load_checkpoint(src)
    model = {k: (v.half() if half and v.is_floating_point() else v) for k, v in ckpt["model"].items()}
    return save_checkpoint(dst, model=model, config=ckpt["config"], epoch=ckpt.get("epoch"),
                           history=ckpt.get("history", []), **extra)
