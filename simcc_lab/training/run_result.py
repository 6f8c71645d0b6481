"""The typed result of one training run (:func:`simcc_lab.training.engine.train`), as the reproduction
writes it: final metrics per decoding, per-person data, the codec's own floor, history and compute."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
