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
# # Lesson 03 — Label smoothing: what each classifier is asked to predict
#
# **Question.** SimCC trains its two classifiers against a target distribution over bins. What do the
# one-hot, equal, Gaussian and Laplace targets look like, and how do they change the loss of the same
# prediction?
#
# With the keypoint's bin position $\mu = (x + 0.5)k - 0.5$ and its nearest bin $j^\ast = \lfloor\mu + 0.5\rfloor$,
# over bins $i = 0 \dots N-1$:
#
# | shape | label $t_i$ |
# |---|---|
# | one-hot | $1$ if $i = j^\ast$, else $0$ |
# | equal (standard label smoothing) | $1 - \epsilon$ if $i = j^\ast$, else $\epsilon / (N - 1)$ |
# | Gaussian | $\exp\!\big(-(i - \mu)^2 / 2\sigma^2\big) / (\sigma\sqrt{2\pi})$ |
# | Laplace | $\exp(-\lvert i - \mu\rvert / b) \,/\, Z$, $Z$ its sum over the integers |
#
# $\sigma$ and $b$ are in bins. The official code keeps $\mu$ *continuous*; MMPose *rounds* it to $j^\ast$
# first. `simcc_lab.codecs.smoothing` holds the four functions, and `SimCCCodec(smoothing=...)` calls them.
#
# **Where this stands in the paper.** The method's label smoothing (one-hot, standard "equal" smoothing,
# Gaussian and Laplace targets) and its KL-divergence loss, and the smoothing ablation whose conclusion
# is Gaussian / Laplace > equal > none (arXiv:2107.03332; our own ablation is lesson 07). The paper's
# Gaussian is wider than the one drawn here: its configs use $\sigma$ = 4 to 6 bins at $k = 2$ (2 to 3
# input px); this lesson uses $\sigma = 2$ bins (1 px) so that the shapes stay visible on a 12-pixel
# axis, and the next section compares the widths.

# %%
# %matplotlib inline
import numpy as np
import torch
import simcc_lab
from simcc_lab.lessons import plots, widgets
FAST = widgets.fast_mode()  # the test suite sets SIMCC_LAB_FAST=1: small, quick experiments
print("fast mode" if FAST else "full mode")

# %% [markdown]
# The four functions at $x = 5.3$ px, $k = 2$ ($\mu = 11.1$), $\sigma = b = 2$ bins, $\epsilon = 0.1$, on
# 24 bins; printed: bins 9 to 13 and the label's sum.

# %%
# NBVAL_CHECK_OUTPUT
from simcc_lab.codecs import smoothing as S
from simcc_lab.codecs import SimCCCodec
bins, mu = np.arange(24, dtype=np.float32), np.float32((5.3 + 0.5) * 2 - 0.5)
labels = {"none": S.one_hot(bins, mu), "equal": S.equal(bins, mu, eps=0.1),
          "gaussian": S.gaussian(bins, mu, sigma=2.0), "laplace": S.laplace(bins, mu, b=2.0)}
for name, t in labels.items():
    print(f"{name:8s} bins 9..13: " + " ".join(f"{v:.4f}" for v in t[9:14]) + f"   sum {t.sum():.4f}")
codec = SimCCCodec((12, 1), k=2, smoothing="gaussian", sigma=2.0)
print("SimCCCodec's x label equals S.gaussian:",
      bool(np.allclose(codec.encode(np.array([[[5.3, 0.0]]]), np.ones((1, 1))).x[0, 0], labels["gaussian"], atol=1e-6)))

# %%
plots.label_shapes_figure(x=5.3, k=2, sigma=2.0, eps=0.1)

# %% [markdown]
# Try every control: sigma (the Gaussian's $\sigma$ and the Laplace $b$), the keypoint's x, $k$, $\epsilon$, the centre rule and the shape.

# %%
widgets.smoothing_app()

# %% [markdown]
# ## The paper's sigma
# A Gaussian label's width in input pixels is $\sigma / k$. The lesson's $\sigma = 2$ bins against the
# paper's 4 and 6 (all at $k = 2$), for a keypoint at $x = 20.3$ px on a 48-px axis (the library's default,
# `SimCCCodec(sigma=4.0)`, is the paper's lower end):

# %%
# NBVAL_CHECK_OUTPUT
print("sigma (bins)  sigma (px)  FWHM (px)  peak   mass within 1 px of x")
for sigma in (2.0, 4.0, 6.0):
    t = SimCCCodec((48, 1), k=2, smoothing="gaussian", sigma=sigma).encode(np.array([[[20.3, 0.0]]]), np.ones((1, 1))).x[0, 0]
    near = np.abs((np.arange(t.shape[0]) + 0.5) / 2 - 0.5 - 20.3) <= 1.0
    print(f"{sigma:12.0f}  {sigma / 2:10.1f}  {2.3548 * sigma / 2:9.2f}  {t.max():.3f}  {t[near].sum() / t.sum():21.3f}")

# %% [markdown]
# A wider label spreads the target over more bins (at $\sigma = 6$ bins only about a quarter of its mass
# lies within 1 px of the keypoint), which makes the target easier to approach early in training and
# more tolerant of annotation noise, at the price of a less decisive peak.
#
# ## Continuous or rounded centre?
# A rounded centre throws away the fraction of $\mu$ that the bin grid cannot show: the label is the same for
# every $x$ inside one bin. The label's mean position, $\sum_i t_i x_i / \sum_i t_i$ (in input px), tells where
# the label says the keypoint is:

# %%
# NBVAL_CHECK_OUTPUT
print("true x    continuous label mean   rounded label mean   (k=2, sigma 2 bins)")
for x in (5.0, 5.1, 5.2, 5.3, 5.4):
    means = []
    for centre in ("continuous", "rounded"):
        t = SimCCCodec((12, 1), k=2, sigma=2.0, centre=centre).encode(np.array([[[x, 0.0]]]), np.ones((1, 1))).x[0, 0]
        means.append(float((t * ((np.arange(24) + 0.5) / 2 - 0.5)).sum() / t.sum()))
    print(f"{x:6.2f}    {means[0]:20.4f}   {means[1]:18.4f}")

# %% [markdown]
# ## The loss of one prediction under each label
# The KL divergence $\mathrm{KL}(t \,\|\, p) = \sum_i t_i \log t_i - t_i \log p_i$ with $p = \mathrm{softmax}$(logits) is
# SimCC's loss (`losses.SimCCKLLoss`). Take one fixed prediction: a softmax whose logits are a parabola,
# i.e. a Gaussian-shaped distribution of $\sigma = 3$ bins, centred 1 px right of and below the keypoint
# (a network that is almost right), and score it against each label:

# %%
# NBVAL_CHECK_OUTPUT
from simcc_lab.training.losses import SimCCKLLoss
kp, vis = np.array([[[20.3, 20.3]]]), np.ones((1, 1))
pred_codec = SimCCCodec((48, 48), k=2)
mu_pred = torch.as_tensor(pred_codec.bin_positions(kp + 1.0))  # (1, 1, 2) bin positions of the prediction
bins = torch.arange(96, dtype=torch.float64)
logits = tuple((-(bins - mu_pred[..., a, None]) ** 2 / (2 * 3.0**2)).float() for a in (0, 1))  # (1, 1, 96) each
for centre in ("continuous", "rounded"):
    for shape in ("none", "equal", "gaussian", "laplace"):
        t = SimCCCodec((48, 48), k=2, smoothing=shape, sigma=2.0, eps=0.1, centre=centre).encode(kp, vis)
        loss = SimCCKLLoss()(logits, (torch.as_tensor(t.x), torch.as_tensor(t.y)), torch.as_tensor(t.weights))
        print(f"{centre:10s} {shape:8s} KL = {float(loss):.3f} nats")

# %% [markdown]
# How the loss changes as that prediction slides past the keypoint (x-axis only, continuous centre):
# left the KL itself, right the KL above its minimum.

# %%
# NBVAL_CHECK_OUTPUT
slide = plots.kl_vs_offset_figure(x=20.3, width=48, k=2, label_sigma=2.0, pred_sigma=3.0, eps=0.1)
for shape, (offsets, kl) in slide.kl.items():
    best = int(kl.argmin())
    print(f"{shape:8s} minimum KL {kl[best]:.3f} at offset {offsets[best]:+.2f} px; "
          f"KL(+1 px) - KL(min) = {kl[np.argmin(abs(offsets - 1))] - kl[best]:.3f}")

# %%
slide

# %% [markdown]
# ## A 2-D heatmap against two 1-D labels
# SimpleBaseline encodes the same keypoint as a 2-D Gaussian on a stride-4 grid; SimCC as two 1-D labels at
# $k$ bins per pixel. The sizes per keypoint at the paper's input sizes:

# %%
# NBVAL_CHECK_OUTPUT
from simcc_lab.codecs import HeatmapCodec
for size in ((64, 64), (128, 128), (192, 256)):
    w, h = HeatmapCodec(size, stride=4).heatmap_size
    nx, ny = SimCCCodec(size, k=2).simcc_size
    print(f"{size[1]}x{size[0]}: heatmap {w}x{h} = {w * h:5d} values, SimCC k=2 {nx} + {ny} = {nx + ny:4d} values")

# %%
plots.heatmap_vs_simcc_figure(x=20.3, y=27.6, input_size=(48, 64), k=2, sigma=2.0, stride=4)

# %%
widgets.heatmap_vs_simcc_app()

# %% [markdown]
# **Conclusion.** The four labels differ in three ways that the numbers above show.
# *The floor*: the same prediction, 1 px off, costs 0.350 nats against the Gaussian label and 0.304 against
# Laplace, but 2.263 against one-hot and 5.877 against equal smoothing; in the sweep the lowest KL this
# Gaussian-shaped prediction reaches is 0.128 (Gaussian) and 0.081 (Laplace) against 2.018 (one-hot) and 5.762
# (equal). A smooth label can be matched closely by a smooth, finite-logit prediction; one-hot can only be matched by putting all mass on one bin, and equal smoothing asks
# for $\epsilon/(N-1)$ on every far bin where a confident prediction has none: it regularises confidence but
# has no notion of distance. *Where the minimum sits*: at the true keypoint (offset 0.00) for the continuous
# Gaussian and Laplace, at the bin centre ($-0.05$ px) for one-hot, and $+0.30$ px towards the middle of the
# axis for equal smoothing. *The pull*: moving the prediction 1 px off costs about the same for one-hot,
# Gaussian and Laplace (0.22 to 0.25 nats) and half that for equal. Rounding the centre gives every x from 5.0
# to 5.4 the same label (mean 5.25 px), an error of up to $1/(2k)$ built into the targets; the continuous
# label's mean follows x exactly. Finally, two 1-D labels need fewer numbers than a stride-4 heatmap once the
# input grows: the same 256 at 64x64, 896 against 3072 at 256x192.

# %% [markdown]
# > **Key takeaways**
# >
# > - A SimCC target is a distribution over bins: one-hot, equal smoothing ($1 - \epsilon$ plus a uniform
# >   floor), or a Gaussian / Laplace around the keypoint's bin position; the loss is the KL divergence
# >   from target to softmax.
# > - Smooth labels know about distance: a prediction 1 px off costs little more than a perfect one, and
# >   the loss is lowest at the true keypoint. Equal smoothing regularises confidence but has no notion of
# >   distance.
# > - Keep the centre continuous: rounding it builds an error of up to $1/(2k)$ px into the targets. The
# >   paper's $\sigma$ is 4 to 6 bins at $k = 2$, i.e. 2 to 3 input px.
#
# ## Exercises
# **1.** The paper uses $\sigma = 6$ bins at $k = 2$. How wide is that in input pixels, and what $\sigma$
# in bins gives the same width at $k = 3$?
#
# <details><summary>Answer</summary>
#
# sigma / k = 3 px. At k = 3 the same 3 px is sigma = 9 bins. A sigma fixed in bins gets narrower in
# pixels as k grows, which is worth remembering when comparing the paper's k ablation.
# </details>
#
# **2.** Why can the KL loss against a one-hot label never reach 0 for a network with finite logits?
#
# <details><summary>Answer</summary>
#
# Against a one-hot target the KL divergence is -log p of the target bin. A softmax of finite logits
# gives every bin some probability, so p of the target bin is below 1 and the loss stays above 0; it
# approaches 0 only as the logits diverge. That pushes a network towards ever larger logits (over-
# confidence), one of the reasons to smooth.
# </details>
#
# **3.** With the rounded (MMPose) centre at $k = 2$, which keypoint positions share the label of
# $x = 5.3$ px?
#
# <details><summary>Answer</summary>
#
# x = 5.3 has bin position (5.3 + 0.5) x 2 - 0.5 = 11.1, nearest bin 11. Every x whose bin position lies
# in [10.5, 11.5) has the same rounded label: x from 5.0 up to (not including) 5.5 px. The continuous
# label tells them apart; the rounded one cannot.
# </details>
