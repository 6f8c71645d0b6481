"""Write the lesson notebooks from the cell lists below (outputs are added by executing them).

    python tools/build_notebooks.py [NAME ...]   # writes notebooks/NAME.ipynb (default all) without outputs
    SIMCC_LAB_FAST=1 jupyter nbconvert --to notebook --execute --inplace notebooks/0*.ipynb

Keeping the source here makes lesson changes reviewable as plain Python; the executed notebooks are
committed so that they read well on GitHub, and nbval keeps them from going stale.
"""
from __future__ import annotations

from pathlib import Path

import nbformat as nbf

ROOT = Path(__file__).resolve().parents[1]
CHECK = "# NBVAL_CHECK_OUTPUT\n"
SETUP = """%matplotlib inline
import numpy as np
import torch
import simcc_lab
from simcc_lab import plots, widgets
FAST = widgets.fast_mode()  # the test suite sets SIMCC_LAB_FAST=1: small, quick experiments
print("fast mode" if FAST else "full mode")"""

LESSONS: dict[str, list[tuple[str, str]]] = {}

LESSONS["01_bins"] = [
    ("md", r"""# Lesson 01 — Bins: a coordinate as a class

**Question.** A classifier picks one class out of a finite set. How does SimCC use one to place a keypoint
to a fraction of a pixel, and what does the choice of classes cost?

SimCC classifies the two axes separately. An input $W$ pixels wide is cut into $k$ bins per pixel
($k$ is the *splitting factor*), so the x classifier has

$$N_x = \mathrm{round}(kW) \qquad (\text{and } N_y = \mathrm{round}(kH)).$$

Pixel centres sit at integer coordinates: pixel $i$ covers $[i - \tfrac12, i + \tfrac12)$. Bin $j$ covers
$[\tfrac{j}{k} - \tfrac12, \tfrac{j+1}{k} - \tfrac12)$ and stands for its centre

$$x_j = \frac{j + 0.5}{k} - 0.5 .$$

A keypoint at $x$ has the bin position $\mu = (x + 0.5)\,k - 0.5$. Its class is the bin that holds it,
$j^\ast = \lfloor \mu + 0.5 \rfloor$, and decoding turns the most likely class back into pixels,
$\hat x = x_{j^\ast}$. $\hat x$ and $x$ share a bin of width $1/k$, so $|\hat x - x| \le 1/(2k)$."""),
    ("code", SETUP),
    ("md", r"""The number of classes grows with $k$. For the paper's "256x192" input ($H = 256$, $W = 192$; the
library writes sizes as `(W, H)`), `SimCCCodec.simcc_size` gives $(N_x, N_y)$:"""),
    ("code", CHECK + """from simcc_lab.codecs import SimCCCodec
for k in (1, 1.5, 2, 3):
    nx, ny = SimCCCodec(input_size=(192, 256), k=k).simcc_size
    print(f"k={k:<3}  Nx={nx:4d}  Ny={ny:4d}  classes per keypoint {nx + ny:5d}")"""),
    ("md", """## One keypoint, three splitting factors
A real input: a SynthPose person (synthetic, with exact sub-pixel keypoints) cut out by the data pipeline
at 64x64, as a network would see it. We follow its left wrist; the yellow box is the window zoomed into below."""),
    ("code", """from simcc_lab.data.synthetic import ensure_dataset
from simcc_lab.data.coco import TopDownDataset, denormalize
val_json, val_dir = ensure_dataset(name="lesson01", num_train=1, num_val=4, seed=0, progress=False)["val"]
item = TopDownDataset(val_json, val_dir, input_size=(64, 64), codec=None)[8]
crop, kpts, vis = denormalize(item["image"]), item["meta"]["kpts_input"], item["meta"]["visible"]
WRIST = 9  # COCO-17 index of the left wrist
x, y = (float(v) for v in kpts[WRIST])
window = (round(x) - 4, round(y) - 3, 8, 6)  # (x0, y0, w, h) in input pixels
plots.crop_figure(crop, kpts, vis, window=window, highlight=WRIST)"""),
    ("md", r"""The codec does the work: `encode` turns all 17 keypoints into one-hot labels over the bins (the class
is the label's argmax) and `decode` maps the argmax back to input pixels."""),
    ("code", CHECK + """print(f"left wrist at ({x:.4f}, {y:.4f}) input px")
for k in (1, 2, 3):
    codec = SimCCCodec((64, 64), k=k, smoothing="none")
    t = codec.encode(kpts[None], vis[None])  # x labels (1, 17, Nx), y labels (1, 17, Ny)
    decoded, _ = codec.decode(t.x, t.y, from_logits=False)
    jx, jy = int(t.x[0, WRIST].argmax()), int(t.y[0, WRIST].argmax())
    (dx, dy), (ex, ey) = decoded[0, WRIST], decoded[0, WRIST] - kpts[WRIST]
    print(f"k={k}: mu_x={codec.bin_positions(x):7.3f}  class ({jx:3d}, {jy:3d}) of ({codec.simcc_size[0]}, "
          f"{codec.simcc_size[1]})  decoded ({dx:.3f}, {dy:.3f})  error ({ex:+.3f}, {ey:+.3f}) px  "
          f"bound {1 / (2 * k):.3f}")"""),
    ("md", """The window around the wrist: pixel grid in black, bin grid in dashed blue (both axes), the x class shaded
orange and the y class green. The red star is the true wrist, the blue cross what argmax decoding returns."""),
    ("code", "plots.bin_grid_figure(x, y, ks=(1, 2, 3), image=crop, window=window)"),
    ("md", "Move the keypoint inside the window and change $k$; the title shows the classes and the error."),
    ("code", "widgets.bins_app(crop, window=window, x=x, y=y)"),
    ("md", r"""## The error as the keypoint moves
For one keypoint the error depends on where it sits inside its bin: $e(x) = \hat x(x) - x$ falls with
slope $-1$ across a bin and jumps by $1/k$ at each bin edge, a sawtooth between $\pm 1/(2k)$. Sweep
$x$ over 4 px and round-trip every position through the codec:"""),
    ("code", CHECK + """sweep = plots.round_trip_error_figure(
    {f"k={k}": SimCCCodec((16, 16), k=k, smoothing="none") for k in (1, 2, 3)}, x_range=(6.0, 10.0), num=4001)
for name, (xs, err) in sweep.errors.items():
    print(f"{name}: max |e| {np.abs(err).max():.3f} px, mean |e| {np.abs(err).mean():.3f} px, "
          f"mean e {err.mean():+.4f} px")"""),
    ("code", "sweep"),
    ("md", r"""**Conclusion.** A coordinate becomes a class by cutting every pixel into $k$ bins: at 256x192,
$k = 2$ means 384 + 512 = 896 classes per keypoint, $k = 3$ means 1344. Every decoding error printed above stays
within $1/(2k)$ (0.500, 0.250, 0.167 px), but a single keypoint does not always gain from a larger $k$: this
wrist is off in x by $+0.105$ px at $k = 1$, $-0.145$ px at $k = 2$ and $+0.105$ px again at $k = 3$. What
shrinks with $k$ is the bound and the average: over the sweep the mean $|e|$ is 0.250, 0.125 and 0.083 px, i.e. $1/(4k)$, with no
bias (mean signed error 0). Lesson 02 measures this loss against heatmaps and turns it into AP;
whether the extra classes make learning harder is lesson 07's $k$ ablation."""),
]

# ------------------------------------------------------------------------------------------------
LESSONS["02_quantization"] = [
    ("md", r"""# Lesson 02 — Quantisation error versus k

**Question.** Before any learning, how much accuracy does each output representation lose, and how does
SimCC with $k$ bins per pixel compare with a stride-4 heatmap decoded by argmax, the quarter offset and DARK?

**Theory.** If the true coordinate is uniform within a bin of width $1/k$, argmax decoding errs uniformly
on $[-\tfrac{1}{2k}, \tfrac{1}{2k}]$ per axis:

$$\mathbb{E}|e| = \frac{1}{4k}, \qquad \mathrm{RMS} = \frac{1}{k\sqrt{12}}, \qquad \max|e| = \frac{1}{2k}.$$

A heatmap of stride $s$ (one heatmap pixel per $s$ input pixels, centre rounded, argmax) is the same
with $k = 1/s$: $\mathbb{E}|e| = s/4$, i.e. 1 px at the usual $s = 4$.

`quantization.simcc_theory(k)` gives these numbers; `quantization.round_trip(codec)` measures them by
encoding random exact keypoints and decoding the targets (no network involved)."""),
    ("code", SETUP),
    ("code", CHECK + """from simcc_lab import quantization as Q
from simcc_lab.codecs import SimCCCodec, HeatmapCodec
print("per axis, input px      theory mean  measured mean  theory RMS  measured RMS  measured max  mean signed")
for k in (1, 1.5, 2, 3, 4):
    th, m = Q.simcc_theory(k), Q.round_trip(SimCCCodec((64, 64), k=k), n=20_000, seed=0)
    print(f"SimCC k={k:<3}           {th['mean']:8.4f}  {m['mean']:13.4f}  {th['rms']:10.4f}  {m['rms']:12.4f}  "
          f"{m['max']:12.4f}  {m['bias']:+11.4f}")"""),
    ("md", r"""## Heatmaps at stride 4
The MSRA heatmap puts a Gaussian (peak 1, $\sigma = 2$ heatmap px) at the *biased* centre
$\mathrm{round}(x/s)$; decoding takes the argmax and multiplies by $s$. Two post-processing steps try to win
back the lost fraction:

- **quarter offset**: move the argmax $\tfrac14$ heatmap px towards the higher neighbour,
  $\hat u = u^\ast + \tfrac14\,\mathrm{sign}(h(u^\ast + 1) - h(u^\ast - 1))$;
- **DARK**: blur the map, take its log and do one Newton step on the second-order Taylor expansion around
  the argmax, $\hat{\mathbf u} = \mathbf u^\ast - H^{-1}\nabla$ (gradient and Hessian of $\log h$ by finite
  differences), with *unbiased* targets centred at the exact $x/s$.

One heatmap row through a keypoint at $x = 30.3$ px, and where each decoder puts it:"""),
    ("code", "plots.refinement_figure(30.3, input_size=(64, 64), stride=4)"),
    ("md", "Move the keypoint, change the stride, the target's sigma or its encoding:"),
    ("code", "widgets.refinement_app()"),
    ("md", r"""The same round trips for the four heatmap decoders (128x128 input, keypoints kept 24 px from the border
so that DARK's blur sees the whole Gaussian):"""),
    ("code", CHECK + """print(f"theory, argmax at stride 4: mean {Q.heatmap_theory(4)['mean']:.4f}, RMS {Q.heatmap_theory(4)['rms']:.4f}, "
      f"max {Q.heatmap_theory(4)['max']:.4f} px")
for ref, enc in (("none", "biased"), ("quarter", "biased"), ("quarter", "unbiased"), ("dark", "unbiased")):
    m = Q.round_trip(HeatmapCodec((128, 128), stride=4, encoding=enc, refinement=ref), n=5_000, seed=0, margin=24)
    print(f"heatmap s=4 {ref:7s} ({enc:8s} target): mean {m['mean']:.3f}  RMS {m['rms']:.3f}  max {m['max']:.3f} px")"""),
    ("md", r"""The quarter offset cannot move the argmax of a biased target: the Gaussian is centred on a grid point, so
both neighbours are equal. On an unbiased target (closer to what a trained network outputs: a blob around
the true position) it halves the error. DARK recovers the centre almost exactly, because its Taylor
step assumes a Gaussian and the target is one.

The error along $x$ for SimCC ($k = 2$) and the heatmap decoders (64x64 input, unbiased targets for the
quarter offset and DARK):"""),
    ("code", """plots.round_trip_error_figure({
    "SimCC k=2": SimCCCodec((64, 64), k=2),
    "heatmap argmax": HeatmapCodec((64, 64), stride=4),
    "heatmap quarter (unbiased)": HeatmapCodec((64, 64), stride=4, encoding="unbiased", refinement="quarter"),
    "heatmap DARK (unbiased)": HeatmapCodec((64, 64), stride=4, encoding="unbiased", refinement="dark"),
}, x_range=(24, 40))"""),
    ("md", "The whole study, SimCC over $k$ and heatmaps over the stride, theory as lines and measurements as markers "
           "(`simcc-lab quantization` writes the same table and figure to `reports/quantization`):"),
    ("code", """rows, fig = Q.run_study(n=4_000 if FAST else 50_000)
fig"""),
    ("md", r"""## What quantisation alone costs in AP: the codec oracle
A perfect network would output exactly its training targets. The *codec oracle* plays that network: it crops
every ground-truth person from its box at the input size, encodes the keypoints, decodes the targets straight
back, maps them to the image and scores them with COCOeval. Any AP below 1.0 is lost to the representation.

In 2-D the error of a uniform position in a square bin of side $1/k$ has mean
$\frac{\sqrt2 + \ln(1 + \sqrt2)}{6}\cdot\frac1k \approx 0.383/k$ px (Euclidean), which is what
`mean_err_input_px` should show. One call, SimCC $k = 2$ at 64x64 on SynthPose:"""),
    ("code", CHECK + """from simcc_lab import evaluation, oracle
from simcc_lab.data.synthetic import ensure_dataset
n_val = 40 if FAST else 400  # SynthPose validation images
synth_json, _ = ensure_dataset(name=f"lesson02-val{n_val}", num_train=1, num_val=n_val, seed=0, progress=False)["val"]
r = evaluation.codec_oracle(synth_json, SimCCCodec((64, 64), k=2), (64, 64))
print(f"{r['num_people']} people, {r['num_keypoints']} labelled keypoints: AP {r['AP']:.3f}, "
      f"mean error {r['mean_err_input_px']:.3f} input px (theory {0.3826 / 2:.3f}), outside {r['outside_frac']:.3f}")"""),
    ("md", "The same for SimCC $k = 1, 2, 3$ and the stride-4 heatmap decoders, from 64x64 to 256x192 "
           "(`oracle.oracle_table` loops `codec_oracle` over codecs and sizes):"),
    ("code", CHECK + """GRID = oracle.standard_grid() + [
    ("heatmap quarter, unbiased", dict(kind="heatmap", stride=4, refinement="quarter", encoding="unbiased"))]
synth_rows, synth_md = oracle.oracle_table([synth_json], grid=GRID, names=[f"SynthPose ({n_val} images)"])
print(synth_md)"""),
    ("code", "plots.oracle_figure(synth_rows)"),
    ("md", """The real COCO val2017 sample (4 images, 12 annotated people) lives outside the repository, in
`../shared/data/coco_val2017_sample`; this cell says so and skips when it is absent."""),
    ("code", """from pathlib import Path
coco_json = Path("..").resolve().parent / "shared" / "data" / "coco_val2017_sample" / "test_coco.json"
if coco_json.exists():
    coco_rows, coco_md = oracle.oracle_table([coco_json], grid=GRID, names=["COCO val2017 sample"])
    print(coco_md)
else:
    coco_rows = None
    print(f"skipped: the COCO sample is not at {coco_json} (it sits beside the repository, not in it)")"""),
    ("code", "plots.oracle_figure(coco_rows) if coco_rows else None"),
    ("md", r"""**Conclusion.** The round trips match the theory: SimCC's measured mean error is $1/(4k)$ to within
1% for every $k$ (0.2506 against 0.2500 at $k = 1$, 0.0630 against 0.0625 at $k = 4$), its maximum is exactly
$1/(2k)$ and it has no bias. A stride-4 heatmap decoded by argmax errs by 1.003 px on average, eight times
SimCC's 0.125 px at $k = 2$; the quarter offset halves that only when the peak is off the grid (0.499 px on
unbiased targets, no change on biased ones), and DARK brings it down to about 0.001 px on the Gaussians it
was designed for. The codec oracle turns these errors into AP (committed run: fast mode, 40 SynthPose
images): at 64x64 SimCC keeps AP 0.995 to 1.000 while heatmap argmax keeps 0.520 (0.663 on the COCO sample),
the quarter offset 0.867 on unbiased targets and DARK 0.996; by 256x192 every decoder is at 0.997 or above.
This is the paper's low-resolution argument before any network is trained: a stride-4 heatmap cannot
express a small person's keypoints precisely, SimCC can without post-processing. DARK closes the gap on
perfect Gaussians; how much of that survives a real network's blurrier maps is for lessons 05 and 06."""),
]

# ------------------------------------------------------------------------------------------------
LESSONS["03_label_smoothing"] = [
    ("md", r"""# Lesson 03 — Label smoothing: what each classifier is asked to predict

**Question.** SimCC trains its two classifiers against a target distribution over bins. What do the
one-hot, equal, Gaussian and Laplace targets look like, and how do they change the loss of the same
prediction?

With the keypoint's bin position $\mu = (x + 0.5)k - 0.5$ and its nearest bin $j^\ast = \lfloor\mu + 0.5\rfloor$,
over bins $i = 0 \dots N-1$:

| shape | label $t_i$ |
|---|---|
| one-hot | $1$ if $i = j^\ast$, else $0$ |
| equal (standard label smoothing) | $1 - \epsilon$ if $i = j^\ast$, else $\epsilon / (N - 1)$ |
| Gaussian | $\exp\!\big(-(i - \mu)^2 / 2\sigma^2\big) / (\sigma\sqrt{2\pi})$ |
| Laplace | $\exp(-\lvert i - \mu\rvert / b) \,/\, Z$, $Z$ its sum over the integers |

$\sigma$ and $b$ are in bins. The official code keeps $\mu$ *continuous*; MMPose *rounds* it to $j^\ast$
first. `simcc_lab.smoothing` holds the four functions, and `SimCCCodec(smoothing=...)` calls them."""),
    ("code", SETUP),
    ("md", r"""The four functions at $x = 5.3$ px, $k = 2$ ($\mu = 11.1$), $\sigma = b = 2$ bins, $\epsilon = 0.1$, on
24 bins; printed: bins 9 to 13 and the label's sum."""),
    ("code", CHECK + """from simcc_lab import smoothing as S
from simcc_lab.codecs import SimCCCodec
bins, mu = np.arange(24, dtype=np.float32), np.float32((5.3 + 0.5) * 2 - 0.5)
labels = {"none": S.one_hot(bins, mu), "equal": S.equal(bins, mu, eps=0.1),
          "gaussian": S.gaussian(bins, mu, sigma=2.0), "laplace": S.laplace(bins, mu, b=2.0)}
for name, t in labels.items():
    print(f"{name:8s} bins 9..13: " + " ".join(f"{v:.4f}" for v in t[9:14]) + f"   sum {t.sum():.4f}")
codec = SimCCCodec((12, 1), k=2, smoothing="gaussian", sigma=2.0)
print("SimCCCodec's x label equals S.gaussian:",
      bool(np.allclose(codec.encode(np.array([[[5.3, 0.0]]]), np.ones((1, 1))).x[0, 0], labels["gaussian"], atol=1e-6)))"""),
    ("code", "plots.label_shapes_figure(x=5.3, k=2, sigma=2.0, eps=0.1)"),
    ("md", "Try every control: sigma (the Gaussian's $\\sigma$ and the Laplace $b$), the keypoint's x, $k$, "
           "$\\epsilon$, the centre rule and the shape."),
    ("code", "widgets.smoothing_app()"),
    ("md", r"""## Continuous or rounded centre?
A rounded centre throws away the fraction of $\mu$ that the bin grid cannot show: the label is the same for
every $x$ inside one bin. The label's mean position, $\sum_i t_i x_i / \sum_i t_i$ (in input px), tells where
the label says the keypoint is:"""),
    ("code", CHECK + """print("true x    continuous label mean   rounded label mean   (k=2, sigma 2 bins)")
for x in (5.0, 5.1, 5.2, 5.3, 5.4):
    means = []
    for centre in ("continuous", "rounded"):
        t = SimCCCodec((12, 1), k=2, sigma=2.0, centre=centre).encode(np.array([[[x, 0.0]]]), np.ones((1, 1))).x[0, 0]
        means.append(float((t * ((np.arange(24) + 0.5) / 2 - 0.5)).sum() / t.sum()))
    print(f"{x:6.2f}    {means[0]:20.4f}   {means[1]:18.4f}")"""),
    ("md", r"""## The loss of one prediction under each label
The KL divergence $\mathrm{KL}(t \,\|\, p) = \sum_i t_i \log t_i - t_i \log p_i$ with $p = \mathrm{softmax}$(logits) is
SimCC's loss (`losses.SimCCKLLoss`). Take one fixed prediction: a softmax whose logits are a parabola,
i.e. a Gaussian-shaped distribution of $\sigma = 3$ bins, centred 1 px right of and below the keypoint
(a network that is almost right), and score it against each label:"""),
    ("code", CHECK + """from simcc_lab.losses import SimCCKLLoss
kp, vis = np.array([[[20.3, 20.3]]]), np.ones((1, 1))
pred_codec = SimCCCodec((48, 48), k=2)
mu_pred = torch.as_tensor(pred_codec.bin_positions(kp + 1.0))  # (1, 1, 2) bin positions of the prediction
bins = torch.arange(96, dtype=torch.float64)
logits = tuple((-(bins - mu_pred[..., a, None]) ** 2 / (2 * 3.0**2)).float() for a in (0, 1))  # (1, 1, 96) each
for centre in ("continuous", "rounded"):
    for shape in ("none", "equal", "gaussian", "laplace"):
        t = SimCCCodec((48, 48), k=2, smoothing=shape, sigma=2.0, eps=0.1, centre=centre).encode(kp, vis)
        loss = SimCCKLLoss()(logits, (torch.as_tensor(t.x), torch.as_tensor(t.y)), torch.as_tensor(t.weights))
        print(f"{centre:10s} {shape:8s} KL = {float(loss):.3f} nats")"""),
    ("md", r"""How the loss changes as that prediction slides past the keypoint (x-axis only, continuous centre):
left the KL itself, right the KL above its minimum."""),
    ("code", CHECK + """slide = plots.kl_vs_offset_figure(x=20.3, width=48, k=2, label_sigma=2.0, pred_sigma=3.0, eps=0.1)
for shape, (offsets, kl) in slide.kl.items():
    best = int(kl.argmin())
    print(f"{shape:8s} minimum KL {kl[best]:.3f} at offset {offsets[best]:+.2f} px; "
          f"KL(+1 px) - KL(min) = {kl[np.argmin(abs(offsets - 1))] - kl[best]:.3f}")"""),
    ("code", "slide"),
    ("md", r"""## A 2-D heatmap against two 1-D labels
SimpleBaseline encodes the same keypoint as a 2-D Gaussian on a stride-4 grid; SimCC as two 1-D labels at
$k$ bins per pixel. The sizes per keypoint at the paper's input sizes:"""),
    ("code", CHECK + """from simcc_lab.codecs import HeatmapCodec
for size in ((64, 64), (128, 128), (192, 256)):
    w, h = HeatmapCodec(size, stride=4).heatmap_size
    nx, ny = SimCCCodec(size, k=2).simcc_size
    print(f"{size[1]}x{size[0]}: heatmap {w}x{h} = {w * h:5d} values, SimCC k=2 {nx} + {ny} = {nx + ny:4d} values")"""),
    ("code", "plots.heatmap_vs_simcc_figure(x=20.3, y=27.6, input_size=(48, 64), k=2, sigma=2.0, stride=4)"),
    ("code", "widgets.heatmap_vs_simcc_app()"),
    ("md", r"""**Conclusion.** The four labels differ in three ways that the numbers above show.
*The floor*: the same prediction, 1 px off, costs 0.350 nats against the Gaussian label and 0.304 against
Laplace, but 2.263 against one-hot and 5.877 against equal smoothing; in the sweep the lowest KL this
Gaussian-shaped prediction reaches is 0.128 (Gaussian) and 0.081 (Laplace) against 2.018 (one-hot) and 5.762
(equal). A smooth label can be matched closely by a smooth, finite-logit prediction; one-hot can only be matched by putting all mass on one bin, and equal smoothing asks
for $\epsilon/(N-1)$ on every far bin where a confident prediction has none: it regularises confidence but
has no notion of distance. *Where the minimum sits*: at the true keypoint (offset 0.00) for the continuous
Gaussian and Laplace, at the bin centre ($-0.05$ px) for one-hot, and $+0.30$ px towards the middle of the
axis for equal smoothing. *The pull*: moving the prediction 1 px off costs about the same for one-hot,
Gaussian and Laplace (0.22 to 0.25 nats) and half that for equal. Rounding the centre gives every x from 5.0
to 5.4 the same label (mean 5.25 px), an error of up to $1/(2k)$ built into the targets; the continuous
label's mean follows x exactly. Finally, two 1-D labels need fewer numbers than a stride-4 heatmap once the
input grows: the same 256 at 64x64, 896 against 3072 at 256x192."""),
]

LESSONS["04_heads_compute"] = [
    ("md", """# Lesson 04 — Heads and compute

**Question.** What does the SimCC head cost compared with SimpleBaseline's heatmap head, with and without the
deconvolution upsampling?

SimCC head: 1x1 conv to $K$ maps, flatten $H'W'$, two Linear layers to $N_x$ and $N_y$, shared by all keypoints.
Heatmap head: 3 deconvs (256 ch, kernel 4) from stride 32 to stride 4, then a 1x1 conv."""),
    ("code", SETUP),
    ("code", CHECK + """from simcc_lab.codecs import SimCCCodec, HeatmapCodec
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
print("paper (SimBa-Res50): params", paper.RES50_PARAMS_M, " GFLOPs", paper.RES50_GFLOPS)"""),
    ("md", """Parameters agree with the paper (34.0M heatmap; 36.8M SimCC at 256x192, whose paper version keeps the
deconvs). Our FLOP counter reports multiply-adds: 5.4 G for the heatmap model at 256x192, where the paper
quotes SimpleBaseline's 8.9 — a counting convention we could not match, so compare ratios, not absolutes.

The compact CNN used for CPU training, and the measured forward time of the two heads (a ratio, one run):"""),
    ("code", """import time
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
print(f"forward time heatmap / SimCC = {times['heatmap (deconvs to stride 4)'] / times['SimCC, no deconv']:.2f}")"""),
    ("md", """**Conclusion.** Without deconvs the SimCC head adds two small Linear layers and no upsampling: the ResNet-50
model drops the 1.4 GMACs of deconvs at 256x192 (a quarter of the compute). The measured forward-time ratio
above depends on the machine and the input size (at 64x64 the compact model's single deconv is cheap); the
benchmark `benchmarks/bench_heads.py` measures training steps at 256x192. The Linear layers grow with $H'W' \\times (N_x + N_y)$, which is why SimCC *with* deconvs at 256x192 has 2.8M more
parameters. Whether dropping the deconvs costs accuracy is lesson 07's upsampling ablation."""),
]

LESSONS["05_training"] = [
    ("md", """# Lesson 05 — Training a compact model

**Question.** What does it take to train SimCC and a heatmap model, and what do their outputs look like?

We train the compact CNN on SynthPose (synthetic people with exact keypoints) at 64x64, on the CPU. Fast mode
(the test suite) trains a few steps only; the full mode runs the `synth-*-64` presets
(`simcc-lab train --preset synth-simcc-64` does the same from the command line)."""),
    ("code", SETUP),
    ("code", """from simcc_lab import engine
from simcc_lab.config import config_from_preset, build_codec
runs = {}
for name in ("simcc", "heatmap"):
    preset = f"synth-{name}-64-tiny" if FAST else f"synth-{name}-64"
    cfg = config_from_preset(preset, out_dir=f"../runs/lesson05-{name}", resume=False, progress=not FAST)
    runs[name] = (cfg, engine.fit(cfg))
plots.history_figure({n: h for n, (c, h) in runs.items()})"""),
    ("md", "COCOeval on the validation split (ground-truth boxes); the heatmap decoded three ways:"),
    ("code", """for name, (cfg, hist) in runs.items():
    for ref in (("none", "quarter", "dark") if name == "heatmap" else ("none",)):
        m = engine.evaluate(cfg, refinement=ref, progress=False)
        print(f"{name:8s} {ref:8s} AP {m['AP']:.3f}  mean error {m.get('pixel_error', float('nan')):.2f} input px")"""),
    ("md", "Predicted keypoints on validation crops, and the SimCC model's 1-D distributions for the left wrist:"),
    ("code", """cfg, _ = runs["simcc"]
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
                         torch.softmax(xl, -1).numpy(), torch.softmax(yl, -1).numpy(), k=codec.k)"""),
    ("md", """**Conclusion.** Both heads train with the same engine, data and schedule; only the codec and loss differ.
The AP printed above is this run's: in fast mode a few steps leave it near zero (the point is the pipeline),
while the full presets reach the numbers in `docs/training.md`. SimCC's outputs are two 1-D distributions
per keypoint whose peaks are the prediction and whose width shows the model's uncertainty."""),
]

LESSONS["06_resolution"] = [
    ("md", """# Lesson 06 — Heatmap versus SimCC across input sizes

**Question.** Does SimCC beat heatmaps most at low resolution, as the paper reports (+6 to +11 AP at 64x64,
about +1 AP at 256x192)?

We read the committed reproduction results (`simcc-lab reproduce --mode quick`, in `reports/`) and set them
beside the paper's table; then run a live mini-experiment."""),
    ("code", SETUP),
    ("code", CHECK + """from simcc_lab import paper
print("paper, mean over 4 backbones: input  heatmap+post  heatmap  SimCC")
for s in ("64x64", "128x128", "256x192"):
    rows = [v[s] for v in paper.RESOLUTION_AP.values()]
    print(f"  {s:8s}" + "".join(f"{np.mean([r[i] for r in rows]):10.1f}" for i in range(3)))"""),
    ("code", """from pathlib import Path
from simcc_lab import experiments, report
results = experiments.load_results(Path("../reports"))
grid = experiments.build_grid("quick")
if results:
    print(report.experiment_table(grid.experiments["resolution"], results))
    for part, verdict, evidence in report.verdicts(grid.experiments["resolution"], results):
        print(f"- {part}: {verdict} ({evidence})")
else:
    print("no reproduction results yet: run `make reproduce` (about 30 minutes on 2 cores)")"""),
    ("code", """report.experiment_figure(grid.experiments["resolution"], results) if results else None"""),
    ("md", r"""The quick reproduction trains at 64x64 only (a 128x128 run costs about four times as much on a CPU), so the
trend across sizes needs `--mode full`. What we *can* measure at every size in seconds is the part of the
gap that comes from the representation itself: the codec oracle of lesson 02 (a perfect network; encode the
truth, decode it, score it) on the quick run's own validation set, at the paper's three input sizes:"""),
    ("code", CHECK + """from simcc_lab import oracle
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
          f"  SimCC - heatmap DARK: {100 * (ap[size, 'SimCC k=2'] - ap[size, 'heatmap DARK']):5.1f} AP")"""),
    ("code", "plots.oracle_figure(rows)"),
    ("md", "A live mini-run of the same comparison at 64x64 (tiny in fast mode: only the pipeline, not the numbers):"),
    ("code", """from simcc_lab import engine
from simcc_lab.config import config_from_preset
for name in ("simcc", "heatmap"):
    preset = f"synth-{name}-64-tiny" if FAST else f"synth-{name}-64"
    cfg = config_from_preset(preset, out_dir=f"../runs/lesson06-{name}", resume=False, progress=False)
    engine.fit(cfg)
    for ref in (("none", "dark") if name == "heatmap" else ("none",)):
        print(f"{name} {ref}: AP {engine.evaluate(cfg, refinement=ref, progress=False)['AP']:.3f}")"""),
    ("md", """**Conclusion.** The paper's mean gap shrinks from 64x64 to 256x192. At the codec level it does here too:
the oracle gap between SimCC and an argmax heatmap is largest at 64x64 and (nearly) gone at 256x192, and on
noise-free targets DARK closes almost all of it at every size; that is the mechanism the paper argues from
(DARK needs clean Gaussian maps, which trained networks do not output exactly). Whether trained networks
follow it is the table above: our committed quick run (compact CNN, SynthPose, 64x64 only) says whether
SimCC beats the heatmap there, and the trend across sizes is left to `--mode full` (`reports/REPORT.md`)."""),
]

LESSONS["07_ablations"] = [
    ("md", """# Lesson 07 — Ablations: k, label smoothing, upsampling and crowds

**Question.** Which design choices of SimCC matter, on our data?

All numbers below come from the committed reproduction results (`reports/results/*.json`, written by
`simcc-lab reproduce --mode quick`); the paper's claims are qualitative for these ablations."""),
    ("code", SETUP),
    ("code", """from pathlib import Path
from simcc_lab import experiments, report, paper
results = experiments.load_results(Path("../reports"))
grid = experiments.build_grid("quick")
print("results found:", len(results))"""),
    ("code", """def show(name):
    exp = grid.experiments[name]
    print(exp.title, "—", exp.claim)
    if not results:
        print("no results yet: run `make reproduce`")
        return None
    print(report.experiment_table(exp, results))
    for part, verdict, evidence in report.verdicts(exp, results):
        print(f"- {part}: {verdict} ({evidence})")
    return report.experiment_figure(exp, results)
show("k")"""),
    ("code", "show(\"smoothing\")"),
    ("code", "show(\"upsampling\")"),
    ("code", "show(\"crowded\")"),
    ("code", "show(\"backbone\")"),
    ("md", """**Conclusion.** Each verdict line above is computed by the rule stated in `reports/REPORT.md` from our own
runs. Read them against the paper's claims: the splitting factor trades quantisation against learnability,
smooth labels should beat one-hot, and dropping the deconvolutions should cost little accuracy while saving the
compute measured in lesson 04."""),
]


def build(name: str, cells: list[tuple[str, str]]) -> nbf.NotebookNode:
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src) for kind, src in cells]
    return nb


def main(names: list[str]) -> None:
    out = ROOT / "notebooks"
    out.mkdir(exist_ok=True)
    unknown = set(names) - set(LESSONS)
    if unknown:
        raise SystemExit(f"unknown lesson(s) {sorted(unknown)}; known: {list(LESSONS)}")
    for name, cells in LESSONS.items():
        if names and name not in names:
            continue
        nbf.write(build(name, cells), out / f"{name}.ipynb")
        print("wrote", out / f"{name}.ipynb")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
