"""The typed result of one training run (:func:`simcc_lab.training.engine.train`), as the reproduction
writes it: final metrics per decoding, per-person data, the codec's own floor, history and compute."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..evaluation.oracle import codec_oracle
from ..models import count_params_flops

@dataclass
class RunResult:
    """One finished run.

    Attributes:
        metrics: ``{decoding: {AP, AP50, AP75, APm, APl, AR, pixel_error (input px), pixel_error_image}}``,
            all decodings of one trained model from one validation pass.
        per_person: ``{decoding: {ann_id, err_sum, count, oks}}`` lists over the val people (paired
            bootstrap intervals, reproduce/statistics).
        oracle: ``{decoding: {AP, pixel_error}}``: the codec alone on the same val people (encode the truth,
            decode it; no network).
        history: one record per epoch (see :func:`~simcc_lab.training.engine.fit`).
        params_m, gflops: parameters (millions) and GMACs for one input; None when not counted.
        environment: where it ran (device, GPU name, torch threads), for the result file's provenance.
    """

    metrics: dict[str, dict[str, float]]
    per_person: dict[str, Any]
    oracle: dict[str, dict[str, float]]
    history: list[dict]
    params_m: float | None = None
    gflops: float | None = None
    compute_error: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def train_images_per_s(self) -> float | None:
        """Median training throughput over the epochs (images/s), None without history."""
        return float(np.median([h["images_per_s"] for h in self.history])) if self.history else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of a result file's run part (the runner adds the run's identity and provenance)."""
        out = {"metrics": self.metrics, "per_person": self.per_person, "oracle": self.oracle,
               "history": self.history, "train_images_per_s": self.train_images_per_s}
        if self.compute_error is None:
            out.update(params_m=self.params_m, gflops=self.gflops)
        else:
            out["compute_error"] = self.compute_error
        return out


def result_of(cfg, device: torch.device, parts, history: list[dict], by_decoding: dict[str, dict]) -> RunResult:
    """The :class:`RunResult` of a finished run: ``by_decoding`` (its last validation pass, every decoding with
    per-person data), the codec's own floor per decoding on the same val people, and the model's compute."""
    metrics, per_person, oracle = {}, {}, {}
    val_file = getattr(getattr(parts.val_set, "gt", None), "ann_file", None)
    for name, m in by_decoding.items():
        per_person[name] = m.get("per_person")
        # the val loss is a property of the outputs, not of a decoding: it stays in the history
        metrics[name] = {k: float(v) for k, v in m.items() if k != "val_loss" and isinstance(v, (int, float))}
        if val_file is not None:  # the codec's own floor on the same val people: encode the truth, decode it
            o = codec_oracle(val_file, parts.codec.with_decoding(name))
            oracle[name] = {"AP": float(o["AP"]), "pixel_error": float(o["mean_err_input_px"])}
    out = RunResult(metrics=metrics, per_person=per_person, oracle=oracle, history=history,
                    environment=dict(device=str(device), torch_threads=torch.get_num_threads(),
                                     gpu=torch.cuda.get_device_name(device) if device.type == "cuda" else None))
    try:  # compute figures are a nicety of the report; a model the counter cannot trace still has its AP
        c = count_params_flops(parts.model, cfg.input_size)
        out.params_m, out.gflops = c["params"]["total"] / 1e6, c["gflops"]["total"]
    except Exception as err:  # noqa: BLE001 - reported, not hidden
        out.compute_error = f"{type(err).__name__}: {err}"
    return out
