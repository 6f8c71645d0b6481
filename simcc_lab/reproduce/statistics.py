"""The statistics behind the verdicts: cells (mean and sample std over seeds) and paired comparisons of
trained models over seeds and val people.

Two sides, each a list of (run, variant) members (one member for "SimCC vs heatmap + DARK"; several for a
pooled comparison such as "all smooth-label SimCC runs vs all heatmap decoders"). For every seed both
sides have, the per-seed difference of COCO AP tells whether the seeds agree in sign. The interval is a
95 % percentile bootstrap over the val people (the same people are scored by both sides, so the
difference is paired): each person's OKS (the per-person quantity AP thresholds) and summed pixel error
are averaged over the side's members and seeds, and people are resampled with replacement.

Result files come from :func:`simcc_lab.reproduce.runner.train_and_evaluate` (``metrics`` and ``per_person``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .results import index

__all__ = ["Cell", "cell", "Paired", "paired_difference", "BOOTSTRAP_SAMPLES", "STD_DDOF"]

BOOTSTRAP_SAMPLES = 10_000  # resamples of the val people per interval
STD_DDOF = 1  # the std over seeds is the sample std (n - 1 in the denominator)
Member = tuple[str, str]  # (run name, variant)


@dataclass(frozen=True)
class Cell:
    """One table cell of ours: mean and std over seeds, in AP points (x100) or px, and how many seeds."""

    mean: float
    std: float
    n: int

    def __str__(self) -> str:
        if self.n == 0:
            return "n/a"
        return f"{self.mean:.1f}" if self.n == 1 else f"{self.mean:.1f} +- {self.std:.1f}"


def cell(results: dict[str, dict], run: str, variant: str, metric: str = "AP") -> Cell:
    """Aggregate ``metric`` of ``run``/``variant`` over seeds (AP-like metrics scaled to points)."""
    vals = [r["metrics"][variant][metric] for _, r in sorted(index(results).of(run).items())
            if metric in r.get("metrics", {}).get(variant, {})]
    vals = [v * 100 if metric.startswith("A") else v for v in vals if v is not None and math.isfinite(v)]
    if not vals:
        return Cell(float("nan"), float("nan"), 0)
    return Cell(float(np.mean(vals)), float(np.std(vals, ddof=STD_DDOF)) if len(vals) > 1 else 0.0, len(vals))


@dataclass(frozen=True)
class Paired:
    """A - B over seeds and people. AP and OKS in points (x 100), errors in input px.

    ``ap_per_seed``: A - B per common seed; ``oks`` / ``px``: (mean, low, high) of the bootstrap over
    people (the 95 % interval); ``people``: how many val people both sides scored.
    """

    seeds: tuple[int, ...]
    ap_per_seed: tuple[float, ...]
    oks: tuple[float, float, float]
    px: tuple[float, float, float]
    people: int
    px_per_seed: tuple[float, ...] = ()  # A - B mean pixel error per common seed (input px)

    @property
    def ap(self) -> float:
        """Mean AP difference over the common seeds (points)."""
        return float(np.mean(self.ap_per_seed)) if self.ap_per_seed else float("nan")

    @property
    def seeds_agree(self) -> bool:
        """Every seed's AP difference has the sign of the mean (trivially true for one seed)."""
        return bool(self.ap_per_seed) and all(np.sign(d) == np.sign(self.ap) != 0 for d in self.ap_per_seed)

    @property
    def seeds_agree_on_error(self) -> bool:
        """Every seed's pixel-error difference has the sign of the bootstrap mean (for claims about error)."""
        sign = np.sign(self.px[0])
        return bool(self.px_per_seed) and sign != 0 and all(np.sign(d) == sign for d in self.px_per_seed)

    @property
    def interval_excludes_zero(self) -> bool:
        """The OKS interval lies on one side of 0, the side of the mean AP difference."""
        _, lo, hi = self.oks
        return (lo > 0 and self.ap > 0) or (hi < 0 and self.ap < 0)

    @property
    def counts(self) -> bool:
        """The difference counts: its interval excludes 0 and the seeds agree in sign."""
        return self.interval_excludes_zero and self.seeds_agree

    def __str__(self) -> str:
        per = ", ".join(f"{d:+.1f}" for d in self.ap_per_seed)
        return (f"dAP {self.ap:+.1f} (seeds: {per}); dOKS x100 {self.oks[0]:+.1f} [{self.oks[1]:+.1f}, "
                f"{self.oks[2]:+.1f}]; d error {self.px[0]:+.2f} px [{self.px[1]:+.2f}, {self.px[2]:+.2f}] "
                f"(95 % bootstrap over {self.people} val people)")


def _by_seed(results: dict[str, dict], member: Member) -> dict[int, dict]:
    run, variant = member
    return {s: r for s, r in index(results).of(run).items() if variant in r.get("metrics", {})}


def _side(results: dict[str, dict], members: list[Member], seeds):
    """Per seed: the side's mean AP (points) and mean pixel error; per person (ann_id): summed OKS, error,
    count, n."""
    ap, px, people = {}, {}, {}
    for seed in seeds:
        vals, errs = [], []
        for m in members:
            r = _by_seed(results, m)[seed]
            vals.append(100.0 * r["metrics"][m[1]]["AP"])
            errs.append(r["metrics"][m[1]].get("pixel_error", float("nan")))
            pp = (r.get("per_person") or {}).get(m[1])
            if not pp:
                continue
            for aid, oks, err, cnt in zip(pp["ann_id"], pp["oks"], pp["err_sum"], pp["count"]):
                if oks is None or not np.isfinite(oks):
                    continue
                p = people.setdefault(aid, [0.0, 0.0, 0.0, 0])
                p[0] += oks
                p[1] += err
                p[2] += cnt
                p[3] += 1
        ap[seed], px[seed] = float(np.mean(vals)), float(np.mean(errs))
    return ap, px, people


def paired_difference(results: dict[str, dict], a: list[Member], b: list[Member],
                      samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> Paired | None:
    """A - B (see the module docstring); None when the sides share no seed."""
    common = set.intersection(*(set(_by_seed(results, m)) for m in a + b))
    if not common:
        return None
    seeds = tuple(sorted(common))
    ap_a, px_a, pa = _side(results, a, seeds)
    ap_b, px_b, pb = _side(results, b, seeds)
    ids = sorted(set(pa) & set(pb))
    if ids:
        A, B = np.array([pa[i] for i in ids]), np.array([pb[i] for i in ids])
        oks_d = 100.0 * (A[:, 0] / A[:, 3] - B[:, 0] / B[:, 3])  # each person's mean OKS over members x seeds
        err_d = A[:, 1] / A[:, 3] - B[:, 1] / B[:, 3]             # summed px error per person, same averaging
        cnt = A[:, 2] / A[:, 3]
        idx = np.random.default_rng(seed).integers(0, len(ids), (samples, len(ids)))
        boot_oks = oks_d[idx].mean(1)
        boot_px = err_d[idx].sum(1) / cnt[idx].sum(1)  # mean error per labelled keypoint, as pixel_error
        oks = (float(oks_d.mean()), *map(float, np.percentile(boot_oks, [2.5, 97.5])))
        px = (float(err_d.sum() / cnt.sum()), *map(float, np.percentile(boot_px, [2.5, 97.5])))
    else:
        oks = px = (float("nan"),) * 3
    return Paired(seeds, tuple(ap_a[s] - ap_b[s] for s in seeds), oks, px, len(ids),
                  tuple(px_a[s] - px_b[s] for s in seeds))
