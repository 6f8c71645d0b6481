"""The grid: the paper's experiments as training runs on SynthPose, each experiment with its rows and its
verdict rule (the runner: runner.py; the rules: verdicts.py; the report: report.py).

An :class:`Experiment` is a list of table rows; each row points at a training :class:`Run` (a set of
TrainConfig overrides) and an evaluation variant of it (heatmap refinement none / quarter / DARK are
three evaluations of one trained model). Runs are shared between experiments (the k=2 Gaussian SimCC
model is the baseline of several tables), executed once, and cached as one result file each, written
whole: a re-run skips finished runs and resumes interrupted ones from their last checkpoint.

:mod:`.runner` executes a grid; :mod:`.report` turns the result files into tables, verdicts and figures.
Declaring a grid computes nothing (no model is built, no file is read). docs/architecture.md walks through adding
a row and adding an experiment.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..codecs import REFINEMENTS
from .. import paper
from ..training.config import QUICK_RECIPE
from . import verdicts as V

MODES = ("tiny", "quick", "standard", "full")
# Experiments each mode runs (the rest are listed as "not run" with the mode that runs them).
MODE_EXPERIMENTS = {"tiny": ("resolution", "curves", "k", "smoothing", "upsampling", "crowded", "backbone",
                             "transformer"),
                    "quick": ("resolution", "curves"),
                    "standard": ("resolution", "curves", "k", "smoothing", "upsampling", "crowded", "backbone",
                                 "transformer"),
                    "full": ("resolution", "curves", "transformer")}
CURVE_EPOCHS = (1, 2, 4, 8, 16, 32)  # learning-curve points (epochs of the 64x64 runs: a 32x span of samples)
HEATMAP_VARIANTS = REFINEMENTS
# The compact CNN's stride 8 to heatmap stride 4: one x2 deconvolution in the heatmap head (tests check that
# build_model agrees; the grid itself builds nothing).
HEATMAP_DECONVS = 1


@dataclass(frozen=True)
class Run:
    """One training run: TrainConfig overrides on top of the mode's base config.

    ``variants`` are the evaluations made of the trained model ("default" for SimCC; refinements for
    heatmaps). ``seed`` is part of the identity: several seeds of a run are separate runs.
    """

    name: str
    overrides: tuple[tuple[str, Any], ...]
    variants: tuple[str, ...] = ("default",)
    seed: int = 0

    @property
    def key(self) -> str:
        """File-name stem of this run's result (name plus seed)."""
        return f"{self.name}-s{self.seed}"

    def config_overrides(self) -> dict[str, Any]:
        """Overrides as a dict, seed included."""
        return dict(self.overrides, seed=self.seed)


@dataclass(frozen=True)
class Row:
    """One line of an experiment's table: ``label`` at ``group`` (e.g. an input size) from run/variant.

    ``id`` names the row for the verdict rules (report.py), which find rows by (id, group): labels are for
    readers and may change freely."""

    label: str
    group: str
    run: str
    variant: str = "default"
    paper: float | None = None  # the paper's number for this cell, when it has one
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError(f"row {self.label!r} needs an id")


@dataclass(frozen=True)
class Experiment:
    """A named experiment: its question, its rows, the paper's claim it tests and the rule that judges it.

    ``rule(judge) -> [(claim part, verdict, evidence)]`` (verdicts.py); ``figure``: "bars" (grouped bars, ours
    beside the paper's) or "curves" (learning curves); ``tables``: extra tables of the report section
    (report.EXTRA_TABLES: "compute", "floors")."""

    name: str
    title: str
    question: str
    claim: str
    rows: tuple[Row, ...]
    rule: Callable | None = None
    metric: str = "AP"
    figure: str = "bars"
    tables: tuple[str, ...] = ()


@dataclass
class Grid:
    """Everything one mode runs: the base config, the runs and the experiments that read them."""

    mode: str
    base: dict[str, Any]
    runs: dict[str, Run] = field(default_factory=dict)
    experiments: dict[str, Experiment] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    export: tuple[str, ...] = ()  # runs whose first seed's model is kept beside the report (out_dir/models/)

    def add_run(self, name: str, variants: tuple[str, ...] = ("default",), seeds: tuple[int, ...] | None = None,
                **overrides) -> str:
        """Register a run (once per name) for every seed (``seeds``: this run's own, default the grid's);
        returns the name."""
        for seed in self.seeds if seeds is None else seeds:
            run = Run(name, tuple(sorted(overrides.items())), variants, seed)
            old = self.runs.get(run.key)
            if old is not None and old != run:
                raise ValueError(f"run {name!r} registered twice with different settings")
            self.runs[run.key] = run
        return name

    def runs_for(self, experiment_names) -> list[Run]:
        """The runs the named experiments need, in registration order."""
        needed = {r.run for n in experiment_names for r in self.experiments[n].rows}
        return [r for r in self.runs.values() if r.name in needed]


# ---------------------------------------------------------------------------------------------------
# The grid
# ---------------------------------------------------------------------------------------------------
def _base_config(mode: str) -> dict[str, Any]:
    """TrainConfig fields shared by every run of a mode (sizes of data and schedule)."""
    # Every mode trains config.QUICK_RECIPE (clean SynthPose, crop cache, AdamW + cosine, flip test) at its
    # own scale; learning-curve points after CURVE_EPOCHS. The crowded experiment overrides the data.
    recipe = dict(QUICK_RECIPE, progress=False, eval_every=0)
    if mode == "tiny":  # seconds: for the end-to-end test
        return dict(recipe, synth_train_images=8, synth_val_images=4, epochs=2, batch_size=8, warmup_steps=1,
                    max_steps_per_epoch=2, flip_test=False, eval_epochs=(1, 2), amp="off", channels_last=False)
    if mode in ("quick", "standard"):  # 2 CPU cores: one torch thread per run, one run per core
        return dict(recipe, epochs=max(CURVE_EPOCHS), eval_epochs=CURVE_EPOCHS)
    if mode == "full":  # one GPU: the resolution trend at 3 sizes x 3 seeds, 120,000 samples per run, bf16
        # (amp auto), crops kept and augmented on the GPU. Sized by estimate to ~8 minutes on an H200; the first
        # session there measured 0.6-1.7k images/s (data-bound) and did not fit it (docs/training.md).
        return dict(recipe, synth_train_images=3750, synth_val_images=1000, epochs=max(CURVE_EPOCHS), batch_size=256,
                    lr=4e-3, warmup_steps=200, workers=4, threads=0, amp="auto", eval_epochs=CURVE_EPOCHS)
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def build_grid(mode: str = "quick", seeds: tuple[int, ...] | None = None) -> Grid:
    """The experiment grid of ``mode`` ("tiny" for tests, "quick" on 2 CPU cores, "full" on a GPU)."""
    base = _base_config(mode)
    if seeds is None:
        seeds = (0,) if mode == "tiny" else (0, 1, 2)
    b = _Builder(Grid(mode, base, seeds=tuple(seeds)))
    for declare in (b.resolution, b.curves, b.k, b.smoothing, b.upsampling, b.crowded, b.backbone, b.transformer):
        declare()
    g = b.g
    g.export = (b.pair["64x64"][1], b.pair["64x64"][0])
    keep = MODE_EXPERIMENTS[mode]
    g.experiments = {n: e for n, e in g.experiments.items() if n in keep}
    needed = {r.run for e in g.experiments.values() for r in e.rows}
    g.runs = {k: r for k, r in g.runs.items() if r.name in needed}
    return g


WH = {"64x64": (64, 64), "128x128": (128, 128), "256x192": (192, 256)}  # the paper's sizes as (W, H)
UP = f"{HEATMAP_DECONVS} deconv{'s' if HEATMAP_DECONVS > 1 else ''}"


class _Builder:
    """Declares the experiments of one grid: run helpers (``simcc``, ``heatmap``: register a run, return its
    handle) and one method per experiment."""

    def __init__(self, g: Grid):
        self.g, self.mode = g, g.mode
        self.full, self.cpu = g.mode == "full", g.mode in ("quick", "standard")
        self.sizes = ("64x64", "128x128", "256x192") if self.full else ("64x64", "128x128")
        self.pair: dict[str, tuple[str, str]] = {}  # input size -> (heatmap run, equal-compute SimCC run)

    def sized(self, size: str) -> dict:
        """Per-size overrides. On 2 CPU cores a 128x128 step costs ~3.5x a 64x64 one (bench_train.py), so quick
        mode's 128x128 runs train one seed for 8 epochs (20,000 samples, the cosine over those), without
        learning-curve points: about the compute of one 64x64 run, so that quick mode fits 30 minutes. Standard
        mode trains them for the 64x64 runs' 32 epochs with their curve points and all seeds (~25 min per
        pair): the same samples at both sizes, so that the trend compares heads that had the same training."""
        if self.mode == "quick" and size != "64x64":
            return {"input_size": WH[size], "epochs": 8, "eval_epochs": ()}
        return {"input_size": WH[size]}

    def size_seeds(self, size: str):
        """Quick mode: one seed beyond 64x64 (its 30-minute budget); the other modes: every seed."""
        return (self.g.seeds[0],) if self.mode == "quick" and size != "64x64" else None

    def simcc(self, name: str, size: str = "64x64", **kw) -> str:
        kw = dict(dict(codec="simcc", k=2.0, smoothing="gaussian", **self.sized(size)), **kw)
        return self.g.add_run(name, seeds=self.size_seeds(size), **kw)

    def heatmap(self, name: str, size: str = "64x64", **kw) -> str:
        # One model, three decodings (argmax, quarter offset, DARK); DARK's unbiased encoding so that its
        # Taylor step refines toward the true location rather than toward a rounded one.
        kw = dict(dict(codec="heatmap", encoding="unbiased", **self.sized(size)), **kw)
        return self.g.add_run(name, variants=HEATMAP_VARIANTS, seeds=self.size_seeds(size), **kw)

    def add(self, exp: Experiment) -> None:
        self.g.experiments[exp.name] = exp

    def resolution(self) -> None:
        """Input resolution at equal compute, as the paper's SimBa-SimCC (8.9 vs 9.0 GFLOPs at 256x192): SimCC
        keeps the heatmap head's deconvolution, so both heads read the same stride-4 features and differ in the
        head alone. (The ablations use the cheaper SimCC without it; the upsampling experiment compares them.)"""
        n, paper_ap, rows = HEATMAP_DECONVS, V.paper_mean_resolution(), []
        for s in self.sizes:
            hm, sc = self.pair[s] = self.heatmap(f"heatmap-{s}", s), self.simcc(f"simcc-k2-gauss-deconv{n}-{s}", s,
                                                                               deconvs=n)
            post, none, simcc_ap = paper_ap[s]
            rows += [Row("heatmap + quarter offset", s, hm, "quarter", post, id="heatmap-quarter"),
                     Row("heatmap, no post-processing", s, hm, "none", none, id="heatmap-none"),
                     Row("heatmap + DARK", s, hm, "dark", id="heatmap-dark"),
                     Row(f"SimCC (Gaussian, k=2, {UP})", s, sc, "default", simcc_ap, id="simcc")]
        self.add(Experiment(
            "resolution", "Heatmap vs SimCC across input sizes",
            "Does SimCC beat heatmaps most at low resolution, and do heatmaps need post-processing there?",
            "SimCC beats heatmap at every size, by far the most at 64x64; without post-processing heatmaps lose "
            "9-21 AP at 64x64 and ~2 AP at 256x192.", tuple(rows), V.resolution_rule, tables=("floors",)))

    def curves(self) -> None:
        """Learning curves: the 64x64 runs of the resolution experiment, evaluated after CURVE_EPOCHS."""
        hm, sc = self.pair["64x64"]
        self.add(Experiment(
            "curves", "Learning curves at 64x64", "Where does the heatmap's quantisation floor start to bite?",
            "Heatmap accuracy is capped by its quantisation error at low resolution; SimCC's floor is ~8x lower "
            "(lesson 02), so it keeps improving where the heatmap stalls.",
            (Row(f"SimCC (Gaussian, k=2, {UP})", "64x64", sc, id="simcc"),
             Row("heatmap, no post-processing", "64x64", hm, "none", id="heatmap-none"),
             Row("heatmap + quarter offset", "64x64", hm, "quarter", id="heatmap-quarter"),
             Row("heatmap + DARK", "64x64", hm, "dark", id="heatmap-dark")), V.curves_rule, figure="curves"))

    def k(self) -> None:
        """The splitting factor k (SimCC without deconvolution)."""
        sizes = ("64x64", "128x128") if self.full else ("64x64",)
        rows = [Row(f"k={k:g}", s, self.simcc(f"simcc-k2-gauss-{s}", s) if k == 2.0
                    else self.simcc(f"simcc-k{k:g}-gauss-{s}", s, k=k), id=f"k={k:g}")
                for s in sizes for k in (1.0, 2.0, 3.0, 4.0)]
        self.add(Experiment("k", "Splitting factor k", "How many bins per pixel?",
                            "Larger k lowers quantisation error but is harder to train (k=3 chosen at 64x64).",
                            tuple(rows), V.k_rule))

    def smoothing(self) -> None:
        """The label shapes."""
        rows = [Row("Gaussian", "64x64", self.simcc("simcc-k2-gauss-64x64"), id="gaussian"),
                Row("Laplace", "64x64", self.simcc("simcc-k2-laplace-64x64", smoothing="laplace"), id="laplace"),
                Row("equal (eps 0.1)", "64x64", self.simcc("simcc-k2-equal-64x64", smoothing="equal", eps=0.1),
                    id="equal"),
                Row("none (one-hot)", "64x64", self.simcc("simcc-k2-none-64x64", smoothing="none"), id="none")]
        self.add(Experiment("smoothing", "Label smoothing", "Which label shape trains best?",
                            "Gaussian / Laplace > equal > none.", tuple(rows), V.smoothing_rule))

    def upsampling(self) -> None:
        """SimCC with and without the heatmap head's own deconvolution, as the paper's SimBa-SimCC keeps
        SimpleBaseline's. The compact CNN (stride 8) needs one to reach heatmap stride 4; three would upsample
        8x8 features to 64x64 maps (stride 1): 2550 s on one core, ~10x a plain run."""
        hm, sc = self.pair["64x64"]
        rows = [Row("SimCC, no deconv", "64x64", self.simcc("simcc-k2-gauss-64x64"), id="simcc"),
                Row(f"SimCC + {UP} (as the heatmap head)", "64x64", sc, id="simcc-deconv"),
                Row(f"heatmap, {UP} (DARK)", "64x64", hm, "dark", id="heatmap-dark")]
        self.add(Experiment(
            "upsampling", "Upsampling (deconvolution) layers", "Does SimCC need the deconvolution upsampling?",
            "Removing the deconvs leaves SimCC's AP almost unchanged while saving much compute.", tuple(rows),
            V.upsampling_rule, tables=("compute",)))

    def crowded(self) -> None:
        """Crowded scenes: the hard data (crowded=True, not clean). Crowded images hold ~6 people each, so on CPU
        800 images for 16 epochs give about the samples of the 64x64 runs (~5,000 crops x 16), no curve points."""
        crowd = dict(crowded=True, synth_clean=False)
        if self.cpu:
            crowd.update(synth_train_images=800, epochs=self.g.base["epochs"] // 2, eval_epochs=())
        rows = []
        for s in (("64x64", "128x128") if self.full else ("64x64",)):  # CPU: 64x64 only
            hm = self.heatmap(f"heatmap-crowded-{s}", s, **crowd)
            sc = self.simcc(f"simcc-k2-gauss-crowded-{s}", s, **crowd)
            hm_paper, sc_paper = paper.CROWDPOSE_AP.get(s, (None, None))
            # the paper's CrowdPose baseline is HRNet's heatmap with its standard post-processing (quarter offset)
            rows += [Row("heatmap + quarter offset", s, hm, "quarter", hm_paper, id="heatmap-quarter"),
                     Row("heatmap + DARK", s, hm, "dark", id="heatmap-dark"),
                     Row("heatmap, no post-processing", s, hm, "none", id="heatmap-none"),
                     Row("SimCC (Gaussian, k=2, no deconv)", s, sc, "default", sc_paper, id="simcc")]
        self.add(Experiment(
            "crowded", "Crowded scenes (CrowdPose-like)", "Does SimCC's advantage survive crowds and occlusion?",
            "CrowdPose, HRNet-W32 at 64x64: heatmap 42.4 vs SimCC 46.5 AP.", tuple(rows), V.crowded_rule))

    def backbone(self) -> None:
        """CNN or Transformer backbone; rows ``<backbone>-simcc`` and ``<backbone>-heatmap-dark`` are judged."""
        hm = self.pair["64x64"][0]
        tf_hm = self.heatmap("tf-heatmap-64x64", backbone="transformer")
        rows = [Row("compact CNN, heatmap (DARK)", "64x64", hm, "dark", id="compact-heatmap-dark"),
                Row("compact CNN, heatmap, no post", "64x64", hm, "none", id="compact-heatmap-none"),
                Row("compact CNN, SimCC (no deconv)", "64x64", self.simcc("simcc-k2-gauss-64x64"), id="compact-simcc"),
                Row("Transformer, heatmap (DARK)", "64x64", tf_hm, "dark", id="transformer-heatmap-dark"),
                Row("Transformer, heatmap, no post", "64x64", tf_hm, "none", id="transformer-heatmap-none"),
                Row("Transformer, SimCC", "64x64", self.simcc("tf-simcc-k2-gauss-64x64", backbone="transformer"),
                    id="transformer-simcc")]
        if self.full:
            rows += [Row("ResNet-50, heatmap (DARK)", "64x64", self.heatmap("r50-heatmap-64x64", backbone="resnet50"),
                         "dark", id="resnet50-heatmap-dark"),
                     Row("ResNet-50, SimCC", "64x64", self.simcc("r50-simcc-k2-gauss-64x64", backbone="resnet50"),
                         id="resnet50-simcc")]
        self.add(Experiment("backbone", "CNN or Transformer backbone", "Does SimCC help both kinds of backbone?",
                            "SimCC beats heatmaps with CNN (SimBa, HRNet) and Transformer (TokenPose) backbones.",
                            tuple(rows), V.backbone_rule))

    def transformer(self) -> None:
        """SimCC on a Transformer: TokenPose's keypoint tokens, and the visual tokens read as a map by the ordinary
        SimCC head with the heatmap head's deconvolution (the same backbone and upsampling: equal compute)."""
        n, tf_hm = HEATMAP_DECONVS, self.heatmap("tf-heatmap-64x64", backbone="transformer")
        post, none, simcc_ap = paper.RESOLUTION_AP["TokenPose-S"]["64x64"]
        rows = [Row("Transformer, heatmap + quarter offset", "64x64", tf_hm, "quarter", post, id="heatmap-quarter"),
                Row("Transformer, heatmap, no post-processing", "64x64", tf_hm, "none", none, id="heatmap-none"),
                Row("Transformer, heatmap + DARK", "64x64", tf_hm, "dark", id="heatmap-dark"),
                Row("Transformer, SimCC (keypoint tokens)", "64x64",
                    self.simcc("tf-simcc-k2-gauss-64x64", backbone="transformer"), "default", simcc_ap,
                    id="simcc-tokens"),
                Row(f"Transformer, SimCC (visual tokens, {UP})", "64x64",
                    self.simcc(f"tf-simcc-k2-gauss-deconv{n}-64x64", backbone="transformer", deconvs=n), "default",
                    simcc_ap, id="simcc-map")]
        self.add(Experiment(
            "transformer", "SimCC on a Transformer",
            "Does SimCC learn on a Transformer backbone, and from which tokens?",
            "SimCC beats heatmaps on a Transformer backbone (TokenPose-S: SimCC 62.8 vs heatmap + post 57.1 AP at "
            "64x64, 73.6 vs 72.5 at 256x192).", tuple(rows), V.transformer_rule))
