"""The verdict rule family (simcc_lab/reproduce/verdicts.py): for each rule, results built to give each outcome
(reproduces / partly / does not / inconclusive)."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from simcc_lab.reproduce import verdicts as V
from simcc_lab.reproduce.grid import Experiment, Row
from simcc_lab.reproduce.report import verdicts

PEOPLE = 60


def result(run: str, seed: int, decodings: dict[str, float], noise: float = 0.01, errors=(3.0, 2.0), floor=0.1,
           people=PEOPLE) -> dict:
    """A result file: each decoding's AP (fraction); per-person OKS = AP + per-person noise (``noise`` sd, drawn
    per run and seed); a two-point learning curve of
    pixel errors ``errors`` (the second at twice the samples) and the codec floor ``floor`` px."""
    rng = np.random.default_rng([seed, zlib.crc32(run.encode())])  # each run and seed its own people noise
    wobble = rng.normal(0, noise, people) if noise else np.zeros(people)
    out = {"run": run, "seed": seed, "metrics": {}, "per_person": {}, "oracle": {}, "history": []}
    for d, ap in decodings.items():
        out["metrics"][d] = {"AP": ap, "pixel_error": errors[-1]}
        if people:
            out["per_person"][d] = {"ann_id": list(range(people)), "oks": list(ap + wobble),
                                    "err_sum": [17 * errors[-1]] * people, "count": [17] * people}
        out["oracle"][d] = {"AP": 1.0, "pixel_error": floor}
    out["history"] = [{"samples_seen": 1000 * 2 ** i, **{f"pixel_error_{d}": e for d in decodings}}
                      for i, e in enumerate(errors)]
    return out


def results_of(*specs, seeds=(0, 1, 2)) -> dict:
    """``specs``: (run, {decoding: AP} or a function seed -> {decoding: AP}, kwargs) -> results by key."""
    out = {}
    for run, aps, kw in specs:
        for s in seeds:
            out[f"{run}-s{s}"] = result(run, s, aps(s) if callable(aps) else aps, **kw)
    return out


def two_rows(rule=V.transformer_rule):
    rows = (Row("heatmap + DARK", "64x64", "hm", "dark", id="heatmap-dark"),
            Row("SimCC", "64x64", "sc", "default", id="simcc-map"))
    return Experiment("transformer", "t", "q", "c", rows, rule)


def word(exp, results, part_contains=""):
    (v,) = [v for p, v, _ in verdicts(exp, results) if part_contains in p]
    return v


@pytest.mark.parametrize("sc_ap, kw, seeds, expected", [
    (0.60, {}, (0, 1, 2), "reproduces"),                       # clearly better on every seed
    (0.505, {"noise": 0.2}, (0, 1, 2), "partly"),              # ahead, but the interval includes 0
    (0.40, {}, (0, 1, 2), "does not"),                         # behind
    (0.05, {}, (0, 1, 2), "inconclusive"),                     # SimCC below the AP floor: did not learn
    (0.60, {}, (0,), "inconclusive"),                          # one seed
    (0.60, {"people": 0}, (0, 1, 2), "inconclusive"),          # no per-person data
])
def test_pairwise_rule_gives_each_outcome(sc_ap, kw, seeds, expected):
    res = results_of(("hm", {"dark": 0.50}, kw), ("sc", {"default": sc_ap}, kw), seeds=seeds)
    assert word(two_rows(), res) == expected


def test_per_seed_disagreement_does_not_count():
    aps = {0: 0.56, 1: 0.57, 2: 0.45}  # mean ahead, one seed behind
    res = results_of(("hm", {"dark": 0.50}, {}), ("sc", lambda s: {"default": aps[s]}, {}))
    assert word(two_rows(), res) == "partly"


def test_error_claims_use_the_error_interval():
    exp = Experiment("crowded", "c", "q", "c", (Row("q", "64x64", "hm", "quarter", id="heatmap-quarter"),
                                                 Row("d", "64x64", "hm", "dark", id="heatmap-dark"),
                                                 Row("s", "64x64", "sc", "default", id="simcc")), V.crowded_rule)
    res = results_of(("hm", {"quarter": 0.40, "dark": 0.45}, {"errors": (4.0, 3.0)}),
                     ("sc", {"default": 0.50}, {"errors": (5.0, 4.0)}))
    out = {p: v for p, v, _ in verdicts(exp, res)}
    assert out["SimCC beats heatmap+DARK in crowded scenes at 64x64 (AP)"] == "reproduces"
    assert out["SimCC's mean error is lower than heatmap+DARK's in crowded scenes at 64x64"] == "does not"


@pytest.mark.parametrize("no_deconv, kw, expected", [
    (0.500, {"noise": 0.001}, "reproduces"),   # the same accuracy: the interval inside the band
    (0.470, {}, "does not"),                   # a drop of 3 points that counts
    (0.495, {"noise": 0.3}, "inconclusive"),   # too noisy to tell
])
def test_equivalence_rule_gives_each_outcome(no_deconv, kw, expected):
    rows = (Row("no deconv", "64x64", "a", id="simcc"), Row("deconv", "64x64", "b", id="simcc-deconv"))
    exp = Experiment("upsampling", "u", "q", "c", rows, V.upsampling_rule)
    res = results_of(("a", {"default": no_deconv}, kw), ("b", {"default": 0.50}, kw))
    assert word(exp, res) == expected


def trend_experiment():
    rows = tuple(Row(lab, g, f"{run}-{g}", d, id=rid) for g in ("64x64", "128x128")
                 for lab, run, d, rid in (("none", "hm", "none", "heatmap-none"),
                                          ("quarter", "hm", "quarter", "heatmap-quarter"),
                                          ("dark", "hm", "dark", "heatmap-dark"), ("simcc", "sc", "default", "simcc")))
    return Experiment("resolution", "r", "q", "c", rows, V.resolution_rule)


@pytest.mark.parametrize("gap_large, errors, expected", [
    (0.02, (2.05, 2.0), "reproduces"),       # the gap falls from 10 to 2 points, curves flat
    (0.20, (2.05, 2.0), "does not"),         # the gap grows
    (0.02, (3.0, 2.0), "inconclusive"),      # curves still falling by a third per doubling
])
def test_trend_rule_gives_each_outcome(gap_large, errors, expected):
    kw = {"errors": errors}
    res = results_of(("hm-64x64", {"none": 0.30, "quarter": 0.40, "dark": 0.45}, kw),
                     ("sc-64x64", {"default": 0.40}, kw),
                     ("hm-128x128", {"none": 0.50, "quarter": 0.55, "dark": 0.58}, kw),
                     ("sc-128x128", {"default": 0.50 + gap_large}, kw))
    assert word(trend_experiment(), res, "gap to the heatmap without post-processing shrinks") == expected


@pytest.mark.parametrize("sc_errors, hm_errors, expected", [
    ((3.0, 2.0), (3.2, 3.1), "reproduces"),    # the heatmap stalls (-3 %), SimCC keeps improving (-33 %), ends lower
    ((2.2, 2.15), (3.2, 3.1), "partly"),       # both flat, SimCC lower
    ((3.0, 2.0), (4.0, 3.0), "inconclusive"),  # the heatmap has not stalled
    ((4.0, 3.5), (3.2, 3.1), "does not"),      # SimCC ends higher
])
def test_curves_rule_gives_each_outcome(sc_errors, hm_errors, expected):
    rows = (Row("simcc", "64x64", "sc", id="simcc"), Row("none", "64x64", "hm", "none", id="heatmap-none"))
    exp = Experiment("curves", "c", "q", "c", rows, V.curves_rule, figure="curves")
    res = results_of(("sc", {"default": 0.5}, {"errors": sc_errors}), ("hm", {"none": 0.3}, {"errors": hm_errors}))
    assert word(exp, res) == expected


def test_combine_defines_partly_once():
    assert V.combine(["reproduces", "reproduces"]) == "reproduces"
    assert V.combine(["reproduces", "partly"]) == "partly"
    assert V.combine(["reproduces", "does not"]) == "partly"
    assert V.combine(["does not", "does not"]) == "does not"
    assert V.combine(["reproduces", "inconclusive"]) == "inconclusive"


def test_paper_means_are_unrounded_and_rules_are_stated():
    means = V.paper_mean_resolution()
    assert means["64x64"][0] == pytest.approx(46.45) and means["128x128"][1] == pytest.approx(59.55)
    assert f"{V.BOOTSTRAP_SAMPLES:,}" in V.RULES and "n - 1" in V.RULES and "inconclusive" in V.RULES
