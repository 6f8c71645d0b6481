"""Paired differences over seeds and val people (simcc_lab/reproduce/statistics.py)."""
from __future__ import annotations

import numpy as np
import pytest

from simcc_lab.reproduce.statistics import paired_difference


def result(run, seed, ap, oks, err=None, variant="default"):
    n = len(oks)
    err = err if err is not None else [2.0] * n
    return {"run": run, "seed": seed, "metrics": {variant: {"AP": ap}},
            "per_person": {variant: {"ann_id": list(range(n)), "oks": list(oks), "err_sum": list(err),
                                     "count": [1] * n}}}


def test_a_clear_difference_counts():
    rng = np.random.default_rng(0)
    results = {}
    for s in range(3):
        base = rng.uniform(0.3, 0.7, 100)
        results[f"a{s}"] = result("a", s, 0.50 + 0.01 * s, base + 0.05, err=[1.0] * 100)
        results[f"b{s}"] = result("b", s, 0.40 + 0.01 * s, base, err=[2.0] * 100)
    p = paired_difference(results, [("a", "default")], [("b", "default")])
    assert p.seeds == (0, 1, 2) and p.ap_per_seed == pytest.approx((10.0, 10.0, 10.0))
    assert p.oks == pytest.approx((5.0, 5.0, 5.0))  # the same +5 for every person: a zero-width interval
    assert p.px == pytest.approx((-1.0, -1.0, -1.0))
    assert p.counts and p.people == 100
    reverse = paired_difference(results, [("b", "default")], [("a", "default")])
    assert reverse.counts and reverse.ap < 0


def test_noise_and_disagreeing_seeds_do_not_count():
    rng = np.random.default_rng(1)
    results = {}
    for s, ap_a in enumerate((0.52, 0.48, 0.51)):  # seed 1 flips the sign
        results[f"a{s}"] = result("a", s, ap_a, rng.uniform(0.3, 0.7, 50))
        results[f"b{s}"] = result("b", s, 0.50, rng.uniform(0.3, 0.7, 50))
    p = paired_difference(results, [("a", "default")], [("b", "default")])
    assert not p.seeds_agree and not p.counts
    assert p.oks[1] < 0 < p.oks[2]  # independent noise: the interval straddles 0


def test_pooled_sides_and_missing_seeds():
    results = {"a0": result("a", 0, 0.6, [0.6] * 10), "a1": result("a", 1, 0.6, [0.6] * 10),
               "b0": result("b", 0, 0.4, [0.4] * 10, variant="none"),
               "c0": result("b", 0, 0.2, [0.2] * 10, variant="dark")}
    results["c0"]["metrics"]["dark"] = results["c0"]["metrics"].pop("dark")
    # b's two decodings live in one run's result in practice; here two files, same run and seed
    merged = {"a0": results["a0"], "a1": results["a1"],
              "b0": {"run": "b", "seed": 0, "metrics": {"none": {"AP": 0.4}, "dark": {"AP": 0.2}},
                     "per_person": {**results["b0"]["per_person"], **results["c0"]["per_person"]}}}
    p = paired_difference(merged, [("a", "default")], [("b", "none"), ("b", "dark")])
    assert p.seeds == (0,) and p.ap == pytest.approx(30.0) and p.oks[0] == pytest.approx(30.0)
    assert paired_difference(merged, [("a", "default")], [("zzz", "none")]) is None
