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
# # Lesson 01 — Bins: a coordinate as a class
#
# **Question.** A classifier picks one class out of a finite set. How does SimCC use one to place a keypoint
# to a fraction of a pixel, and what does the choice of classes cost?
#
# SimCC classifies the two axes separately. An input $W$ pixels wide is cut into $k$ bins per pixel
# ($k$ is the *splitting factor*), so the x classifier has
#
# $$N_x = \mathrm{round}(kW) \qquad (\text{and } N_y = \mathrm{round}(kH)).$$
#
# Pixel centres sit at integer coordinates: pixel $i$ covers $[i - \tfrac12, i + \tfrac12)$. Bin $j$ covers
# $[\tfrac{j}{k} - \tfrac12, \tfrac{j+1}{k} - \tfrac12)$ and stands for its centre
#
# $$x_j = \frac{j + 0.5}{k} - 0.5 .$$
#
# A keypoint at $x$ has the bin position $\mu = (x + 0.5)\,k - 0.5$. Its class is the bin that holds it,
# $j^\ast = \lfloor \mu + 0.5 \rfloor$, and decoding turns the most likely class back into pixels,
# $\hat x = x_{j^\ast}$. $\hat x$ and $x$ share a bin of width $1/k$, so $|\hat x - x| \le 1/(2k)$.
#
# **Where this stands in the paper.** The method's coordinate classification: the splitting factor $k$
# and the classifier sizes $N_x = W \cdot k$, $N_y = H \cdot k$ (arXiv:2107.03332; the paper's ablation of
# $k$ is lesson 07). The paper writes the keypoint's bin position as $x \cdot k$; the last section of this
# lesson relates that to the convention used here.

# %%
# %matplotlib inline
import numpy as np
import torch
import simcc_lab
from simcc_lab.lessons import plots, widgets
FAST = widgets.fast_mode()  # the test suite sets SIMCC_LAB_FAST=1: small, quick experiments
print("fast mode" if FAST else "full mode")

# %% [markdown]
# The number of classes grows with $k$. For the paper's "256x192" input ($H = 256$, $W = 192$; the
# library writes sizes as `(W, H)`), `SimCCCodec.simcc_size` gives $(N_x, N_y)$:

# %%
# NBVAL_CHECK_OUTPUT
from simcc_lab.codecs import SimCCCodec
for k in (1, 1.5, 2, 3):
    nx, ny = SimCCCodec(input_size=(192, 256), k=k).simcc_size
    print(f"k={k:<3}  Nx={nx:4d}  Ny={ny:4d}  classes per keypoint {nx + ny:5d}")

# %% [markdown]
# ## One keypoint, three splitting factors
# A real input: a SynthPose person (synthetic, with exact sub-pixel keypoints) cut out by the data pipeline
# at 64x64, as a network would see it. We follow its left wrist; the yellow box is the window zoomed into below.

# %%
from simcc_lab.data.synthetic import ensure_dataset
from simcc_lab.data.topdown import TopDownDataset, denormalize
val_json, val_dir = ensure_dataset(name="lesson01", num_train=1, num_val=4, seed=0, progress=False)["val"]
item = TopDownDataset(val_json, val_dir, input_size=(64, 64), codec=None)[8]
crop, kpts, vis = denormalize(item["image"]), item["meta"]["kpts_input"], item["meta"]["visible"]
WRIST = 9  # COCO-17 index of the left wrist
x, y = (float(v) for v in kpts[WRIST])
window = (round(x) - 4, round(y) - 3, 8, 6)  # (x0, y0, w, h) in input pixels
plots.crop_figure(crop, kpts, vis, window=window, highlight=WRIST)

# %% [markdown]
# The codec does the work: `encode` turns all 17 keypoints into one-hot labels over the bins (the class
# is the label's argmax) and `decode` maps the argmax back to input pixels.

# %%
# NBVAL_CHECK_OUTPUT
print(f"left wrist at ({x:.4f}, {y:.4f}) input px")
for k in (1, 2, 3):
    codec = SimCCCodec((64, 64), k=k, smoothing="none")
    t = codec.encode(kpts[None], vis[None])  # x labels (1, 17, Nx), y labels (1, 17, Ny)
    decoded, _ = codec.decode(t.x, t.y, from_logits=False)
    jx, jy = int(t.x[0, WRIST].argmax()), int(t.y[0, WRIST].argmax())
    (dx, dy), (ex, ey) = decoded[0, WRIST], decoded[0, WRIST] - kpts[WRIST]
    print(f"k={k}: mu_x={codec.bin_positions(x):7.3f}  class ({jx:3d}, {jy:3d}) of ({codec.simcc_size[0]}, "
          f"{codec.simcc_size[1]})  decoded ({dx:.3f}, {dy:.3f})  error ({ex:+.3f}, {ey:+.3f}) px  "
          f"bound {1 / (2 * k):.3f}")

# %% [markdown]
# The window around the wrist: pixel grid in black, bin grid in dashed blue (both axes), the x class shaded
# orange and the y class green. The red star is the true wrist, the blue cross what argmax decoding returns.

# %%
plots.bin_grid_figure(x, y, ks=(1, 2, 3), image=crop, window=window)

# %% [markdown]
# Move the keypoint inside the window and change $k$; the title shows the classes and the error.

# %%
widgets.bins_app(crop, window=window, x=x, y=y)

# %% [markdown]
# ## The error as the keypoint moves
# For one keypoint the error depends on where it sits inside its bin: $e(x) = \hat x(x) - x$ falls with
# slope $-1$ across a bin and jumps by $1/k$ at each bin edge, a sawtooth between $\pm 1/(2k)$. Sweep
# $x$ over 4 px and round-trip every position through the codec:

# %%
# NBVAL_CHECK_OUTPUT
sweep = plots.round_trip_error_figure(
    {f"k={k}": SimCCCodec((16, 16), k=k, smoothing="none") for k in (1, 2, 3)}, x_range=(6.0, 10.0), num=4001)
for name, (xs, err) in sweep.errors.items():
    print(f"{name}: max |e| {np.abs(err).max():.3f} px, mean |e| {np.abs(err).mean():.3f} px, "
          f"mean e {err.mean():+.4f} px")

# %%
sweep

# %% [markdown]
# ## Three conventions for the same bins
# Where a bin "is" depends on where one puts pixel centres. This library puts them at integer
# coordinates (pixel $i$ covers $[i - \tfrac12, i + \tfrac12)$), so the $kW$ bins tile exactly the input's
# extent $[-\tfrac12, W - \tfrac12)$ and the bin position of $x$ is $\mu = (x + \tfrac12)k - \tfrac12$.
# The paper and its official code use $\mu = x k$: bin $j$ stands for $x = j/k$, and decoding is
# argmax$/k$. MMPose's re-implementation does the same, $x = j/k$, but rounds the label's centre to the
# nearest bin before smoothing. The two bin positions differ by a constant,
#
# $$\mu_{\text{here}} - \mu_{\text{paper}} = \frac{k - 1}{2} \text{ bins} = \frac{k - 1}{2k} \text{ px},$$
#
# zero at $k = 1$, a quarter pixel at $k = 2$. Each convention is unbiased on its own (encode and decode
# with the same one); mixing them (training targets from one, decoding with the other) shifts every
# keypoint by that constant. The paper's grid is also lopsided: its bin centres run from $0$ to
# $W - 1/k$, so the left half of the first pixel has no bin of its own.

# %%
# NBVAL_CHECK_OUTPUT
k = 2
codec = SimCCCodec((64, 64), k=k, smoothing="none")
print(f"k = {k}   x (px) | here: mu   class  decoded | paper / MMPose: mu = xk   class  decoded")
for xv in (-0.4, 0.0, 10.3, 10.6, 63.4):
    mu_here = float(codec.bin_positions(xv))
    j_here, j_paper = int(np.floor(mu_here + 0.5)), int(np.clip(np.floor(xv * k + 0.5), 0, 64 * k - 1))
    print(f"        {xv:6.2f} | {mu_here:8.2f}  {j_here:5d}  {(j_here + 0.5) / k - 0.5:7.2f} | "
          f"{xv * k:20.2f}  {j_paper:5d}  {j_paper / k:7.2f}")
print(f"constant offset of the bin positions: {(k - 1) / 2:.2f} bins = {(k - 1) / (2 * k):.2f} px")

# %% [markdown]
# **Conclusion.** A coordinate becomes a class by cutting every pixel into $k$ bins: at 256x192,
# $k = 2$ means 384 + 512 = 896 classes per keypoint, $k = 3$ means 1344. Every decoding error printed above stays
# within $1/(2k)$ (0.500, 0.250, 0.167 px), but a single keypoint does not always gain from a larger $k$: this
# wrist is off in x by $+0.105$ px at $k = 1$, $-0.145$ px at $k = 2$ and $+0.105$ px again at $k = 3$. What
# shrinks with $k$ is the bound and the average: over the sweep the mean $|e|$ is 0.250, 0.125 and 0.083 px, i.e. $1/(4k)$, with no
# bias (mean signed error 0). Lesson 02 measures this loss against heatmaps and turns it into AP;
# whether the extra classes make learning harder is lesson 07's $k$ ablation.

# %% [markdown]
# > **Key takeaways**
# >
# > - SimCC cuts each pixel into $k$ bins per axis: $N_x = kW$ and $N_y = kH$ classes per keypoint
# >   (896 at 256x192 with $k = 2$).
# > - Argmax decoding errs by at most $1/(2k)$ px per axis and by $1/(4k)$ on average, without bias; a
# >   single keypoint's error is a sawtooth in its position and need not shrink when $k$ grows.
# > - Bin positions depend on the pixel convention: $(x + \tfrac12)k - \tfrac12$ here, $x k$ in the paper
# >   and MMPose; they differ by $(k - 1)/(2k)$ px, harmless unless the two are mixed.
#
# ## Exercises
# **1.** At a 128x128 input with $k = 3$, how many x-classes are there, which class holds $x = 10.3$, and
# what does it decode to?
#
# <details><summary>Answer</summary>
#
# $N_x = 384$. The bin position is (10.3 + 0.5) x 3 - 0.5 = 31.9, so the class is 32, which decodes to
# (32 + 0.5) / 3 - 0.5 = 10.333 px, an error of +0.033 px (below the bound 1/6 = 0.167 px). Check with
# `plots.simcc_classes(10.3, 5.0, 3, (128, 128))`.
# </details>
#
# **2.** The maximum error is $1/(2k)$; why is the mean $|e|$ exactly half of it?
#
# <details><summary>Answer</summary>
#
# Across one bin the error falls linearly from +1/(2k) to -1/(2k), so a keypoint at a uniformly random
# position has an error uniform on that interval. The mean of |e| for a uniform variable on [-a, a] is
# a / 2, here 1/(4k). The sweep above measures 0.250, 0.125 and 0.083 px for k = 1, 2, 3.
# </details>
#
# **3.** A model is trained with the paper's targets ($\mu = xk$) but evaluated with this library's
# decoder. At $k = 3$, what happens to its AP-relevant error?
#
# <details><summary>Answer</summary>
#
# Every decoded keypoint moves by the constant -(k - 1)/(2k) = -1/3 px in x and in y, towards smaller
# coordinates, on top of the quantisation error: the model outputs bin $j = xk$, which this decoder reads as
# $(j + 0.5)/k - 0.5 = x - (k - 1)/(2k)$. Mean signed error is no longer 0: the decoder is biased
# by a third of a pixel, four times SimCC's own mean quantisation error at k = 3 (1/12 px).
# </details>
