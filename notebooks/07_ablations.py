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
# # Lesson 07 — Ablations: k, label smoothing, upsampling and crowds
#
# **Question.** Which design choices of SimCC matter, on our data?
#
# All numbers below come from the committed reproduction results (`reports/results/*.json`, written by
# `simcc-lab reproduce --mode quick`); the paper's claims are qualitative for these ablations.

# %%
# %matplotlib inline
import numpy as np
import torch
import simcc_lab
from simcc_lab import plots, widgets
FAST = widgets.fast_mode()  # the test suite sets SIMCC_LAB_FAST=1: small, quick experiments
print("fast mode" if FAST else "full mode")

# %%
from pathlib import Path
from simcc_lab import experiments, report, paper
results = experiments.load_results(Path("../reports"))
grid = experiments.build_grid("quick")
print("results found:", len(results))


# %%
def show(name):
    exp = grid.experiments[name]
    print(exp.title, "—", exp.claim)
    if not results:
        print("no results yet: run `make reproduce`")
        return None
    print(report.experiment_table(exp, results))
    for part, verdict, evidence in report.verdicts(exp, results):
        print(f"- {part}: {verdict} ({evidence})")
    return report.experiment_figure(exp, results)
show("k")

# %%
show("smoothing")

# %%
show("upsampling")

# %%
show("crowded")

# %%
show("backbone")

# %% [markdown]
# **Conclusion.** Each verdict line above is computed by the rule stated in `reports/REPORT.md` from our own
# runs. Read them against the paper's claims: the splitting factor trades quantisation against learnability,
# smooth labels should beat one-hot, and dropping the deconvolutions should cost little accuracy while saving the
# compute measured in lesson 04.
