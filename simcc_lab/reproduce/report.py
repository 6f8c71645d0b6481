"""The reproduction report: the paper's numbers, ours and a verdict per experiment, plus figures.

Every number of ours comes from a result file written by :func:`simcc_lab.reproduce.runner.run_grid`; the
paper's numbers come from :mod:`simcc_lab.lessons.paper`. The verdict rules are stated in the report itself
(:data:`RULES`) and implemented in :func:`verdicts`.
"""
from __future__ import annotations

import dataclasses
import math
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import files
from .experiments import MODE_EXPERIMENTS, Experiment, Grid, Row, load_results
from .paired import Paired, paired_difference

# Minimum difference (AP points, COCO AP x 100) that counts as a real effect in a verdict. With one
# seed we have no spread, so a fixed margin guards against calling noise a reproduction; with several
# seeds the margin is the larger of this and two pooled standard deviations.
MARGIN_AP = 1.0

RULES = f"""\
Verdicts compare our numbers (COCO AP x 100 on the SynthPose val split, mean +- std over training seeds) by one
rule per claim. A difference A - B "counts" when (1) the 95 % bootstrap interval over the val people of the paired
per-person OKS difference (x 100; OKS is the per-person score that AP thresholds) excludes 0, and (2) every seed's
AP difference has the same sign (`simcc_lab/paired.py`). Results without per-person data fall back to a margin of
{MARGIN_AP:g} AP (and two pooled standard deviations with several seeds). **reproduces**: every part of the claim holds
with differences that count; **partly**: the direction holds but not every difference counts, or only some parts
hold; **does not**: the direction is wrong. Float results differ across machines: the same seed on the same
machine gives the same numbers, another CPU gives slightly different ones, which is what the seeds and intervals
are for.
The paper's numbers are COCO/CrowdPose with large backbones (the resolution table shows the mean over its four
backbones); they are the target for the *trend*, not for the absolute values."""


@dataclass(frozen=True)
class Cell:
    """One table cell of ours: mean and std over seeds, in AP points (x100), and how many seeds."""

    mean: float
    std: float
    n: int

    def __str__(self) -> str:
        if self.n == 0:
            return "n/a"
        return f"{self.mean:.1f}" if self.n == 1 else f"{self.mean:.1f} +- {self.std:.1f}"


def cell(results: dict[str, dict], run: str, variant: str, metric: str = "AP") -> Cell:
    """Aggregate ``metric`` of ``run``/``variant`` over seeds (AP-like metrics scaled to points)."""
    vals = [r["metrics"][variant][metric] for r in results.values()
            if r.get("run") == run and metric in r.get("metrics", {}).get(variant, {})]
    vals = [v * 100 if metric.startswith("A") else v for v in vals if v is not None and math.isfinite(v)]
    if not vals:
        return Cell(float("nan"), float("nan"), 0)
    return Cell(float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0, len(vals))


def _counts(a: Cell, b: Cell) -> bool:
    """a - b is an effect that counts (see RULES)."""
    margin = MARGIN_AP
    if a.n > 1 and b.n > 1:
        margin = max(margin, 2 * math.sqrt((a.std**2 + b.std**2) / 2))
    return a.mean - b.mean > margin


def _verdict(parts: list[tuple[bool, bool]]) -> str:
    """parts: (direction holds, difference counts) per part of a claim."""
    if parts and all(d and c for d, c in parts):
        return "reproduces"
    if parts and all(d for d, _ in parts):
        return "partly"
    if any(d for d, _ in parts):
        return "partly"
    return "does not"


class Judge:
    """One experiment's rows and results, with the tools every verdict rule uses: find a row by its id and
    group (never by its display label), aggregate a cell, compare two sets of rows."""

    def __init__(self, exp: Experiment, results: dict[str, dict]):
        self.exp, self.results = exp, results
        self.groups = list(dict.fromkeys(r.group for r in exp.rows))

    def row(self, row_id: str, group: str) -> Row | None:
        """The row ``row_id`` at ``group`` (an input size), None when the experiment has none."""
        return next((r for r in self.exp.rows if r.id == row_id and r.group == group), None)

    def get(self, row_id: str, group: str) -> Cell:
        """That row's cell (mean +- std over seeds); an empty cell when the row is absent."""
        r = self.row(row_id, group)
        return cell(self.results, r.run, r.variant, self.exp.metric) if r else Cell(float("nan"), float("nan"), 0)

    def compare(self, part: str, a_rows, b_rows, la: str, lb: str) -> tuple[str, str, str]:
        """A vs B (lists of rows; several rows are pooled): paired interval when per-person data exist."""
        results, metric = self.results, self.exp.metric
        a_rows, b_rows = [r for r in a_rows if r], [r for r in b_rows if r]
        ca = [cell(results, r.run, r.variant, metric) for r in a_rows]
        cb = [cell(results, r.run, r.variant, metric) for r in b_rows]
        if not a_rows or not b_rows or any(c.n == 0 for c in ca + cb):
            return part, "not run", f"no results for {la} or {lb}"
        shown = f"{la} {' / '.join(map(str, ca))} vs {lb} {' / '.join(map(str, cb))}"
        p = paired_difference(results, [(r.run, r.variant) for r in a_rows], [(r.run, r.variant) for r in b_rows])
        if p is None or p.people == 0:  # no per-person data (older result files): the margin rule
            a, b = _pool(ca), _pool(cb)
            return part, _verdict([(a.mean > b.mean, _counts(a, b))]), shown
        return part, _verdict([(p.ap > 0, p.counts)]), f"{shown}; {p}"


def verdicts(exp: Experiment, results: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(claim part, verdict, evidence) for ``exp``, by its rule in :data:`VERDICT_RULES`. Groups (input sizes)
    that lack a result are left out of the judgement and named as not run."""
    missing: dict[str, set[str]] = {}
    for r in exp.rows:
        if cell(results, r.run, r.variant, exp.metric).n == 0:
            missing.setdefault(r.group, set()).add(r.run)
    if missing:
        note = ("claims on " + ", ".join(sorted(missing)), "not run",
                "no results yet for " + ", ".join(sorted({f"`{m}`" for ms in missing.values() for m in ms})))
        complete = tuple(r for r in exp.rows if r.group not in missing)
        if not complete:
            return [note]
        return verdicts(dataclasses.replace(exp, rows=complete), results) + [note]
    rule = VERDICT_RULES.get(exp.name)
    return rule(Judge(exp, results)) if rule else []


def _resolution_verdicts(j: Judge) -> list[tuple[str, str, str]]:
    """SimCC against each heatmap decoding at the first size, and how the gaps change across sizes."""
    sc, none, quarter, dark = "simcc", "heatmap-none", "heatmap-quarter", "heatmap-dark"
    g, row = j.groups[0], j.row
    out = [j.compare(f"SimCC beats heatmap without post-processing at {g}", [row(sc, g)], [row(none, g)],
                     "SimCC", "heatmap"),
           j.compare(f"SimCC beats heatmap + quarter offset at {g}", [row(sc, g)], [row(quarter, g)],
                     "SimCC", "heatmap+quarter"),
           j.compare(f"SimCC beats heatmap + DARK at {g}", [row(sc, g)], [row(dark, g)], "SimCC", "heatmap+DARK"),
           j.compare(f"pooled: SimCC beats the heatmap under every decoding at {g}", [row(sc, g)],
                     [row(none, g), row(quarter, g), row(dark, g)], "SimCC", "heatmap (none/quarter/DARK)"),
           j.compare(f"heatmaps need post-processing at {g} (quarter offset beats none)", [row(quarter, g)],
                     [row(none, g)], "heatmap+quarter", "heatmap")]
    if len(j.groups) < 2:
        return out + [("trend across input sizes", "not run", "one input size only")]
    return out + [
        _trend("the SimCC - heatmap gap shrinks as resolution grows", j.groups,
               [_paired(j.results, row(sc, x), row(none, x)) for x in j.groups], "SimCC - heatmap"),
        _trend("heatmaps lose most without post-processing at the lowest resolution", j.groups,
               [_paired(j.results, row(quarter, x), row(none, x)) for x in j.groups], "quarter - none")]


def _k_verdicts(j: Judge) -> list[tuple[str, str, str]]:
    """Per size: the best k > 1 against k = 1."""
    out = []
    for g in j.groups:
        labels = {r.id: r.label for r in j.exp.rows if r.group == g}
        cells = {i: j.get(i, g) for i in labels}
        best = max((i for i in cells if i != "k=1"), key=lambda i: cells[i].mean)
        part, v, ev = j.compare(f"k > 1 beats k = 1 at {g} (best: {labels[best]})", [j.row(best, g)],
                                [j.row("k=1", g)], labels[best], "k=1")
        out.append((part, v, ", ".join(f"{labels[i]}: {c}" for i, c in cells.items())
                    + f"; {labels[best]} - k=1: {ev}"))
    return out


def _smoothing_verdicts(j: Judge) -> list[tuple[str, str, str]]:
    """The paper's order of label shapes, and the best distribution label against one-hot."""
    g = j.groups[0]
    ga, la, eq, no = (j.get(x, g) for x in ("gaussian", "laplace", "equal", "none"))
    parts = [(min(ga.mean, la.mean) > eq.mean, _counts(Cell(min(ga.mean, la.mean), 0, 1), eq)),
             (eq.mean > no.mean, _counts(eq, no))]
    best, label = ("gaussian", "Gaussian") if ga.mean >= la.mean else ("laplace", "Laplace")
    return [("Gaussian / Laplace > equal > none", _verdict(parts),
             f"Gaussian {ga}, Laplace {la}, equal {eq}, none {no}"),
            j.compare("the best distribution label beats one-hot", [j.row(best, g)], [j.row("none", g)], label, "none")]


def _upsampling_verdicts(j: Judge) -> list[tuple[str, str, str]]:
    """Is SimCC's AP within the margin without the deconvolutions?"""
    a, b = j.get("simcc", j.groups[0]), j.get("simcc-deconv", j.groups[0])
    ok = a.n > 0 and b.n > 0
    close = ok and abs(a.mean - b.mean) <= MARGIN_AP
    return [("SimCC's AP is almost unchanged without deconvs",
             ("reproduces" if close else "partly" if a.mean > b.mean - 3 * MARGIN_AP else "does not")
             if ok else "not run", f"no deconv {a} vs with {b} (within {MARGIN_AP:g} AP counts as unchanged)")]


def _crowded_verdicts(j: Judge) -> list[tuple[str, str, str]]:
    """Per size: SimCC against the paper's heatmap baseline (quarter offset) and against DARK."""
    out = []
    for g in j.groups:
        out += [j.compare(f"SimCC beats heatmap + quarter offset in crowded scenes at {g} (the paper's comparison)",
                          [j.row("simcc", g)], [j.row("heatmap-quarter", g)], "SimCC", "heatmap+quarter"),
                j.compare(f"SimCC beats heatmap + DARK in crowded scenes at {g}", [j.row("simcc", g)],
                          [j.row("heatmap-dark", g)], "SimCC", "heatmap+DARK")]
    return out


def _backbone_verdicts(j: Judge) -> list[tuple[str, str, str]]:
    """Per backbone that has results: SimCC against heatmap + DARK at 64x64."""
    return [j.compare(f"{bb}: SimCC beats heatmap + DARK at 64x64", [j.row(f"{key}-simcc", "64x64")],
                      [j.row(f"{key}-heatmap-dark", "64x64")], "SimCC", "heatmap+DARK")
            for bb, key in (("compact CNN", "compact"), ("Transformer", "transformer"), ("ResNet-50", "resnet50"))
            if j.get(f"{key}-simcc", "64x64").n]


def _transformer_verdicts(j: Judge) -> list[tuple[str, str, str]]:
    """Each SimCC variant on the Transformer against the heatmap + DARK on the same backbone."""
    g = j.groups[0]
    return [j.compare(f"Transformer, SimCC from {what} beats heatmap + DARK at {g}", [j.row(rid, g)],
                      [j.row("heatmap-dark", g)], f"SimCC ({what})", "heatmap+DARK")
            for rid, what in (("simcc-tokens", "keypoint tokens"), ("simcc-map", "visual tokens"))]


def complete_results(exp: Experiment, folders) -> tuple[str | None, dict[str, dict]]:
    """The first of ``folders`` (result folders, e.g. ``reports/standard`` then an older run) whose result files
    cover every row of ``exp``: ``(folder, results)``, or ``(None, {})`` when none does."""
    for folder in folders:
        results = load_results(Path(folder))
        if all(cell(results, r.run, r.variant, exp.metric).n for r in exp.rows):
            return str(folder), results
    return None, {}


def _pool(cells: list[Cell]) -> Cell:
    """Several cells as one (mean of means; the largest std), for the margin rule."""
    if len(cells) == 1:
        return cells[0]
    return Cell(float(np.mean([c.mean for c in cells])), max(c.std for c in cells), min(c.n for c in cells))


def _paired(results, a: Row | None, b: Row | None) -> Paired | None:
    if a is None or b is None:
        return None
    return paired_difference(results, [(a.run, a.variant)], [(b.run, b.variant)])


def _trend(part: str, groups: list[str], diffs: list[Paired | None], what: str) -> tuple[str, str, str]:
    """Does the difference ``what`` fall from the first group (size) to the last? **reproduces** when the
    first group's interval lies wholly above the last's, **partly** when only the means fall."""
    if any(d is None for d in diffs):
        return part, "not run", "a size lacks results"
    first, last = diffs[0], diffs[-1]
    if first.people and last.people:
        falls, apart = first.oks[0] > last.oks[0], first.oks[1] > last.oks[2]
    else:  # no per-person data (older result files): AP means and the margin rule
        falls, apart = first.ap > last.ap, first.ap - last.ap > MARGIN_AP
    verdict = "reproduces" if falls and apart else "partly" if falls else "does not"
    ev = "; ".join(f"{g}: dAP {d.ap:+.1f}, dOKS x100 {d.oks[0]:+.1f} [{d.oks[1]:+.1f}, {d.oks[2]:+.1f}] "
                   f"(seeds {', '.join(map(str, d.seeds))})" for g, d in zip(groups, diffs))
    return part, verdict, f"{what}: {ev}"


# ---------------------------------------------------------------------------------------------------
# Learning curves
# ---------------------------------------------------------------------------------------------------
def curve_points(results: dict[str, dict], row: Row, metric: str = "pixel_error") -> dict[int, list[float]]:
    """Samples seen -> the values of ``metric`` (``pixel_error`` input px, or ``AP`` x 100) over seeds, from
    the learning-curve points in the runs' histories (``<metric>_<variant>``)."""
    key = f"{metric}_{row.variant}"
    out: dict[int, list[float]] = {}
    for r in results.values():
        if r.get("run") != row.run:
            continue
        for rec in r.get("history", []):
            if key in rec and rec[key] is not None:
                out.setdefault(int(rec["samples_seen"]), []).append(rec[key] * (100 if metric == "AP" else 1))
    return dict(sorted(out.items()))


def oracle_floor(results: dict[str, dict], row: Row, metric: str = "pixel_error") -> float:
    """The codec's own floor on the val people (``oracle`` of the run's result), nan when absent."""
    for r in results.values():
        if r.get("run") == row.run and row.variant in r.get("oracle", {}):
            v = r["oracle"][row.variant][metric]
            return v * 100 if metric == "AP" else v
    return float("nan")


def _curve_verdicts(j: Judge) -> list[tuple[str, str, str]]:
    """Over the last doubling of samples, does the heatmap (argmax) stall near its floor while SimCC improves?

    **reproduces**: the heatmap's relative error drop over the last doubling is less than half of SimCC's and
    SimCC ends lower; **partly**: SimCC ends lower but the heatmap is still improving at a comparable rate (its
    floor does not stop it yet); **does not**: SimCC does not end lower."""
    exp, results = j.exp, j.results
    sc, hm = (next(r for r in exp.rows if r.id == i) for i in ("simcc", "heatmap-none"))
    pts = {r.label: curve_points(results, r) for r in (sc, hm)}
    if any(len(p) < 2 for p in pts.values()):
        return [("learning curves", "not run", "fewer than two curve points")]

    def last_gain(p):  # relative error drop over the last two points
        xs = list(p)
        a, b = np.mean(p[xs[-2]]), np.mean(p[xs[-1]])
        return (a - b) / a, b

    g_sc, e_sc = last_gain(pts[sc.label])
    g_hm, e_hm = last_gain(pts[hm.label])
    f_sc, f_hm = oracle_floor(results, sc), oracle_floor(results, hm)
    ev = (f"last doubling of samples: SimCC error {100 * g_sc:.0f} % lower (to {e_sc:.2f} px, floor {f_sc:.2f}), "
          f"heatmap argmax {100 * g_hm:.0f} % lower (to {e_hm:.2f} px, floor {f_hm:.2f}); the floor is "
          f"{100 * f_hm / e_hm:.0f} % of the heatmap's error and {100 * f_sc / e_sc:.0f} % of SimCC's")
    verdict = "reproduces" if g_hm < 0.5 * g_sc and e_sc < e_hm else "partly" if e_sc < e_hm else "does not"
    return [("SimCC keeps improving where the heatmap (argmax) stalls", verdict, ev)]


# The rule of each experiment (its claim in the Experiment, its rows in experiments.build_grid).
VERDICT_RULES = {
    "resolution": _resolution_verdicts,
    "curves": _curve_verdicts,
    "k": _k_verdicts,
    "smoothing": _smoothing_verdicts,
    "upsampling": _upsampling_verdicts,
    "crowded": _crowded_verdicts,
    "transformer": _transformer_verdicts,
    "backbone": _backbone_verdicts,
}


def curves_figure(exp: Experiment, results: dict[str, dict]):
    """Two panels against samples seen (log x): mean input-px error with each codec's floor (dashed), and AP.
    Lines are the mean over seeds; the band spans the seeds' min to max."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig = Figure(figsize=(10, 4))
    ax_e, ax_a = fig.subplots(1, 2)
    for i, r in enumerate(exp.rows):
        color = f"C{i}"
        for ax, metric in ((ax_e, "pixel_error"), (ax_a, "AP")):
            pts = curve_points(results, r, metric)
            if not pts:
                continue
            x = np.array(list(pts))
            vals = [np.array(v) for v in pts.values()]
            ax.plot(x, [v.mean() for v in vals], "o-", color=color, label=r.label, lw=1.6, ms=4)
            ax.fill_between(x, [v.min() for v in vals], [v.max() for v in vals], color=color, alpha=0.15, lw=0)
            floor = oracle_floor(results, r, metric)
            if np.isfinite(floor):
                ax.axhline(floor, color=color, ls="--", lw=1.0, alpha=0.8)
    ax_e.set_yscale("log")
    ticks = sorted({x for r in exp.rows for x in curve_points(results, r)})
    for ax in (ax_e, ax_a):
        ax.set_xscale("log")
        if ticks:  # one labelled tick per curve point (samples seen)
            ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:.3g}k"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("training samples seen")
        ax.grid(alpha=0.3, which="both")
    ax_e.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax_e.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if str(v)[0] in "1235" else ""))
    ax_e.set_ylabel("mean error (input px, log)")
    ax_e.set_title("error; dashed: the codec's own floor")
    ax_a.set_ylabel("AP x 100")
    ax_a.set_title("AP; dashed: the codec's own ceiling")
    handles, names = ax_e.get_legend_handles_labels()
    fig.suptitle(exp.title)
    if handles:
        fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def curves_table(exp: Experiment, results: dict[str, dict]) -> str:
    """Markdown: one row per curve point (samples seen), mean error and AP over seeds per method."""
    pts = {r.label: (curve_points(results, r), curve_points(results, r, "AP")) for r in exp.rows}
    xs = sorted({x for e, _ in pts.values() for x in e})
    head = "| samples seen | " + " | ".join(f"{lab}: px / AP" for lab in pts) + " |"
    lines = [head, "|---" * (len(pts) + 1) + "|"]
    for x in xs:
        cells = []
        for e, a in pts.values():
            cells.append(f"{np.mean(e[x]):.2f} / {np.mean(a[x]):.1f}" if x in e and x in a else "n/a")
        lines.append(f"| {x:,} | " + " | ".join(cells) + " |")
    floors = [f"{oracle_floor(results, r):.2f} / {oracle_floor(results, r, 'AP'):.1f}" for r in exp.rows]
    lines.append("| codec alone (floor) | " + " | ".join(floors) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------------
def experiment_figure(exp: Experiment, results: dict[str, dict]):
    """Grouped bars (one group per input size or setting): ours (mean over seeds, error bar = std) and, on a
    panel of its own, the paper's numbers where it has them (its models and data differ, so the scales do)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    groups = list(dict.fromkeys(r.group for r in exp.rows))
    labels = list(dict.fromkeys(r.label for r in exp.rows))
    with_paper = any(r.paper is not None for r in exp.rows)
    panel_w = max(4.5, 1.4 * len(labels) * len(groups) / 2 + 1.5)
    fig = Figure(figsize=(panel_w * (2 if with_paper else 1), 4.0))
    axes = fig.subplots(1, 2 if with_paper else 1, squeeze=False)[0]
    width = 0.8 / len(labels)
    for ax, paper_panel in zip(axes, (False, True)):
        for j, lab in enumerate(labels):
            xs, ys, es = [], [], []
            for i, g in enumerate(groups):
                row = next((r for r in exp.rows if r.label == lab and r.group == g), None)
                if row is None:
                    continue
                c = cell(results, row.run, row.variant, exp.metric)
                value, err = (row.paper, 0.0) if paper_panel else (c.mean, c.std if c.n > 1 else 0.0)
                if value is None or not np.isfinite(value):
                    continue
                xs.append(i + (j - (len(labels) - 1) / 2) * width)
                ys.append(value)
                es.append(err)
            ax.bar(xs, ys, width, yerr=None if paper_panel else es, capsize=3, color=f"C{j}", label=lab)
        ax.set_xticks(range(len(groups)), groups)
        ax.set_ylabel(f"{exp.metric} x 100")
        ax.set_title("the paper (COCO / CrowdPose, large backbones)" if paper_panel else
                     "ours (SynthPose; bar: mean over seeds, line: std)", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(exp.title)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(len(names), 4), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.1 if len(names) <= 4 else 0.16, 1, 1))
    return fig


# ---------------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------------
def experiment_table(exp: Experiment, results: dict[str, dict]) -> str:
    """Markdown table: input/group, method, paper, ours (and train time of the run)."""
    lines = ["| input | method | paper AP | our AP | our mean error (input px) | seeds | run |",
             "|---|---|---|---|---|---|---|"]
    for r in exp.rows:
        c = cell(results, r.run, r.variant, exp.metric)
        px = cell(results, r.run, r.variant, "pixel_error")
        paper = "" if r.paper is None else f"{r.paper:.1f}"
        px_s = "n/a" if px.n == 0 else f"{px.mean:.2f}" if px.n == 1 else f"{px.mean:.2f} +- {px.std:.2f}"
        lines.append(f"| {r.group} | {r.label} | {paper} | {c} | {px_s} | {c.n} | `{r.run}` ({r.variant}) |")
    return "\n".join(lines)


def compute_table(results: dict[str, dict], runs: list[str]) -> str:
    """Params, GFLOPs and measured training speed of the named runs (first seed)."""
    lines = ["| run | params (M) | GFLOPs | train images/s |", "|---|---|---|---|"]
    for name in runs:
        r = next((v for v in results.values() if v.get("run") == name), None)
        if r is None:
            continue
        lines.append(f"| `{name}` | {r.get('params_m', float('nan')):.2f} | {r.get('gflops', float('nan')):.3f} | "
                     f"{r.get('train_images_per_s', float('nan')):.0f} |")
    return "\n".join(lines)


def environment_lines() -> list[str]:
    """Package versions and device, for the report header."""
    import matplotlib
    import torch
    import torchvision

    dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    return [f"python {platform.python_version()}, torch {torch.__version__}, torchvision {torchvision.__version__}, "
            f"numpy {np.__version__}, matplotlib {matplotlib.__version__}", f"device: {dev}"]


def write_report(grid: Grid, results: dict[str, dict], out_dir: str | Path, command: str, wall_s: float | None,
                 only: tuple[str, ...] = (), recorded: dict | list[dict] | None = None) -> Path:
    """Write ``out_dir/REPORT.md`` and one PNG per experiment; returns the report path.

    ``recorded``: for ``--report-only``, the ``RUN*.json`` records (beside the report) of the invocations that
    trained (each one's ``command``, ``wall_s``, ``jobs``), shown instead of this invocation's."""
    out_dir = Path(out_dir)
    names = tuple(only) or tuple(grid.experiments)
    total_train = sum(r.get("wall_s", 0.0) for r in results.values())
    records = [recorded] if isinstance(recorded, dict) else list(recorded or [])
    trained_by = "; ".join(f"`{r['command']}` in {r['wall_s'] / 60:.1f} min wall time ({r.get('jobs', 1)} runs at once)"
                           for r in records)
    md = ["# SimCC reproduction report", "",
          f"Command: `{command}`  ", f"Mode: {grid.mode}; seeds: {', '.join(map(str, grid.seeds))}  ",
          *[line + "  " for line in environment_lines()],
          (f"Wall time of this invocation: {wall_s / 60:.1f} min; " if wall_s is not None else
           f"Results trained by {trained_by}; this report rewritten from them (`--report-only`); "
           if records else "Report written from existing result files (`--report-only`); ") +
          f"training + evaluation summed over the {len(results)} result files: {total_train / 60:.1f} min "
          f"of {len(grid.runs)} runs in this mode's grid", "",
          "## How to read the verdicts", "", RULES, "", "## Summary", "",
          "| experiment | claim | verdict | evidence |", "|---|---|---|---|"]
    sections = []
    for name in names:
        exp = grid.experiments[name]
        vs = verdicts(exp, results)
        md += [f"| {exp.title} | {part} | **{v}** | {ev} |" for part, v, ev in vs]
        fig_path = out_dir / f"{name}.png"
        curves = name == "curves"
        files.save_figure((curves_figure if curves else experiment_figure)(exp, results), fig_path)
        sections += [f"## {exp.title}", "", f"*Question.* {exp.question}  ", f"*Paper.* {exp.claim}", "",
                     (curves_table if curves else experiment_table)(exp, results), "",
                     *[f"- {part}: **{v}** ({ev})" for part, v, ev in vs], "",
                     f"![{exp.title}]({fig_path.name})", ""]
        if name == "upsampling":
            sections += ["Compute of the runs above (params and FLOPs from `simcc_lab.models`, speed measured during "
                         "training):", "", compute_table(results, list(dict.fromkeys(r.run for r in exp.rows))), ""]
    later = [n for n in MODE_EXPERIMENTS["standard"] if n not in grid.experiments]
    if later:
        md += ["", f"Not in {grid.mode} mode: {', '.join(later)} (`simcc-lab reproduce --mode standard`, "
               "results in `reports/standard/`)."]
    md += ["", *sections]
    return files.write_text(out_dir / "REPORT.md", "\n".join(md) + "\n")
