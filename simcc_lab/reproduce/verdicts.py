"""Verdicts: one rule family for every claim, stated in :data:`RULES` (printed in every report) and applied by
each experiment's own rule (declared beside its rows in :mod:`.grid`).

A rule gets a :class:`Judge` (the experiment's rows and the results) and returns ``(claim part, verdict,
evidence)`` tuples. The words: **reproduces**, **partly**, **does not**, **inconclusive**, **not run**.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .results import index
from .statistics import BOOTSTRAP_SAMPLES, Cell, Paired, cell, paired_difference

__all__ = ["RULES", "Judge", "combine", "AP_FLOOR", "MIN_SEEDS", "CONVERGED", "EQUIVALENCE_OKS", "Verdict",
           "resolution_rule", "curves_rule", "k_rule", "smoothing_rule", "upsampling_rule", "crowded_rule",
           "backbone_rule", "transformer_rule", "last_doubling_gain", "paper_mean_resolution", "oracle_floor"]

Verdict = tuple[str, str, str]  # (claim part, word, evidence)
Rule = Callable[["Judge"], list[Verdict]]

AP_FLOOR = 10.0         # AP points: a compared model below it did not learn, and its comparison is inconclusive
MIN_SEEDS = 3           # a comparison needs this many seeds that both sides trained
CONVERGED = 0.10        # a learning curve has flattened when the last doubling of samples lowers its error < 10 %
EQUIVALENCE_OKS = 1.0   # "almost unchanged": the paired interval lies within +-1 OKS point (x 100)

RULES = f"""\
Our numbers are COCO AP x 100 on the SynthPose val split, mean +- sample std (n - 1) over training seeds. Every
comparison of two methods, A vs B, is paired: the same val people are scored by both, and the 95 % interval is a
percentile bootstrap ({BOOTSTRAP_SAMPLES:,} resamples of the people) of the per-person OKS difference (x 100; OKS
is the per-person score that AP thresholds), or of the mean pixel error for claims about error.
(`simcc_lab/reproduce/statistics.py`). A difference **counts** when its interval excludes 0 and every seed's AP
difference has the same sign.
- **reproduces**: every part of the claim holds, each with a difference that counts;
- **partly** (the one definition): the direction of every part holds but not every difference counts, or some
  parts hold and others do not;
- **does not**: the direction is wrong in every part;
- **inconclusive**: the runs cannot decide: a compared model is below the AP floor ({AP_FLOOR:g} AP: it did not
  learn), fewer than {MIN_SEEDS} seeds were trained, per-person data are missing, or (for trends across input sizes
  and for learning curves) a curve has not flattened (the last doubling of samples still lowers the error by
  {100 * CONVERGED:.0f} % or more) or has no curve points;
- "almost unchanged" claims: **reproduces** when the interval lies within +-{EQUIVALENCE_OKS:g} OKS point, **does not**
  when the difference counts and its interval leaves that band, else **inconclusive**.
A trend "the gap shrinks from the smallest input to the largest" is one paired comparison of the two gaps over the
same val people (half the difference of the gaps: (SimCC_small + heatmap_large) - (heatmap_small + SimCC_large),
over 2). Where a comparison at one size has curves that have not flattened, its evidence says so: the verdict
holds at the trained budget. Explanations in the lessons that no run here measures are marked as hypotheses.
Float results differ across machines: the same seed on the same machine gives the same numbers, another CPU
gives slightly different ones, which is what the seeds and intervals are for.
The paper's numbers are COCO/CrowdPose with large backbones (the resolution table shows the unrounded mean over its
four backbones); they are the target for the *trend*, not for the absolute values."""


def combine(words: list[str]) -> str:
    """One word for a claim of several parts (see :data:`RULES`)."""
    if not words:
        return "not run"
    if all(w == "reproduces" for w in words):
        return "reproduces"
    if any(w in ("inconclusive", "not run") for w in words):
        return "inconclusive" if any(w == "inconclusive" for w in words) else "not run"
    if all(w == "does not" for w in words):
        return "does not"
    return "partly"


def last_doubling_gain(histories: list[list[dict]], decoding: str) -> float | None:
    """Relative drop of the mean pixel error (mean over seeds) between the last two learning-curve points of
    ``pixel_error_<decoding>``; None with fewer than two points."""
    key, pts = f"pixel_error_{decoding}", {}
    for hist in histories:
        for rec in hist:
            if rec.get(key) is not None:
                pts.setdefault(int(rec["samples_seen"]), []).append(float(rec[key]))
    if len(pts) < 2:
        return None
    xs = sorted(pts)
    a, b = np.mean(pts[xs[-2]]), np.mean(pts[xs[-1]])
    return float((a - b) / a)


def paper_mean_resolution() -> dict[str, tuple[float, float, float]]:
    """Per input size, the paper's AP averaged over its four backbones, unrounded: (heatmap + post, heatmap
    without post-processing, SimCC)."""
    from .. import paper

    sizes = ("64x64", "128x128", "256x192")
    rows = {s: [v[s] for v in paper.RESOLUTION_AP.values()] for s in sizes}
    return {s: tuple(float(np.mean([r[i] for r in rows[s]])) for i in range(3)) for s in sizes}


def oracle_floor(results: dict[str, dict], row, metric: str = "pixel_error") -> float:
    """The codec's own floor of a row's run and decoding (``oracle`` of its result), nan when absent."""
    v = index(results).oracle(row.run, row.variant, metric)
    return float("nan") if v is None else v * 100 if metric == "AP" else v


class Judge:
    """One experiment's rows and results, with the tools every rule uses: find a row by its id and group
    (never by its display label), aggregate a cell, compare rows by the one rule family."""

    def __init__(self, exp, results: dict[str, dict]):
        self.exp, self.results = exp, results
        self.groups = list(dict.fromkeys(r.group for r in exp.rows))
        self._paired: dict = {}

    def paired(self, a_rows, b_rows) -> Paired | None:
        """:func:`paired_difference` of two sides of rows, computed once per experiment (the per-size claims and
        the trends compare the same pairs; each is a 10,000-resample bootstrap)."""
        key = (tuple((r.run, r.variant) for r in a_rows), tuple((r.run, r.variant) for r in b_rows))
        if key not in self._paired:
            self._paired[key] = paired_difference(self.results, list(key[0]), list(key[1]))
        return self._paired[key]

    def row(self, row_id: str, group: str):
        """The row ``row_id`` at ``group`` (an input size), None when the experiment has none."""
        return next((r for r in self.exp.rows if r.id == row_id and r.group == group), None)

    def get(self, row_id: str, group: str) -> Cell:
        """That row's cell (mean +- std over seeds); an empty cell when the row is absent."""
        r = self.row(row_id, group)
        return cell(self.results, r.run, r.variant, self.exp.metric) if r else Cell(float("nan"), float("nan"), 0)

    def gain(self, row) -> float | None:
        """:func:`last_doubling_gain` of a row's run and decoding."""
        return last_doubling_gain(list(index(self.results).histories(row.run)), row.variant)

    def _inconclusive(self, rows, p: Paired | None, curves: bool) -> str | None:
        """Why these rows' comparison cannot decide, or None."""
        low = [f"{r.label} ({cell(self.results, r.run, r.variant)})" for r in rows
               if cell(self.results, r.run, r.variant).mean < AP_FLOOR]
        if low:
            return f"below the {AP_FLOOR:g}-AP floor (did not learn): {', '.join(low)}"
        if p is None or p.people == 0:
            return "no per-person data"
        if len(p.seeds) < MIN_SEEDS:
            return f"{len(p.seeds)} seed(s) trained; a comparison needs {MIN_SEEDS}"
        if curves:
            gains = {r.label: self.gain(r) for r in rows}
            if any(g is None for g in gains.values()):
                return "no learning-curve points to tell whether training converged"
            open_ = [f"{lab} {-100 * g:+.0f} %" for lab, g in gains.items() if g >= CONVERGED]
            if open_:
                return f"not converged (error change over the last doubling of samples: {', '.join(open_)})"
        return None

    def budget_note(self, rows) -> str:
        """Evidence suffix: which compared curves have not flattened (the verdict holds at the trained budget)."""
        gains = {r.label: self.gain(r) for r in rows}
        open_ = [f"{lab} {-100 * g:+.0f} %" for lab, g in gains.items() if g is not None and g >= CONVERGED]
        return f"; at the trained budget: not converged ({', '.join(open_)} over the last doubling)" if open_ else ""

    def compare(self, part: str, a_rows, b_rows, la: str, lb: str, on: str = "oks",
                curves: bool = False) -> Verdict:
        """Claim "A beats B" (``on="oks"``: higher OKS/AP; ``on="error"``: lower mean pixel error), rows pooled
        per side. ``curves``: unconverged curves make it inconclusive (trend claims)."""
        results, metric = self.results, self.exp.metric
        a_rows, b_rows = [r for r in a_rows if r], [r for r in b_rows if r]
        ca = [cell(results, r.run, r.variant, metric) for r in a_rows]
        cb = [cell(results, r.run, r.variant, metric) for r in b_rows]
        if not a_rows or not b_rows or any(c.n == 0 for c in ca + cb):
            return part, "not run", f"no results for {la} or {lb}"
        shown = f"{la} {' / '.join(map(str, ca))} vs {lb} {' / '.join(map(str, cb))}"
        p = self.paired(a_rows, b_rows)
        why = self._inconclusive(a_rows + b_rows, p, curves)
        if why:
            return part, "inconclusive", f"{shown}{'; ' + str(p) if p and p.people else ''}; {why}"
        return part, word(p, on), f"{shown}; {p}{self.budget_note(a_rows + b_rows)}"

    def equivalent(self, part: str, a_row, b_row, la: str, lb: str) -> Verdict:
        """Claim "A is almost unchanged from B" (see :data:`RULES`)."""
        if a_row is None or b_row is None or not (self.get(a_row.id, a_row.group).n and self.get(b_row.id, b_row.group).n):
            return part, "not run", f"no results for {la} or {lb}"
        shown = f"{la} {self.get(a_row.id, a_row.group)} vs {lb} {self.get(b_row.id, b_row.group)}"
        p = self.paired([a_row], [b_row])
        why = self._inconclusive([a_row, b_row], p, curves=False)
        if why:
            return part, "inconclusive", f"{shown}; {why}"
        _, lo, hi = p.oks
        inside = -EQUIVALENCE_OKS <= lo and hi <= EQUIVALENCE_OKS
        counts = p.interval_excludes_zero and p.seeds_agree
        w = "reproduces" if inside else "does not" if counts else "inconclusive"
        return part, w, f"{shown}; {p}; band +-{EQUIVALENCE_OKS:g} OKS point"

    def trend(self, part: str, sc_id: str, hm_id: str, what: str, paper: dict[str, float] | None = None) -> Verdict:
        """Claim "the gap ``sc_id`` - ``hm_id`` shrinks from the smallest input to the largest"."""
        first, last = self.groups[0], self.groups[-1]
        rows = [self.row(sc_id, first), self.row(hm_id, last), self.row(hm_id, first), self.row(sc_id, last)]
        if any(r is None for r in rows) or any(not self.get(r.id, r.group).n for r in rows):
            return part, "not run", "a size lacks results"
        per_size = []
        for g in self.groups:
            d = self.paired([self.row(sc_id, g)], [self.row(hm_id, g)])
            ref = f" (paper {paper[g]:+.2f})" if paper and g in paper else ""
            per_size.append(f"{g}: {what} {d.ap:+.1f} AP{ref}, dOKS x100 {d.oks[0]:+.1f} [{d.oks[1]:+.1f}, "
                            f"{d.oks[2]:+.1f}], seeds {len(d.seeds)}" if d else f"{g}: n/a")
        # half the difference of the gaps, as one paired comparison of pooled sides over the same people
        p = self.paired(rows[:2], rows[2:])
        ev = "; ".join(per_size)
        if p is not None and p.people:  # the measured change of the gap, shown whatever the verdict
            ev += (f"; gap({first}) - gap({last}) = {2 * p.ap:+.1f} AP, dOKS x100 {2 * p.oks[0]:+.1f} "
                   f"[{2 * p.oks[1]:+.1f}, {2 * p.oks[2]:+.1f}]")
        why = self._inconclusive(rows, p, curves=True)
        if why:
            return part, "inconclusive", f"{ev}; {why}"
        return part, word(p, "oks"), ev


def word(p: Paired, on: str = "oks") -> str:
    """reproduces / partly / does not for one comparison that can decide (A should beat B)."""
    if on == "error":  # A's error should be lower: the px difference negative
        mean, lo, hi = p.px
        holds, counts = mean < 0, hi < 0 and p.seeds_agree_on_error
    else:
        # the direction is the claim's, about AP (mean over seeds); it counts with the per-person interval
        holds, counts = p.ap > 0, p.interval_excludes_zero and p.seeds_agree
    return "reproduces" if holds and counts else "partly" if holds else "does not"


# ---------------------------------------------------------------------------------------------------
# The rules of the experiments (each experiment names its own in grid.py)
# ---------------------------------------------------------------------------------------------------
def resolution_rule(j: Judge) -> list[Verdict]:
    """Per size: SimCC against each heatmap decoding; across sizes: whether each gap shrinks."""
    means = paper_mean_resolution()
    out = []
    for g in j.groups:
        sc, none, quarter, dark = (j.row(i, g) for i in ("simcc", "heatmap-none", "heatmap-quarter", "heatmap-dark"))
        out += [j.compare(f"SimCC beats heatmap without post-processing at {g}", [sc], [none], "SimCC", "heatmap"),
                j.compare(f"SimCC beats heatmap + quarter offset at {g}", [sc], [quarter], "SimCC", "heatmap+quarter"),
                j.compare(f"SimCC beats heatmap + DARK at {g}", [sc], [dark], "SimCC", "heatmap+DARK"),
                j.compare(f"heatmaps need post-processing at {g} (quarter offset beats none)", [quarter], [none],
                          "heatmap+quarter", "heatmap")]
    if len(j.groups) < 2:
        return out + [("trends across input sizes", "not run", "one input size only")]
    gap_none = {g: means[g][2] - means[g][1] for g in j.groups if g in means}
    gap_post = {g: means[g][2] - means[g][0] for g in j.groups if g in means}
    post_gain = {g: means[g][0] - means[g][1] for g in j.groups if g in means}
    return out + [
        j.trend("the gap to the heatmap without post-processing shrinks as resolution grows", "simcc",
                "heatmap-none", "SimCC - heatmap", gap_none),
        j.trend("the gap to the heatmap + quarter offset shrinks as resolution grows", "simcc", "heatmap-quarter",
                "SimCC - heatmap+quarter", gap_post),
        j.trend("the gap to the heatmap + DARK shrinks as resolution grows", "simcc", "heatmap-dark",
                "SimCC - heatmap+DARK"),
        j.trend("heatmaps lose most without post-processing at the lowest resolution", "heatmap-quarter",
                "heatmap-none", "quarter - none", post_gain)]


def curves_rule(j: Judge) -> list[Verdict]:
    """Does the heatmap (argmax) stall near its floor while SimCC keeps improving? **reproduces**: the heatmap's
    error falls by < 10 % over the last doubling of samples (it has stalled), SimCC's by more, and SimCC ends
    lower; **does not**: SimCC does not end lower; **inconclusive**: the heatmap has not stalled yet (its floor
    is not what limits it at this budget)."""
    sc, hm = j.row("simcc", j.groups[0]), j.row("heatmap-none", j.groups[0])
    g_sc, g_hm = j.gain(sc), j.gain(hm)
    if g_sc is None or g_hm is None:
        return [("learning curves", "not run", "fewer than two curve points")]
    e_sc, e_hm = cell(j.results, sc.run, sc.variant, "pixel_error"), cell(j.results, hm.run, hm.variant, "pixel_error")
    f_sc, f_hm = (oracle_floor(j.results, r) for r in (sc, hm))
    ev = (f"last doubling of samples: SimCC error {-100 * g_sc:+.0f} % (to {e_sc.mean:.2f} px, floor {f_sc:.2f}), "
          f"heatmap argmax {-100 * g_hm:+.0f} % (to {e_hm.mean:.2f} px, floor {f_hm:.2f}); the floor is "
          f"{100 * f_hm / e_hm.mean:.0f} % of the heatmap's error and {100 * f_sc / e_sc.mean:.0f} % of SimCC's")
    if e_sc.mean >= e_hm.mean:
        w = "does not"
    elif g_hm >= CONVERGED:
        w, ev = "inconclusive", ev + f"; the heatmap has not stalled (still {-100 * g_hm:+.0f} % per doubling)"
    else:
        w = "reproduces" if g_sc > g_hm else "partly"
    return [("SimCC keeps improving where the heatmap (argmax) stalls", w, ev)]


def k_rule(j: Judge) -> list[Verdict]:
    """Per size: the best k > 1 against k = 1."""
    out = []
    for g in j.groups:
        labels = {r.id: r.label for r in j.exp.rows if r.group == g}
        cells = {i: j.get(i, g) for i in labels}
        best = max((i for i in cells if i != "k=1"), key=lambda i: cells[i].mean)
        part, v, ev = j.compare(f"k > 1 beats k = 1 at {g} (best: {labels[best]})", [j.row(best, g)],
                                [j.row("k=1", g)], labels[best], "k=1")
        out.append((part, v, ", ".join(f"{labels[i]}: {c}" for i, c in cells.items()) + f"; {labels[best]} - k=1: {ev}"))
    return out


def smoothing_rule(j: Judge) -> list[Verdict]:
    """The paper's order of label shapes (two paired comparisons), and the best distribution label vs one-hot."""
    g = j.groups[0]
    ga, la, eq, no = (j.row(x, g) for x in ("gaussian", "laplace", "equal", "none"))
    first = j.compare("Gaussian / Laplace > equal", [ga, la], [eq], "Gaussian+Laplace", "equal")
    second = j.compare("equal > none", [eq], [no], "equal", "none")
    best, label = (ga, "Gaussian") if j.get("gaussian", g).mean >= j.get("laplace", g).mean else (la, "Laplace")
    return [("Gaussian / Laplace > equal > none", combine([first[1], second[1]]),
             f"Gaussian / Laplace > equal: {first[1]} ({first[2]}); equal > none: {second[1]} ({second[2]})"),
            j.compare("the best distribution label beats one-hot", [best], [no], label, "none")]


def upsampling_rule(j: Judge) -> list[Verdict]:
    """Is SimCC's accuracy almost unchanged without the deconvolutions (an equivalence claim)?"""
    g = j.groups[0]
    return [j.equivalent("SimCC's AP is almost unchanged without deconvs", j.row("simcc", g),
                         j.row("simcc-deconv", g), "no deconv", "with deconv")]


def crowded_rule(j: Judge) -> list[Verdict]:
    """Per size: SimCC against the paper's heatmap baseline (quarter offset) and DARK, on AP and on error."""
    out = []
    for g in j.groups:
        sc = j.row("simcc", g)
        for hm_id, name in (("heatmap-quarter", "heatmap+quarter"), ("heatmap-dark", "heatmap+DARK")):
            hm = j.row(hm_id, g)
            out += [j.compare(f"SimCC beats {name} in crowded scenes at {g} (AP)", [sc], [hm], "SimCC", name),
                    j.compare(f"SimCC's mean error is lower than {name}'s in crowded scenes at {g}", [sc], [hm],
                              "SimCC", name, on="error")]
    return out


def backbone_rule(j: Judge) -> list[Verdict]:
    """Per backbone (rows ``<backbone>-simcc`` and ``<backbone>-heatmap-dark``): SimCC against heatmap + DARK."""
    out = []
    for r in j.exp.rows:
        if r.id.endswith("-simcc") and j.get(r.id, r.group).n:
            key = r.id[: -len("-simcc")]
            out.append(j.compare(f"{r.label.split(',')[0]}: SimCC beats heatmap + DARK at {r.group}", [r],
                                 [j.row(f"{key}-heatmap-dark", r.group)], "SimCC", "heatmap+DARK"))
    return out


def transformer_rule(j: Judge) -> list[Verdict]:
    """Each SimCC variant on the Transformer against the heatmap + DARK on the same backbone."""
    g = j.groups[0]
    return [j.compare(f"Transformer, SimCC from {what} beats heatmap + DARK at {g}", [j.row(rid, g)],
                      [j.row("heatmap-dark", g)], f"SimCC ({what})", "heatmap+DARK")
            for rid, what in (("simcc-tokens", "keypoint tokens"), ("simcc-map", "visual tokens"))
            if j.row(rid, g) is not None]
