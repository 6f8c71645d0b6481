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
# # Lesson 05 — Training a compact model
#
# **Question.** What does it take to train SimCC and a heatmap model, and what do their outputs look like?
#
# We train the compact CNN on SynthPose (synthetic people with exact keypoints) at 64x64, on the CPU. Fast mode
# (the test suite) trains a few steps only; the full mode runs the `synth-*-64` presets
# (`simcc-lab train --preset synth-simcc-64` does the same from the command line).

# %%
# %matplotlib inline
import numpy as np
import torch
import simcc_lab
from simcc_lab import plots, widgets
FAST = widgets.fast_mode()  # the test suite sets SIMCC_LAB_FAST=1: small, quick experiments
print("fast mode" if FAST else "full mode")

# %%
from simcc_lab import engine
from simcc_lab.config import config_from_preset, build_codec
runs = {}
for name in ("simcc", "heatmap"):
    preset = f"synth-{name}-64-tiny" if FAST else f"synth-{name}-64"
    cfg = config_from_preset(preset, out_dir=f"../runs/lesson05-{name}", resume=False, progress=not FAST)
    runs[name] = (cfg, engine.fit(cfg))
plots.history_figure({n: h for n, (c, h) in runs.items()})

# %% [markdown]
# COCOeval on the validation split (ground-truth boxes); the heatmap decoded three ways:

# %%
for name, (cfg, hist) in runs.items():
    for ref in (("none", "quarter", "dark") if name == "heatmap" else ("none",)):
        m = engine.evaluate(cfg, refinement=ref, progress=False)
        print(f"{name:8s} {ref:8s} AP {m['AP']:.3f}  mean error {m.get('pixel_error', float('nan')):.2f} input px")

# %% [markdown]
# Predicted keypoints on validation crops, and the SimCC model's 1-D distributions for the left wrist:

# %%
cfg, _ = runs["simcc"]
codec = build_codec(cfg)
_, val = engine.build_datasets(cfg, codec)
model = engine.build_model_for(cfg, codec, val.spec.num_keypoints)
model.load_state_dict(torch.load(f"{cfg.out_dir}/last.pt", weights_only=True)["model"])
model.eval()
batch = [val[i] for i in range(4)]
images = torch.stack([b["image"] for b in batch])
with torch.no_grad():
    xl, yl = model(images)
kp, _ = codec.decode(xl, yl)
from simcc_lab.data.coco import denormalize
plots.predictions_figure(np.stack([denormalize(i) for i in images]), kp.numpy(),
                         np.stack([b["meta"]["kpts_input"] for b in batch]),
                         torch.softmax(xl, -1).numpy(), torch.softmax(yl, -1).numpy(), k=codec.k)

# %% [markdown]
# **Conclusion.** Both heads train with the same engine, data and schedule; only the codec and loss differ.
# The AP printed above is this run's: in fast mode a few steps leave it near zero (the point is the pipeline),
# while the full presets reach the numbers in `docs/training.md`. SimCC's outputs are two 1-D distributions
# per keypoint whose peaks are the prediction and whose width shows the model's uncertainty.
