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
# # Lesson 00 — Why classify coordinates?
#
# **Question.** A pose estimator must say where each of a person's 17 keypoints is: two real numbers per
# keypoint. Why would anyone turn those numbers into *classes*?
#
# This course reproduces **SimCC** (Li et al., "SimCC: a Simple Coordinate Classification Perspective for
# Human Pose Estimation", ECCV 2022, [arXiv:2107.03332](https://arxiv.org/abs/2107.03332); an earlier
# version was called SimDR). Its idea fits in one sentence: classify the x coordinate and the y coordinate
# of every keypoint separately, over bins finer than a pixel. This lesson places that idea between the
# two older ones, draws the network, writes down the equations and maps the lessons that follow.
#
# **Where this stands in the paper.** The introduction and the method's overview: the comparison of
# regression, heatmaps and coordinate classification, and the figure of the pipeline. (Section and
# equation numbers are not quoted in these lessons: the project has not checked them against the paper's
# text, so each lesson names the part of the paper instead. The numbers the project uses are collected in
# `simcc_lab/paper.py`.)

# %%
# %matplotlib inline
import numpy as np
import torch
import simcc_lab
from simcc_lab.lessons import plots, widgets
FAST = widgets.fast_mode()  # the test suite sets SIMCC_LAB_FAST=1: small, quick experiments
print("fast mode" if FAST else "full mode")

# %% [markdown]
# ## Three ways to output a keypoint
# A top-down pose estimator sees one person, cropped and resized to an input of $W \times H$ pixels, and
# must output $K$ keypoints. Three families of output exist:
#
# - **Regression**: the last layer outputs the numbers $(x, y)$ directly. Nothing is lost to a grid, but
#   one linear map from global features to exact positions has proved hard to learn: regression
#   methods trailed heatmaps for years.
# - **Heatmaps** (SimpleBaseline, HRNet): the network outputs one image per keypoint, a 2-D Gaussian
#   blob around the keypoint, on a grid of stride $s$ (usually 4: a 64x48 map for a 256x192 input). The
#   prediction is the brightest pixel times $s$. Easy to learn, but the answer lives on the grid, which is
#   why the heatmap world needs upsampling layers and post-processing (lesson 02).
# - **SimCC**: two 1-D distributions per keypoint, one over $N_x = kW$ x-bins and one over $N_y = kH$
#   y-bins ($k \ge 1$ bins per pixel). The prediction is the most likely bin divided by $k$. It keeps the
#   "which position?" classification that makes heatmaps easy to train, on a grid finer than a pixel.
#
# One keypoint at $x = 20.3$ px on a 64 px wide input, as each representation's *target* (what the
# network is trained to output), decoded straight back by the library's codecs:

# %%
# NBVAL_CHECK_OUTPUT
rep = plots.representations_figure(x=20.3, width=64, stride=4, k=2, sigma=2.0)
print("representation  values per keypoint (64x64 input)  decoded x   error (px)")
for name in ("regression", "heatmap", "simcc"):
    print(f"{name:14s}  {rep.values[name]:32d}  {rep.decoded[name]:9.2f}  {rep.decoded[name] - 20.3:+10.2f}")

# %%
rep

# %% [markdown]
# The heatmap cannot say 20.3: its grid has a point every 4 px, so every keypoint between 18 and 22 px
# comes back as 20. SimCC with $k = 2$ has a bin every 0.5 px and misses by 0.05 px. How big the outputs
# are at the paper's three input sizes (regression: 2 numbers; heatmap: $\frac{W}{4}\cdot\frac{H}{4}$;
# SimCC: $k(W + H)$):

# %%
# NBVAL_CHECK_OUTPUT
from simcc_lab.codecs import HeatmapCodec, SimCCCodec
print("input (H x W)  regression  heatmap (stride 4)  SimCC k=2  SimCC k=3")
for size in ((64, 64), (128, 128), (192, 256)):
    w, h = HeatmapCodec(size, stride=4).heatmap_size
    s2, s3 = (sum(SimCCCodec(size, k=k).simcc_size) for k in (2, 3))
    print(f"{size[1]:>5d}x{size[0]:<6d}  {2:10d}  {w * h:18d}  {s2:9d}  {s3:9d}")

# %% [markdown]
# ## The network
# SimCC keeps the backbone of whichever pose network it is applied to (SimpleBaseline's ResNet, HRNet or
# a Transformer such as TokenPose) and replaces only the head. A 1x1 convolution makes one feature map
# per keypoint, each map is flattened into a vector of $H'W'$ numbers, and two Linear layers, shared by
# all keypoints, turn that vector into $N_x$ x-logits and $N_y$ y-logits. A softmax over each gives the two
# 1-D distributions; the argmax divided by $k$ is the keypoint. The grey dashed branch is the heatmap head
# it replaces: three transposed convolutions that upsample from stride 32 to stride 4.

# %%
arch = plots.architecture_figure(input_size=(192, 256), k=2, num_keypoints=17)
arch

# %% [markdown]
# The shapes in the drawing are computed from the input size; a real ResNet-50 SimCC model built by the
# library (no deconvolutions, random weights) gives the same ones:

# %%
# NBVAL_CHECK_OUTPUT
from simcc_lab.models import build_model
model = build_model("resnet50", SimCCCodec((192, 256), k=2), 17, deconvs=0).eval()
with torch.no_grad():
    x_logits, y_logits = model(torch.zeros(1, 3, 256, 192))
print("x logits", tuple(x_logits.shape), " y logits", tuple(y_logits.shape), " (batch, keypoints, bins)")
print("drawn:  ", arch.shapes["x_logits"], arch.shapes["y_logits"],
      " match:", (tuple(x_logits.shape[1:]), tuple(y_logits.shape[1:])) == (arch.shapes["x_logits"], arch.shapes["y_logits"]))

# %% [markdown]
# ## The equations
# In the paper's convention a keypoint at input coordinate $x$ (pixels) sits at bin position $x \cdot k$,
# and the input's $W$ pixels become
#
# $$N_x = \mathrm{round}(k W), \qquad N_y = \mathrm{round}(k H) \qquad \text{classes per axis.}$$
#
# **Target.** With label smoothing (lesson 03) the target over bins $i = 0 \dots N_x - 1$ is a Gaussian
# centred at the keypoint's bin position $\mu = x k$, with $\sigma$ in bins (the official configs use
# 4 to 6 at $k = 2$):
#
# $$t_i = \frac{1}{\sigma\sqrt{2\pi}} \exp\!\Big(-\frac{(i - \mu)^2}{2\sigma^2}\Big).$$
#
# **Loss.** The network's logits $z$ become a distribution $p = \mathrm{softmax}(z)$, and training
# minimises the Kullback-Leibler divergence per axis, combined over the two axes (the library averages
# them) and averaged over the labelled keypoints:
#
# $$\mathcal{L} = \sum_i t_i \log\frac{t_i}{p_i} \quad (\text{x axis}) \; + \; (\text{the same for y}).$$
#
# **Decoding.** The prediction is the most likely bin, back in pixels, and the keypoint's confidence the
# smaller of the two peaks:
#
# $$\hat x = \frac{\arg\max_i p^x_i}{k}, \qquad \hat y = \frac{\arg\max_j p^y_j}{k}, \qquad
# c = \min\big(\max_i p^x_i,\ \max_j p^y_j\big).$$
#
# A grid of bins $1/k$ px wide can be off by at most $\frac{1}{2k}$ px per axis, $\frac{1}{4k}$ on average
# (lesson 01 derives it, lesson 02 measures it). The library's bin positions are shifted from $x k$ by a
# constant $(k - 1)/2$ bins because it puts pixel centres at integer coordinates; lesson 01 explains the
# shift and relates it to the paper's and MMPose's conventions.
#
# ## Map of the lessons
# | lesson | question | paper |
# |---|---|---|
# | 00 why classify | why turn coordinates into classes? | introduction, method overview |
# | 01 bins | how does a classifier place a keypoint to a fraction of a pixel? | the splitting factor $k$ |
# | 02 quantisation | how much does each representation lose before learning, and what is that in AP? | the quantisation-error argument; heatmap post-processing (DARK) |
# | 03 label smoothing | what target does each classifier learn, and what loss does it give? | label smoothing (Gaussian, Laplace, equal) and the KL loss |
# | 04 heads and compute | what does the SimCC head cost against the heatmap head? | the params / GFLOPs columns of the COCO table |
# | 05 training | what does training either model take, and what does it output? | training settings |
# | 06 resolution | does SimCC win most at low resolution? | the COCO table across 64x64, 128x128, 256x192 |
# | 07 ablations | which design choices matter? | ablations of $k$, smoothing, upsampling; CrowdPose |
# | 08 does it reproduce? | which of the paper's claims hold on our data, and why? | all of its claims, with verdicts and evidence |

# %% [markdown]
# > **Key takeaways**
# >
# > - Regression outputs the coordinates directly (nothing lost to a grid, but hard to learn); heatmaps
# >   classify a 2-D position on a stride-4 grid (easy to learn, but coarse); SimCC classifies x and y
# >   separately on a grid of $k$ bins per pixel.
# > - SimCC changes only the head: 1x1 conv, flatten, two shared Linear layers, softmax, argmax / $k$.
# >   No upsampling and no post-processing are needed to reach sub-pixel positions.
# > - Two 1-D outputs grow with $W + H$, a heatmap with $W \cdot H$: the same 256 numbers per keypoint at
# >   64x64, 896 against 3072 at 256x192 (table above).
#
# ## Exercises
# **1.** How many classes per keypoint does SimCC use at 384x288 (H x W) with $k = 2$, and how many values
# does a stride-4 heatmap have there?
#
# <details><summary>Answer</summary>
#
# SimCC: 2 (288 + 384) = 1344 classes (576 x-bins and 768 y-bins). Heatmap: 72 x 96 = 6912 values. Check
# with `sum(SimCCCodec((288, 384), k=2).simcc_size)` and `HeatmapCodec((288, 384), stride=4).heatmap_size`.
# </details>
#
# **2.** In the figure the heatmap decodes $x = 20.3$ to 20.0. Which true positions decode to 20.0, and
# what is the largest error a stride-4 heatmap decoded by argmax can make along one axis?
#
# <details><summary>Answer</summary>
#
# The heatmap's centre is round(x / 4), so every x in [18, 22) lands on grid point 5 and decodes to 20.0.
# The worst error is half the stride, 2 px per axis (the SimCC equivalent is 1/(2k) = 0.25 px at k = 2).
# Try `plots.representations_figure(x=21.9).decoded`.
# </details>
#
# **3.** Regression has no grid at all. Why does the paper not simply regress the coordinates?
#
# <details><summary>Answer</summary>
#
# A grid-free output is not the bottleneck; learning is. Mapping a whole feature vector straight to two
# numbers gives the network no spatial structure to lean on, and regression-based pose estimators
# trailed heatmap methods in accuracy. Classification keeps the "score every candidate position" form
# that trains well; SimCC's contribution is to make the candidate positions fine (sub-pixel) and cheap
# (1-D instead of 2-D). This project does not train a regression model, so it takes this point from the
# literature rather than measuring it.
# </details>
