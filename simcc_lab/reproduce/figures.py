"""The report's figures: grouped bars per experiment (ours beside the paper's) and learning curves.

Both are matplotlib Figures (no pyplot state), saved by :func:`simcc_lab.files.save_figure`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .results import index
from .statistics import cell
from .verdicts import oracle_floor

if TYPE_CHECKING:  # annotations only: the grid's types (grid.py does not import this module)
    from .grid import Experiment, Row

__all__ = ["curve_points", "curves_figure", "experiment_figure", "FIGURES"]


def curve_points(results: dict[str, dict], row: Row, metric: str = "pixel_error") -> dict[int, list[float]]:
    """Samples seen -> the values of ``metric`` (``pixel_error`` input px, or ``AP`` x 100) over seeds, from
    the learning-curve points in the runs' histories (``<metric>_<variant>``)."""
    key = f"{metric}_{row.variant}"
    out: dict[int, list[float]] = {}
    for hist in index(results).histories(row.run):
        for rec in hist:
            if key in rec and rec[key] is not None:
                out.setdefault(int(rec["samples_seen"]), []).append(rec[key] * (100 if metric == "AP" else 1))
    return dict(sorted(out.items()))


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


# Experiment.figure -> the function that draws it
FIGURES = {"bars": experiment_figure, "curves": curves_figure}
