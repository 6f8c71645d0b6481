"""The reproduction report: the paper's numbers, ours and a verdict per experiment, as markdown with figures.

Every number of ours comes from a result file written by :func:`simcc_lab.reproduce.runner.run_grid`; the
paper's numbers from :mod:`simcc_lab.paper`. Each experiment's verdicts come from its own rule
(:mod:`.verdicts`, declared beside its rows in :mod:`.grid`), whose family is stated in the report itself
(:data:`~.verdicts.RULES`); its figure from :mod:`.figures`.
"""
from __future__ import annotations

import dataclasses
import platform
from pathlib import Path

import numpy as np

from .. import files
from .figures import FIGURES, curve_points, curves_figure, experiment_figure
from .grid import MODE_EXPERIMENTS, Experiment, Grid
from .results import complete_results, index  # complete_results: public here too
from .statistics import cell
from .verdicts import RULES, Judge, oracle_floor

__all__ = ["write_report", "verdicts", "experiment_table", "curves_table", "compute_table", "floors_table",
           "cell", "complete_results", "experiment_figure", "curves_figure", "RULES", "EXTRA_TABLES"]


def verdicts(exp: Experiment, results: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(claim part, verdict, evidence) for ``exp`` by its own rule. Groups (input sizes) that lack a result are
    left out of the judgement and named as not run."""
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
    return exp.rule(Judge(exp, results)) if exp.rule else []


def _paper_cell(v: float | None) -> str:
    """The paper's number as printed: up to 2 decimals (the backbone means are unrounded)."""
    return "" if v is None else f"{v:.2f}".rstrip("0").rstrip(".")


def experiment_table(exp: Experiment, results: dict[str, dict]) -> str:
    """Markdown table: input/group, method, paper, ours (and train time of the run)."""
    lines = ["| input | method | paper AP | our AP | our mean error (input px) | seeds | run |",
             "|---|---|---|---|---|---|---|"]
    for r in exp.rows:
        c = cell(results, r.run, r.variant, exp.metric)
        px = cell(results, r.run, r.variant, "pixel_error")
        paper = _paper_cell(r.paper)
        px_s = "n/a" if px.n == 0 else f"{px.mean:.2f}" if px.n == 1 else f"{px.mean:.2f} +- {px.std:.2f}"
        lines.append(f"| {r.group} | {r.label} | {paper} | {c} | {px_s} | {c.n} | `{r.run}` ({r.variant}) |")
    return "\n".join(lines)


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


def compute_table(results: dict[str, dict], runs: list[str]) -> str:
    """Params, GFLOPs and measured training speed of the named runs (first seed)."""
    lines = ["| run | params (M) | GFLOPs | train images/s |", "|---|---|---|---|"]
    for name in runs:
        seeds = index(results).of(name)
        if not seeds:
            continue
        r = seeds[min(seeds)]
        lines.append(f"| `{name}` | {r.get('params_m', float('nan')):.2f} | {r.get('gflops', float('nan')):.3f} | "
                     f"{r.get('train_images_per_s', float('nan')):.0f} |")
    return "\n".join(lines)


def floors_table(exp: Experiment, results: dict[str, dict]) -> str:
    """Markdown: per input size and method, the learned mean error, the codec's own floor on the same people
    (encode the truth, decode it) and the part of the error the network adds above that floor."""
    lines = ["| input | method | our mean error (px) | codec floor (px) | learned error above the floor (px) |",
             "|---|---|---|---|---|"]
    for r in exp.rows:
        px = cell(results, r.run, r.variant, "pixel_error")
        floor = oracle_floor(results, r)
        if px.n == 0 or not np.isfinite(floor):
            continue
        lines.append(f"| {r.group} | {r.label} | {px.mean:.2f} | {floor:.2f} | {px.mean - floor:.2f} |")
    return "\n".join(lines)


# Experiment.tables -> (sentence above the table, function of (experiment, results))
EXTRA_TABLES = {
    "compute": ("Compute of the runs above (params and FLOPs from `simcc_lab.models`, speed measured during "
                "training):", lambda exp, results: compute_table(results, list(dict.fromkeys(r.run for r in exp.rows)))),
    "floors": ("Why the gaps change with input size, measured: each head's mean error against its codec's own floor "
               "on the same val people (what the network adds above the floor is what training can still lower):",
               floors_table),
}


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
          # a report rewritten from result files names the machine that wrote it; each result file's own
          # provenance names where that run trained
          *[(line.replace("device:", "report written on:") if wall_s is None else line) + "  "
            for line in environment_lines()],
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
        files.save_figure(FIGURES[exp.figure](exp, results), fig_path)
        table = curves_table if exp.figure == "curves" else experiment_table
        sections += [f"## {exp.title}", "", f"*Question.* {exp.question}  ", f"*Paper.* {exp.claim}", "",
                     table(exp, results), "", *[f"- {part}: **{v}** ({ev})" for part, v, ev in vs], "",
                     f"![{exp.title}]({fig_path.name})", ""]
        for extra in exp.tables:
            sentence, make = EXTRA_TABLES[extra]
            sections += [sentence, "", make(exp, results), ""]
    later = [n for n in MODE_EXPERIMENTS["standard"] if n not in grid.experiments]
    if later:
        md += ["", f"Not in {grid.mode} mode: {', '.join(later)} (`simcc-lab reproduce --mode standard`, "
               "results in `reports/standard/`)."]
    md += ["", *sections]
    return files.write_text(out_dir / "REPORT.md", "\n".join(md) + "\n")
