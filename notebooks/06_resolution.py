# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 06 — Heatmap versus SimCC across input sizes
#
# **Question.** Does SimCC beat heatmaps most at low resolution, as the paper reports (+6 to +11 AP at 64x64,
# about +1 AP at 256x192)?
#
# We read the committed reproduction results (`simcc-lab reproduce --mode quick`, in `reports/`) and set them
# beside the paper's table; then run a live mini-experiment.

# %%
# %matplotlib inline
import numpy as np
import torch
import simcc_lab
from simcc_lab import plots, widgets
FAST = widgets.fast_mode()  # the test suite sets SIMCC_LAB_FAST=1: small, quick experiments
print("fast mode" if FAST else "full mode")

# %%
# NBVAL_CHECK_OUTPUT
from simcc_lab import paper
print("paper, mean over 4 backbones: input  heatmap+post  heatmap  SimCC")
for s in ("64x64", "128x128", "256x192"):
    rows = [v[s] for v in paper.RESOLUTION_AP.values()]
    print(f"  {s:8s}" + "".join(f"{np.mean([r[i] for r in rows]):10.1f}" for i in range(3)))

# %%
from pathlib import Path
from simcc_lab import experiments, report
results = experiments.load_results(Path("../reports"))
grid = experiments.build_grid("quick")
if results:
    print(report.experiment_table(grid.experiments["resolution"], results))
    for part, verdict, evidence in report.verdicts(grid.experiments["resolution"], results):
        print(f"- {part}: {verdict} ({evidence})")
else:
    print("no reproduction results yet: run `make reproduce` (about 30 minutes on 2 cores)")

# %%
report.experiment_figure(grid.experiments["resolution"], results) if results else None

# %% [markdown]
# The quick reproduction trains at 64x64 only (a 128x128 run costs about four times as much on a CPU), so the
# trend across sizes needs `--mode full`. What we *can* measure at every size in seconds is the part of the
# gap that comes from the representation itself: the codec oracle of lesson 02 (a perfect network; encode the
# truth, decode it, score it) on the quick run's own validation set, at the paper's three input sizes:

# %%
# NBVAL_CHECK_OUTPUT
from simcc_lab import oracle
from simcc_lab.data.synthetic import ensure_dataset
base = grid.base
n_val = 40 if FAST else base["synth_val_images"]
val_json, _ = ensure_dataset(name=f"lesson06-val{n_val}", num_train=1, num_val=n_val, seed=0, progress=False)["val"]
GRID = [("SimCC k=2", dict(kind="simcc", k=2.0)),
        ("heatmap argmax", dict(kind="heatmap", stride=4, refinement="none")),
        ("heatmap DARK", dict(kind="heatmap", stride=4, refinement="dark", encoding="unbiased"))]
rows, md = oracle.oracle_table([val_json], grid=GRID, names=[f"SynthPose val ({n_val} images)"])
ap = {(r["input"], r["codec"]): r["AP"] for r in rows}
for size in ("64x64", "128x128", "256x192"):
    print(f"{size:8s} oracle gap SimCC - heatmap argmax: {100 * (ap[size, 'SimCC k=2'] - ap[size, 'heatmap argmax']):5.1f} AP,"
          f"  SimCC - heatmap DARK: {100 * (ap[size, 'SimCC k=2'] - ap[size, 'heatmap DARK']):5.1f} AP")

# %%
plots.oracle_figure(rows)

# %% [markdown]
# A live mini-run of the same comparison at 64x64 (tiny in fast mode: only the pipeline, not the numbers):

# %%
from simcc_lab import engine
from simcc_lab.config import config_from_preset
for name in ("simcc", "heatmap"):
    preset = f"synth-{name}-64-tiny" if FAST else f"synth-{name}-64"
    cfg = config_from_preset(preset, out_dir=f"../runs/lesson06-{name}", resume=False, progress=False)
    engine.fit(cfg)
    for ref in (("none", "dark") if name == "heatmap" else ("none",)):
        print(f"{name} {ref}: AP {engine.evaluate(cfg, refinement=ref, progress=False)['AP']:.3f}")

# %% [markdown]
# **Conclusion.** The paper's mean gap shrinks from 64x64 to 256x192. At the codec level it does here too:
# the oracle gap between SimCC and an argmax heatmap is largest at 64x64 and (nearly) gone at 256x192, and on
# noise-free targets DARK closes almost all of it at every size; that is the mechanism the paper argues from
# (DARK needs clean Gaussian maps, which trained networks do not output exactly). Whether trained networks
# follow it is the table above: our committed quick run (compact CNN, SynthPose, 64x64 only) says whether
# SimCC beats the heatmap there, and the trend across sizes is left to `--mode full` (`reports/REPORT.md`).
