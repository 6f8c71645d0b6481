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
#
# **Where this stands in the paper.** The parameter and GFLOPs columns of the COCO results table
# (SimpleBaseline-ResNet-50, "SimBa-Res50", against its SimCC version at each input size) and the claim
# that SimCC can drop the upsampling layers, saving compute (arXiv:2107.03332; the accuracy side of that
# claim is lesson 07's upsampling ablation).

# %%
# %matplotlib inline
import numpy as np
import torch
import simcc_lab
from simcc_lab.lessons import plots, widgets
FAST = widgets.fast_mode()  # the test suite sets SIMCC_LAB_FAST=1: small, quick experiments
print("fast mode" if FAST else "full mode")

# %% [markdown]
# The paper's numbers for SimBa-Res50 (`simcc_lab.paper`; a dash where the table gives none):

# %%
# NBVAL_CHECK_OUTPUT
from simcc_lab import paper
def cell(v):
    return f"{v:.1f}" if v is not None else "-"
print("input (H x W)   params heatmap (M)  params SimCC (M)  GFLOPs heatmap  GFLOPs SimCC")
for name in ("64x64", "128x128", "256x192"):
    (ph, ps), (gh, gs) = paper.RES50_PARAMS_M.get(name, (None, None)), paper.RES50_GFLOPS[name]
    print(f"{name:14s}  {cell(ph):>18s}  {cell(ps):>16s}  {cell(gh):>14s}  {cell(gs):>12s}")

# %% [markdown]
# Our ResNet-50 models, counted by `count_params_flops`: multiply-adds actually performed (GMACs,
# $10^9$), split into backbone, upsampling and head. SimCC uses the official configs' $k$ (3 at 64x64,
# 2 above); the paper's SimCC models keep the deconvolutions ("SimCC + 3 deconvs").

# %%
# NBVAL_CHECK_OUTPUT
from simcc_lab.codecs import SimCCCodec, HeatmapCodec
from simcc_lab.models import build_model, count_params_flops
from simcc_lab.models.counting import PAPER_K
SIZES = (((64, 64), "64x64"), ((128, 128), "128x128"), ((192, 256), "256x192"))
models, counts = {}, {}
print("ResNet-50           input    params(M)  GMACs  [backbone / upsampling / head]")
for size, name in SIZES:
    k = PAPER_K[size]
    for label, codec, dc in (("heatmap, 3 deconvs", HeatmapCodec(size, stride=4), None),
                             ("SimCC + 3 deconvs", SimCCCodec(size, k=k), 3), ("SimCC, no deconv", SimCCCodec(size, k=k), 0)):
        m = models[name, label] = build_model("resnet50", codec, 17, deconvs=dc)
        c = counts[name, label] = count_params_flops(m, size)
        g = c["gflops"]
        print(f"{label:19s} {name:8s} {c['params']['total'] / 1e6:8.2f}  {g['total']:5.2f}  "
              f"[{g['backbone']:.2f} / {g['upsampling']:.2f} / {g['head']:.3f}]")

# %% [markdown]
# Parameters agree with the paper (34.0M heatmap; 34.1M and 36.8M for SimCC with deconvs). The compute
# does not: 5.43 G multiply-adds for the heatmap model at 256x192 where the paper says 8.9. The paper's
# numbers come from the model summary of the SimpleBaseline / HRNet code it builds on, which counts
# differently in two ways (`simcc_lab.models.counting.count_like_paper` reimplements it):
#
# - a transposed convolution is charged (kernel size x channels in x channels out) for every *output*
#   pixel. A stride-2 deconvolution touches each output pixel with only a quarter of its kernel, so
#   this charges 4x the multiply-adds it performs;
# - the total is divided by $2^{30}$ rather than $10^9$.
#
# Counting the same models that way:

# %%
# NBVAL_CHECK_OUTPUT
from simcc_lab.models.counting import count_like_paper
print("model               input    performed GMACs  paper's count (deconvs, 2^30)  paper   of it: upsampling")
for size, name in SIZES:
    for label, col in (("heatmap, 3 deconvs", 0), ("SimCC + 3 deconvs", 1)):
        ours = counts[name, label]["gflops"]["total"]
        like = count_like_paper(models[name, label], size)
        published = paper.RES50_GFLOPS[name][col]
        print(f"{label:19s} {name:8s} {ours:15.2f}  {like['total']:28.2f}  {cell(published):>6s}  "
              f"{like['deconv'] / like['total']:17.0%}")

# %% [markdown]
# That reproduces every GFLOPs number the paper gives to within 0.1 (8.99 against 8.9 at 256x192 for the
# heatmap model, 9.03 against 9.0 for SimCC): the 8.9 and our 5.43 count the same model. The convention
# inflates the upsampling: in the paper's count the deconvolutions are more than half of the model
# (last column), in multiply-adds actually performed about a quarter. Compare ratios within one
# convention, never numbers across the two.
#
# The ratios, in performed multiply-adds (bars: backbone, upsampling, head; right: each model's total
# over the heatmap model's):

# %%
rows = [dict(input=name, model=label, **{p: counts[name, label]["gflops"][p] for p in ("backbone", "upsampling", "head")})
        for _, name in SIZES for label in ("heatmap, 3 deconvs", "SimCC + 3 deconvs", "SimCC, no deconv")]
compute = plots.compute_figure(rows)
for name, ratios in compute.ratios.items():
    print(f"{name:8s} " + ", ".join(f"{m} {r:.2f}" for m, r in ratios.items()))
compute

# %% [markdown]
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
# model drops the 1.41 GMACs of deconvs at 256x192 and runs at 0.74 of the heatmap model's compute
# (0.74 at every size in the chart). With the deconvs kept, as in the paper's table, SimCC costs the
# same as the heatmap model (1.01 at 256x192), matching the paper's 8.9 against 9.0 once both are
# counted its way. The measured forward-time ratio above depends on the machine and the input size (at
# 64x64 the compact model's single deconv is cheap); the benchmark `benchmarks/bench_heads.py` measures
# training steps at 256x192. The Linear layers grow with $H'W' \times (N_x + N_y)$, which is why SimCC
# *with* deconvs at 256x192 has 2.8M more parameters. Whether dropping the deconvs costs accuracy is
# lesson 07's upsampling ablation.
#
# > **Key takeaways**
# >
# > - SimCC's head is a 1x1 conv and two Linear layers; without upsampling it removes about a quarter of
# >   a ResNet-50 pose model's multiply-adds, at every input size.
# > - With the deconvolutions kept, SimCC and heatmap models cost the same; only the parameters grow,
# >   with the flattened feature size times $N_x + N_y$.
# > - FLOP tables follow conventions: the paper's 8.9 "GFLOPs" and our 5.43 GMACs are the same model,
# >   counted with deconvolutions charged per output pixel and in units of $2^{30}$.
#
# ## Exercises
# **1.** SimCC with deconvs at 256x192 has 2.75M more parameters than the heatmap model; without
# deconvs its head has almost none. Where does the difference come from?
#
# <details><summary>Answer</summary>
#
# The Linear layers take the flattened feature map of each keypoint. After three deconvs the map is
# 64 x 48 = 3072 values, so Linear(3072, 384) and Linear(3072, 512) hold 3072 x 896 + 896 = 2.75M
# parameters. Straight from the backbone it is 8 x 6 = 48 values: 48 x 896 + 896 = 43.9k.
# </details>
#
# **2.** Count the first deconvolution of the heatmap head at 256x192 (2048 -> 256 channels, kernel 4,
# stride 2, 8x6 -> 16x12) both ways.
#
# <details><summary>Answer</summary>
#
# Performed: every input pixel spreads a 4x4 kernel for each channel pair, 2048 x 256 x 16 x 48 =
# 0.403 G multiply-adds. The paper's convention charges every output pixel the whole kernel:
# 2048 x 256 x 16 x 192 = 1.611 G, four times as much (1.50 in units of 2^30).
# </details>
#
# **3.** The compact model's forward-time ratio differs from its GMACs ratio. Name two reasons why
# multiply-add counts do not predict run time.
#
# <details><summary>Answer</summary>
#
# Run time also depends on memory traffic (large activations such as stride-4 feature maps are read and
# written several times), on how efficient each kernel is on the hardware (transposed convolutions and
# small Linear layers use it differently from 3x3 convolutions), and on work the count leaves out
# (BatchNorm, activations, softmax). Measure on the target machine, as `benchmarks/bench_heads.py` does.
# </details>
