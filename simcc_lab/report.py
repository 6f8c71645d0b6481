"""The reproduction report: the paper's numbers, ours and a verdict per experiment, plus figures.

Every number of ours comes from a result file written by :func:`simcc_lab.experiments.run_grid`; the
paper's numbers come from :mod:`simcc_lab.paper`. The verdict rules are stated in the report itself
(:data:`RULES`) and implemented in :func:`verdicts`.
"""
from __future__ import annotations

import dataclasses
import math
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import io
from .experiments import Experiment, Grid

# Minimum difference (AP points, COCO AP x 100) that counts as a real effect in a verdict. With one
# seed we have no spread, so a fixed margin guards against calling noise a reproduction; with several
# seeds the margin is the larger of this and two pooled standard deviations.
MARGIN_AP = 1.0

RULES = f"""\
Verdicts compare our numbers (COCO AP x 100 on the SynthPose val split, mean +- std over seeds) by one rule
per claim. A difference "counts" when it exceeds {MARGIN_AP:g} AP and, with several seeds, also two pooled standard
deviations. **reproduces**: every part of the claim holds with differences that count; **partly**: the direction
holds but not every difference counts, or only some parts hold; **does not**: the direction is wrong.
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


def verdicts(exp: Experiment, results: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(claim part, verdict, evidence) for ``exp``; the rule of each experiment is in its branch."""
    def get(label, group):
        for r in exp.rows:
            if r.label == label and r.group == group:
                return cell(results, r.run, r.variant, exp.metric)
        return Cell(float("nan"), float("nan"), 0)

    def compare(part, a, b, la, lb):
        ok = a.n > 0 and b.n > 0
        d = ok and a.mean > b.mean
        return (part, _verdict([(d, ok and _counts(a, b))]) if ok else "not run",
                f"{la} {a} vs {lb} {b}")

    out = []
    groups = list(dict.fromkeys(r.group for r in exp.rows))
    # Judge only the groups (input sizes) whose every row has results; name the rest as not run.
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
    if exp.name == "resolution":
        sc, none, quarter = "SimCC (Gaussian, k=2)", "heatmap, no post-processing", "heatmap + quarter offset"
        out.append(compare("SimCC beats heatmap without post-processing at 64x64", get(sc, "64x64"),
                           get(none, "64x64"), "SimCC", "heatmap"))
        out.append(compare("SimCC beats heatmap + quarter offset at 64x64", get(sc, "64x64"), get(quarter, "64x64"),
                           "SimCC", "heatmap+quarter"))
        gaps = [get(sc, g).mean - get(none, g).mean for g in groups]
        post = [get(quarter, g).mean - get(none, g).mean for g in groups]
        if len(groups) > 1 and all(math.isfinite(x) for x in gaps + post):
            shrinking = all(a > b for a, b in zip(gaps, gaps[1:]))
            out.append(("the SimCC - heatmap gap shrinks as resolution grows",
                        "reproduces" if shrinking and gaps[0] - gaps[-1] > MARGIN_AP else
                        "partly" if gaps[-1] < gaps[0] else "does not",
                        "gap " + ", ".join(f"{g}: {x:+.1f}" for g, x in zip(groups, gaps))))
            most = post[0] == max(post) and post[0] > 0
            out.append(("heatmaps lose most without post-processing at 64x64",
                        "reproduces" if most and post[0] - max(post[1:]) > MARGIN_AP else
                        "partly" if most else "does not",
                        "quarter-offset gain " + ", ".join(f"{g}: {x:+.1f}" for g, x in zip(groups, post))))
        else:  # one size: whether post-processing matters there; how much that changes with size needs more
            g = groups[0]
            out.append(compare(f"heatmaps need post-processing at {g} (quarter offset beats none)",
                               get(quarter, g), get(none, g), "heatmap+quarter", "heatmap"))
            out.append(("trend across input sizes", "not run",
                        "one input size only (quick mode trains 64x64; `--mode full` adds 128x128 and 256x192)"))
    elif exp.name == "k":
        for g in groups:
            cells = {r.label: get(r.label, g) for r in exp.rows if r.group == g}
            best = max(cells, key=lambda lab: cells[lab].mean if cells[lab].n else -1)
            d = best != "k=1"
            c = d and _counts(cells[best], cells["k=1"])
            out.append((f"k > 1 beats k = 1 at {g} (best: {best})", _verdict([(d, c)]),
                        ", ".join(f"{lab}: {v}" for lab, v in cells.items())))
    elif exp.name == "smoothing":
        g = groups[0]
        ga, la, eq, no = (get(x, g) for x in ("Gaussian", "Laplace", "equal (eps 0.1)", "none (one-hot)"))
        soft = ga if ga.mean >= la.mean else la
        parts = [(min(ga.mean, la.mean) > eq.mean, _counts(Cell(min(ga.mean, la.mean), 0, 1), eq)),
                 (eq.mean > no.mean, _counts(eq, no))]
        out.append(("Gaussian / Laplace > equal > none", _verdict(parts),
                    f"Gaussian {ga}, Laplace {la}, equal {eq}, none {no}"))
        out.append(compare("the best distribution label beats one-hot", soft, no, "best of Gaussian/Laplace", "none"))
    elif exp.name == "upsampling":
        g = groups[0]
        up = next(r.label for r in exp.rows if r.label.startswith("SimCC +"))
        a, b = get("SimCC, no deconv", g), get(up, g)
        ok = a.n > 0 and b.n > 0
        close = ok and abs(a.mean - b.mean) <= MARGIN_AP
        out.append(("SimCC's AP is almost unchanged without deconvs",
                    ("reproduces" if close else "partly" if a.mean > b.mean - 3 * MARGIN_AP else "does not")
                    if ok else "not run", f"no deconv {a} vs with {b} (within {MARGIN_AP:g} AP counts as unchanged)"))
    elif exp.name == "crowded":
        for g in groups:
            out.append(compare(f"SimCC beats heatmap + DARK in crowded scenes at {g}", get("SimCC (Gaussian, k=2)", g),
                               get("heatmap + DARK", g), "SimCC", "heatmap+DARK"))
    elif exp.name == "backbone":
        for bb in ("compact CNN", "Transformer", "ResNet-50"):
            a = get(f"{bb}, SimCC", "64x64")
            if a.n:
                out.append(compare(f"{bb}: SimCC beats heatmap + DARK at 64x64", a, get(f"{bb}, heatmap (DARK)", "64x64"),
                                   "SimCC", "heatmap+DARK"))
    return out


# ---------------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------------
def experiment_figure(exp: Experiment, results: dict[str, dict]):
    """Bar chart of ours per row (grouped by the row's group), with the paper's value as a marker."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    groups = list(dict.fromkeys(r.group for r in exp.rows))
    labels = list(dict.fromkeys(r.label for r in exp.rows))
    fig = Figure(figsize=(max(5.0, 1.6 * len(labels) * len(groups) / 2 + 2), 3.6))
    ax = fig.add_subplot()
    width = 0.8 / len(labels)
    for j, lab in enumerate(labels):
        xs, ys, es, ps = [], [], [], []
        for i, g in enumerate(groups):
            row = next((r for r in exp.rows if r.label == lab and r.group == g), None)
            if row is None:
                continue
            c = cell(results, row.run, row.variant, exp.metric)
            xs.append(i + (j - (len(labels) - 1) / 2) * width)
            ys.append(c.mean)
            es.append(c.std)
            ps.append(row.paper)
        bars = ax.bar(xs, ys, width, yerr=es, label=lab)
        for x, p in zip(xs, ps):
            if p is not None:
                ax.plot([x - width / 2, x + width / 2], [p, p], color=bars.patches[0].get_facecolor(), ls="--",
                        lw=1.0, alpha=0.9)
                ax.plot([x], [p], marker="_", ms=10, color="k")
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel(f"{exp.metric} x 100 (ours: bars; paper: black ticks)")
    ax.set_title(exp.title)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="y", alpha=0.3)
    return fig


# ---------------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------------
def experiment_table(exp: Experiment, results: dict[str, dict]) -> str:
    """Markdown table: input/group, method, paper, ours (and train time of the run)."""
    lines = ["| input | method | paper AP | our AP | our mean error (input px) | run |", "|---|---|---|---|---|---|"]
    for r in exp.rows:
        c = cell(results, r.run, r.variant, exp.metric)
        px = cell(results, r.run, r.variant, "pixel_error")
        paper = "" if r.paper is None else f"{r.paper:.1f}"
        px_s = "n/a" if px.n == 0 else f"{px.mean:.2f}"
        lines.append(f"| {r.group} | {r.label} | {paper} | {c} | {px_s} | `{r.run}` ({r.variant}) |")
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
                 only: tuple[str, ...] = (), recorded: dict | None = None) -> Path:
    """Write ``out_dir/REPORT.md`` and one PNG per experiment; returns the report path.

    ``recorded``: for ``--report-only``, the ``RUN.json`` (beside the report) of the invocation that
    trained (its ``command``, ``wall_s``, ``jobs``), shown instead of this invocation's."""
    out_dir = Path(out_dir)
    names = tuple(only) or tuple(grid.experiments)
    total_train = sum(r.get("wall_s", 0.0) for r in results.values())
    md = ["# SimCC reproduction report", "",
          f"Command: `{command}`  ", f"Mode: {grid.mode}; seeds: {', '.join(map(str, grid.seeds))}  ",
          *[line + "  " for line in environment_lines()],
          (f"Wall time of this invocation: {wall_s / 60:.1f} min; " if wall_s is not None else
           f"Results trained by `{recorded['command']}` in {recorded['wall_s'] / 60:.1f} min wall time "
           f"({recorded.get('jobs', 1)} runs at once); this report rewritten from them (`--report-only`); "
           if recorded else "Report written from existing result files (`--report-only`); ") +
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
        io.save_figure(experiment_figure(exp, results), fig_path)
        sections += [f"## {exp.title}", "", f"*Question.* {exp.question}  ", f"*Paper.* {exp.claim}", "",
                     experiment_table(exp, results), "", *[f"- {part}: **{v}** ({ev})" for part, v, ev in vs], "",
                     f"![{exp.title}]({fig_path.name})", ""]
        if name == "upsampling":
            sections += ["Compute of the runs above (params and FLOPs from `simcc_lab.models`, speed measured during "
                         "training):", "", compute_table(results, list(dict.fromkeys(r.run for r in exp.rows))), ""]
    md += ["", *sections]
    return io.write_text(out_dir / "REPORT.md", "\n".join(md) + "\n")
