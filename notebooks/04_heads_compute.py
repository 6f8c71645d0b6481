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
# # Lesson 04 — Heads and compute
#
# **Question.** What does the SimCC head cost compared with SimpleBaseline's heatmap head, with and without the
# deconvolution upsampling?
#
# SimCC head: 1x1 conv to $K$ maps, flatten $H'W'$, two Linear layers to $N_x$ and $N_y$, shared by all keypoints.
# Heatmap head: 3 deconvs (256 ch, kernel 4) from stride 32 to stride 4, then a 1x1 conv.

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
from simcc_lab.codecs import SimCCCodec, HeatmapCodec
from simcc_lab.models import build_model, count_params_flops
from simcc_lab import paper
print("ResNet-50           input    params(M)  GMACs  [backbone / upsampling / head]")
for size, name in (((64, 64), "64x64"), ((128, 128), "128x128"), ((192, 256), "256x192")):
    for label, codec, dc in (("heatmap, 3 deconvs", HeatmapCodec(size, stride=4), None),
                             ("SimCC + 3 deconvs", SimCCCodec(size, k=2), 3), ("SimCC, no deconv", SimCCCodec(size, k=2), 0)):
        c = count_params_flops(build_model("resnet50", codec, 17, deconvs=dc), size)
        g = c["gflops"]
        print(f"{label:19s} {name:8s} {c['params']['total'] / 1e6:8.2f}  {g['total']:5.2f}  "
              f"[{g['backbone']:.2f} / {g['upsampling']:.2f} / {g['head']:.3f}]")
print("paper (SimBa-Res50): params", paper.RES50_PARAMS_M, " GFLOPs", paper.RES50_GFLOPS)

# %% [markdown]
# Parameters agree with the paper (34.0M heatmap; 36.8M SimCC at 256x192, whose paper version keeps the
# deconvs). Our FLOP counter reports multiply-adds: 5.4 G for the heatmap model at 256x192, where the paper
# quotes SimpleBaseline's 8.9 — a counting convention we could not match, so compare ratios, not absolutes.
#
# The compact CNN used for CPU training, and the measured forward time of the two heads (a ratio, one run):

# %%
import time
size = (64, 64) if FAST else (192, 256)
x = torch.randn(16, 3, size[1], size[0])
times = {}
for label, codec, dc in (("heatmap (deconvs to stride 4)", HeatmapCodec(size, stride=4), None),
                         ("SimCC, no deconv", SimCCCodec(size, k=2), 0)):
    m = build_model("compact", codec, 17, deconvs=dc).eval()
    c = count_params_flops(m, size)
    with torch.no_grad():
        m(x)
        t0 = time.perf_counter()
        for _ in range(3 if FAST else 10):
            m(x)
    times[label] = (time.perf_counter() - t0)
    print(f"{label:30s} params {c['params']['total'] / 1e6:.2f}M  GMACs {c['gflops']['total']:.3f}")
print(f"forward time heatmap / SimCC = {times['heatmap (deconvs to stride 4)'] / times['SimCC, no deconv']:.2f}")

# %% [markdown]
# **Conclusion.** Without deconvs the SimCC head adds two small Linear layers and no upsampling: the ResNet-50
# model drops the 1.4 GMACs of deconvs at 256x192 (a quarter of the compute). The measured forward-time ratio
# above depends on the machine and the input size (at 64x64 the compact model's single deconv is cheap); the
# benchmark `benchmarks/bench_heads.py` measures training steps at 256x192. The Linear layers grow with $H'W' \times (N_x + N_y)$, which is why SimCC *with* deconvs at 256x192 has 2.8M more
# parameters. Whether dropping the deconvs costs accuracy is lesson 07's upsampling ablation.
