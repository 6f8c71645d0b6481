"""The paper's experiments as grids of training runs on SynthPose, and the runner that executes them.

An :class:`Experiment` is a list of table rows; each row points at a training :class:`Run` (a set of
TrainConfig overrides) and an evaluation variant of it (heatmap refinement none / quarter / DARK are
three evaluations of one trained model). Runs are shared between experiments (the k=2 Gaussian SimCC
model is the baseline of several tables), executed once, and cached as one result file each, written
whole: a re-run skips finished runs and resumes interrupted ones from their last checkpoint.

The report (report.py) turns the result files into tables, verdicts and figures.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import io, paper
from .config import QUICK_RECIPE, REFINEMENTS, RUN_FIELDS

MODES = ("tiny", "quick", "standard", "full")
# Experiments each mode runs (the rest are listed as "not run" with the mode that runs them).
MODE_EXPERIMENTS = {"tiny": ("resolution", "curves", "k", "smoothing", "upsampling", "crowded", "backbone"),
                    "quick": ("resolution", "curves"),
                    "standard": ("resolution", "curves", "k", "smoothing", "upsampling", "crowded", "backbone"),
                    "full": ("resolution", "curves")}
CURVE_EPOCHS = (1, 2, 4, 8, 16, 32)  # learning-curve points (epochs of the 64x64 runs: a 32x span of samples)
HEATMAP_VARIANTS = REFINEMENTS


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
    """One line of an experiment's table: ``label`` at ``group`` (e.g. an input size) from run/variant."""

    label: str
    group: str
    run: str
    variant: str = "default"
    paper: float | None = None  # the paper's number for this cell, when it has one


@dataclass(frozen=True)
class Experiment:
    """A named experiment: its question, its rows and the paper's claim it tests."""

    name: str
    title: str
    question: str
    claim: str
    rows: tuple[Row, ...]
    metric: str = "AP"


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
        # (amp auto), crops kept and augmented on the GPU. Sized by estimate to ~8 minutes on an H200 (compact CNN
        # at ~30k images/s at 64x64, 4x and 12x the cost at 128x128 and 256x192); not yet measured on one.
        return dict(recipe, synth_train_images=3750, synth_val_images=1000, epochs=max(CURVE_EPOCHS), batch_size=256,
                    lr=4e-3, warmup_steps=200, workers=4, threads=0, amp="auto", eval_epochs=CURVE_EPOCHS)
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def build_grid(mode: str = "quick", seeds: tuple[int, ...] | None = None) -> Grid:
    """The experiment grid of ``mode`` ("tiny" for tests, "quick" on 2 CPU cores, "full" on a GPU)."""
    base = _base_config(mode)
    if seeds is None:
        seeds = (0,) if mode == "tiny" else (0, 1, 2)
    g = Grid(mode, base, seeds=tuple(seeds))
    full = mode == "full"
    cpu = mode in ("quick", "standard")
    sizes = ("64x64", "128x128", "256x192") if full else ("64x64", "128x128")
    wh = {"64x64": (64, 64), "128x128": (128, 128), "256x192": (192, 256)}
    paper_ap = _paper_mean_resolution()

    def sized(size):
        """Per-size overrides. On 2 CPU cores a 128x128 step costs ~3.5x a 64x64 one (bench_train.py), so
        the trend's 128x128 runs train one seed for 10 epochs (25,000 samples, the cosine over those), with
        no learning-curve points: about the compute of one 64x64 run, so that quick mode fits 30 minutes."""
        if cpu and size != "64x64":
            return {"input_size": wh[size], "epochs": 10, "eval_epochs": ()}
        return {"input_size": wh[size]}

    def size_seeds(size):
        return (g.seeds[0],) if cpu and size != "64x64" else None

    def simcc(name, size="64x64", **kw):
        kw = dict(dict(codec="simcc", k=2.0, smoothing="gaussian", **sized(size)), **kw)
        return g.add_run(name, seeds=size_seeds(size), **kw)

    def heatmap(name, size="64x64", **kw):
        # One model, three decodings (argmax, quarter offset, DARK); DARK's unbiased encoding so that its
        # Taylor step refines toward the true location rather than toward a rounded one.
        kw = dict(dict(codec="heatmap", encoding="unbiased", **sized(size)), **kw)
        return g.add_run(name, variants=HEATMAP_VARIANTS, seeds=size_seeds(size), **kw)

    # 1. input resolution
    rows = []
    for s in sizes:
        hm, sc = heatmap(f"heatmap-{s}", s), simcc(f"simcc-k2-gauss-{s}", s)
        post, none, simcc_ap = paper_ap[s]
        rows += [Row("heatmap + quarter offset", s, hm, "quarter", post), Row("heatmap, no post-processing", s, hm, "none", none),
                 Row("heatmap + DARK", s, hm, "dark"), Row("SimCC (Gaussian, k=2)", s, sc, "default", simcc_ap)]
    g.experiments["resolution"] = Experiment(
        "resolution", "Heatmap vs SimCC across input sizes",
        "Does SimCC beat heatmaps most at low resolution, and do heatmaps need post-processing there?",
        "SimCC beats heatmap at every size, by far the most at 64x64; without post-processing heatmaps lose "
        "9-21 AP at 64x64 and ~2 AP at 256x192.", tuple(rows))

    # 1b. learning curves: the 64x64 runs above, evaluated after CURVE_EPOCHS
    hm, sc = "heatmap-64x64", "simcc-k2-gauss-64x64"
    g.experiments["curves"] = Experiment(
        "curves", "Learning curves at 64x64", "Where does the heatmap's quantisation floor start to bite?",
        "Heatmap accuracy is capped by its quantisation error at low resolution; SimCC's floor is ~8x lower "
        "(lesson 02), so it keeps improving where the heatmap stalls.",
        (Row("SimCC (Gaussian, k=2)", "64x64", sc), Row("heatmap, no post-processing", "64x64", hm, "none"),
         Row("heatmap + quarter offset", "64x64", hm, "quarter"), Row("heatmap + DARK", "64x64", hm, "dark")))

    # 2. splitting factor k
    ks = (1.0, 2.0, 3.0, 4.0)
    k_sizes = ("64x64", "128x128") if full else ("64x64",)
    rows = [Row(f"k={k:g}", s, simcc(f"simcc-k2-gauss-{s}", s) if k == 2.0 else simcc(f"simcc-k{k:g}-gauss-{s}", s, k=k))
            for s in k_sizes for k in ks]
    g.experiments["k"] = Experiment("k", "Splitting factor k", "How many bins per pixel?",
                                    "Larger k lowers quantisation error but is harder to train (k=3 chosen at 64x64).",
                                    tuple(rows))

    # 3. label smoothing
    rows = [Row("Gaussian", "64x64", simcc("simcc-k2-gauss-64x64")),
            Row("Laplace", "64x64", simcc("simcc-k2-laplace-64x64", smoothing="laplace")),
            Row("equal (eps 0.1)", "64x64", simcc("simcc-k2-equal-64x64", smoothing="equal", eps=0.1)),
            Row("none (one-hot)", "64x64", simcc("simcc-k2-none-64x64", smoothing="none"))]
    g.experiments["smoothing"] = Experiment("smoothing", "Label smoothing", "Which label shape trains best?",
                                            "Gaussian / Laplace > equal > none.", tuple(rows))

    # 4. upsampling: SimCC with and without the heatmap head's own deconvolutions, as the paper's
    # SimBa-SimCC keeps SimpleBaseline's. The compact CNN (stride 8) needs one to reach heatmap stride 4;
    # three would upsample 8x8 features to 64x64 maps (stride 1): 2550 s on one core, ~10x a plain run.
    n = _heatmap_deconvs(base)
    up = f"{n} deconv{'s' if n > 1 else ''}"
    rows = [Row("SimCC, no deconv", "64x64", simcc("simcc-k2-gauss-64x64")),
            Row(f"SimCC + {up} (as the heatmap head)", "64x64", simcc(f"simcc-k2-gauss-deconv{n}-64x64", deconvs=n)),
            Row(f"heatmap, {up} (DARK)", "64x64", heatmap("heatmap-64x64"), "dark")]
    g.experiments["upsampling"] = Experiment(
        "upsampling", "Upsampling (deconvolution) layers", "Does SimCC need the deconvolution upsampling?",
        "Removing the deconvs leaves SimCC's AP almost unchanged while saving much compute.", tuple(rows))

    # 5. crowded scenes
    rows = []
    # The hard data (crowded=True, not clean). Crowded images hold ~6 people each, so on CPU 800 images for 16
    # epochs give about the samples of the 64x64 runs above (~5,000 crops x 16), without curve points.
    crowd = dict(crowded=True, synth_clean=False)
    if cpu:
        crowd.update(synth_train_images=800, epochs=base["epochs"] // 2, eval_epochs=())
    for s in (("64x64", "128x128") if full else ("64x64",)):  # CPU: 64x64 only
        hm = heatmap(f"heatmap-crowded-{s}", s, **crowd)
        sc = simcc(f"simcc-k2-gauss-crowded-{s}", s, **crowd)
        hm_paper, sc_paper = paper.CROWDPOSE_AP.get(s, (None, None))
        # the paper's CrowdPose baseline is HRNet's heatmap with its standard post-processing (quarter offset)
        rows += [Row("heatmap + quarter offset", s, hm, "quarter", hm_paper), Row("heatmap + DARK", s, hm, "dark"),
                 Row("heatmap, no post-processing", s, hm, "none"),
                 Row("SimCC (Gaussian, k=2)", s, sc, "default", sc_paper)]
    g.experiments["crowded"] = Experiment(
        "crowded", "Crowded scenes (CrowdPose-like)", "Does SimCC's advantage survive crowds and occlusion?",
        "CrowdPose, HRNet-W32 at 64x64: heatmap 42.4 vs SimCC 46.5 AP.", tuple(rows))

    # 6. backbone
    rows = [Row("compact CNN, heatmap (DARK)", "64x64", heatmap("heatmap-64x64"), "dark"),
            Row("compact CNN, heatmap, no post", "64x64", heatmap("heatmap-64x64"), "none"),
            Row("compact CNN, SimCC", "64x64", simcc("simcc-k2-gauss-64x64")),
            Row("Transformer, heatmap (DARK)", "64x64", heatmap("tf-heatmap-64x64", backbone="transformer"), "dark"),
            Row("Transformer, heatmap, no post", "64x64", heatmap("tf-heatmap-64x64", backbone="transformer"), "none"),
            Row("Transformer, SimCC", "64x64", simcc("tf-simcc-k2-gauss-64x64", backbone="transformer"))]
    if full:
        rows += [Row("ResNet-50, heatmap (DARK)", "64x64", heatmap("r50-heatmap-64x64", backbone="resnet50"), "dark"),
                 Row("ResNet-50, SimCC", "64x64", simcc("r50-simcc-k2-gauss-64x64", backbone="resnet50"))]
    g.experiments["backbone"] = Experiment("backbone", "CNN or Transformer backbone",
                                           "Does SimCC help both kinds of backbone?",
                                           "SimCC beats heatmaps with CNN (SimBa, HRNet) and Transformer (TokenPose) "
                                           "backbones.", tuple(rows))
    g.export = ("simcc-k2-gauss-64x64", "heatmap-64x64")
    keep = MODE_EXPERIMENTS[mode]
    g.experiments = {n: e for n, e in g.experiments.items() if n in keep}
    needed = {r.run for e in g.experiments.values() for r in e.rows}
    g.runs = {k: r for k, r in g.runs.items() if r.name in needed}
    return g


def _heatmap_deconvs(base: dict) -> int:
    """Deconvolutions of the heatmap head the grid's base config builds (1 for the compact CNN at stride 4)."""
    from .config import build_codec, config_from_preset
    from .models import build_model

    cfg = config_from_preset(None, **dict(base, codec="heatmap"))
    return build_model(cfg.backbone, build_codec(cfg)).head.deconvs


def _paper_mean_resolution() -> dict[str, tuple[float, float, float]]:
    """Per input size, the paper's AP averaged over its four backbones (heatmap+post, heatmap, SimCC)."""
    out = {}
    for s in ("64x64", "128x128", "256x192"):
        rows = [v[s] for v in paper.RESOLUTION_AP.values()]
        out[s] = tuple(round(sum(r[i] for r in rows) / len(rows), 1) for i in range(3))
    return out


# ---------------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------------
Trainer = Callable[[Run, dict, Path], dict]


def result_path(out_dir: Path, run: Run) -> Path:
    """Where a finished run's result JSON lives."""
    return Path(out_dir) / "results" / f"{run.key}.json"


def model_path(out_dir: Path, run: Run) -> Path:
    """Where an exported model of ``run`` lives (``out_dir/models/<run>-s<seed>.pt``)."""
    return Path(out_dir) / "models" / f"{run.key}.pt"


def _export(src: Path, dst: Path, result: dict) -> None:
    """Keep a small copy of a trained model beside the report (float16 weights, config, val metrics)."""
    from .checkpoint import export_model

    if src.is_file():
        export_model(src, dst, metrics=result.get("metrics", {}))


def load_results(out_dir: Path) -> dict[str, dict]:
    """All finished result files under ``out_dir/results``, by run key."""
    out = {}
    for p in sorted((Path(out_dir) / "results").glob("*.json")):
        with p.open() as f:
            out[p.stem] = json.load(f)
    return out


def run_grid(grid: Grid, out_dir: str | Path, trainer: Trainer | None = None, only: tuple[str, ...] = (),
             progress: Callable[[str], None] = print, work_dir: str | Path | None = None,
             jobs: int = 1) -> dict[str, dict]:
    """Execute the runs the selected experiments need; skip finished ones.

    Args:
        grid: from :func:`build_grid`.
        out_dir: results go to ``out_dir/results/<run>.json``.
        work_dir: checkpoints go to ``work_dir/<run>/`` (default ``out_dir/runs``).
        trainer: ``trainer(run, config_overrides, run_dir) -> result dict`` (default: the real engine,
            :func:`train_and_evaluate`). It must resume from ``run_dir`` when a checkpoint is there.
        only: experiment names to run (default all).
        jobs: runs trained at once, each in its own process (``trainer`` must then be picklable: a
            module-level function). On CPU each run uses one thread and loads its own data (no loader
            process), so jobs = cores uses the machine.
    Returns: results by run key (finished ones, including those found on disk).
    """
    unknown = set(only) - set(grid.experiments)
    if unknown:
        raise ValueError(f"unknown experiment(s) {sorted(unknown)}; known: {list(grid.experiments)}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    names = tuple(only) or tuple(grid.experiments)
    trainer = trainer or train_and_evaluate
    out_dir = Path(out_dir)
    work_dir = Path(work_dir) if work_dir is not None else out_dir / "runs"
    runs = grid.runs_for(names)
    results, todo = {}, []
    for i, run in enumerate(runs, 1):
        path = result_path(out_dir, run)
        overrides = dict(grid.base, **run.config_overrides())
        if path.exists():
            with path.open() as f:
                earlier = json.load(f)
            changed = _changed_fields(earlier.get("overrides"), overrides)
            if not changed:
                results[run.key] = earlier
                progress(f"[{i}/{len(runs)}] {run.key}: done earlier, skipped")
                continue
            # A result of another recipe is not this run's result: train again, keep the old file beside it.
            _set_aside(path)
            progress(f"[{i}/{len(runs)}] {run.key}: recipe changed ({', '.join(changed)}); earlier result kept "
                     f"as {path.name}.stale")
        run_dir = work_dir / run.key
        changed = _changed_fields(_checkpoint_config(run_dir), _full_config(overrides))
        if changed:  # resuming would continue a different recipe: start afresh, keep the old run
            moved = _set_aside(run_dir)
            progress(f"[{i}/{len(runs)}] {run.key}: checkpoint from another recipe ({', '.join(changed)}) "
                     f"moved to {moved}")
        todo.append((i, run, overrides, run_dir))

    def finish(i, run, overrides, result, wall):
        result = dict(result, run=run.name, key=run.key, seed=run.seed, overrides=_jsonable(overrides),
                      wall_s=round(wall, 1))
        io.write_json(result_path(out_dir, run), result)
        results[run.key] = result
        if run.name in grid.export and run.seed == grid.seeds[0]:
            _export(work_dir / run.key / "last.pt", model_path(out_dir, run), result)
        progress(f"[{i}/{len(runs)}] {run.key}: {_summary(result)} in {result['wall_s']:.0f} s")

    if jobs == 1 or len(todo) <= 1:
        for i, run, overrides, run_dir in todo:
            progress(f"[{i}/{len(runs)}] {run.key}: training")
            t0 = time.perf_counter()
            finish(i, run, overrides, trainer(run, overrides, run_dir), time.perf_counter() - t0)
        return results
    _prepare_data({json.dumps(_data_fields(o), sort_keys=True): o for _, _, o, _ in todo}.values())
    # Longest runs first (more pixels, more epochs), so that the last ones to start are short.
    todo.sort(key=lambda t: -_cost(t[2]))
    import concurrent.futures as cf
    import multiprocessing as mp

    # spawn, not fork: a forked child would inherit the parent's torch thread pools and locks
    import torch

    # On CPU, no loader process: with one run per core a loader would share the cores with the trainers
    # (2 epochs of two runs side by side: 36 s with workers=0 vs 39 s with workers=1).
    per_run = {} if torch.cuda.is_available() else {"workers": 0}
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"),
                                initializer=_exit_with_parent, initargs=(os.getpid(),)) as pool:
        started = {}
        for i, run, overrides, run_dir in todo:
            progress(f"[{i}/{len(runs)}] {run.key}: queued")
            started[pool.submit(_timed, trainer, run, dict(overrides, **per_run), run_dir)] = (i, run, overrides)
        try:
            for fut in cf.as_completed(started):
                i, run, overrides = started[fut]
                result, wall = fut.result()
                finish(i, run, overrides, result, wall)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # finished runs are saved; the rest resume later
            raise
    return results


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: end this process when ``parent`` is gone (killed runners must not leave
    orphans training in the background; Ctrl-C reaches the workers anyway). Checkpoints make it safe."""
    import threading

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(3)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _timed(trainer: Trainer, run: Run, overrides: dict, run_dir: Path) -> tuple[dict, float]:
    """``(trainer(...), wall seconds)``: what a worker process runs."""
    t0 = time.perf_counter()
    return trainer(run, overrides, run_dir), time.perf_counter() - t0


def _cost(overrides: dict) -> float:
    """Rough relative cost of a run: input pixels x epochs x people (crowded images hold ~6x the clean ones)."""
    w, h = overrides.get("input_size", (64, 64))
    people = overrides.get("synth_train_images", 1) * (6.0 if overrides.get("crowded") else 1.0)
    heavy = 1.4 if overrides.get("codec") == "heatmap" or overrides.get("deconvs") else 1.0  # measured step times
    return w * h * overrides.get("epochs", 1) * people * heavy


_DATA_FIELDS = ("dataset", "synth_train_images", "synth_val_images", "synth_image_size", "crowded", "synth_clean",
                "data_seed",
                "cache_dir")


def _data_fields(overrides: dict) -> dict:
    return _jsonable({k: v for k, v in overrides.items() if k in _DATA_FIELDS})


def _prepare_data(overrides_list) -> None:
    """Generate each SynthPose data set once, before parallel runs (two processes would generate it twice)."""
    from . import engine
    from .config import config_from_preset

    for overrides in overrides_list:
        cfg = config_from_preset(None, **overrides)
        if cfg.dataset == "synthpose":
            engine.data_paths(cfg)


def _changed_fields(earlier: dict | None, now: dict) -> list[str]:
    """Recipe fields whose values differ between an earlier run's overrides and the current ones."""
    if earlier is None:
        return []
    now = _jsonable(now)
    keys = (set(earlier) | set(now)) - RUN_FIELDS
    return sorted(k for k in keys if earlier.get(k) != now.get(k))


def _checkpoint_config(run_dir: Path) -> dict | None:
    """The whole config stored in ``run_dir/last.pt``, or None when there is no checkpoint."""
    ckpt = Path(run_dir) / "last.pt"
    if not ckpt.is_file():
        return None
    from .checkpoint import load_checkpoint

    return load_checkpoint(ckpt)["config"]


def _full_config(overrides: dict) -> dict:
    """Every TrainConfig field for ``overrides`` (defaults filled in), as stored in checkpoints."""
    from .config import config_from_preset, config_to_dict

    return config_to_dict(config_from_preset(None, **overrides))


def _set_aside(path: Path) -> Path:
    """Rename ``path`` to ``path.stale`` (``.stale2``, ... when taken) so that nothing is lost."""
    path = Path(path)
    target, n = path.with_name(path.name + ".stale"), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.stale{n}")
    path.rename(target)
    return target


def _summary(result: dict) -> str:
    return ", ".join(f"{v}: AP {m.get('AP', float('nan')):.3f}" for v, m in result.get("metrics", {}).items())


def _jsonable(d: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def train_and_evaluate(run: Run, overrides: dict, run_dir: Path) -> dict:
    """The real trainer: :func:`engine.fit` (resuming from ``run_dir``), then one evaluation per variant.

    Returns ``{"metrics": {variant: {AP, AP50, ..., pixel_error}}, "per_person": {variant: lists of
    ann_id, err_sum, count, oks}, "oracle": {variant: {AP, pixel_error}} (the codec alone on the same val
    people), "params_m", "gflops", "train_images_per_s", "history"}``. Heatmap variants are decodings of
    the same trained model.
    """
    from . import engine
    from .config import build_codec, config_from_preset
    from .oracle import codec_oracle

    # evaluation happens below, once per variant; during training only the last epoch is evaluated
    cfg = config_from_preset(None, **dict(overrides, out_dir=str(run_dir), resume=True, eval_every=0))
    history = engine.fit(cfg)
    metrics, per_person, oracle = {}, {}, {}
    val_file = engine.data_paths(cfg)["val"][0]
    for variant in run.variants:
        extra = {} if variant == "default" else {"refinement": variant}
        m = engine.evaluate(cfg, progress=False, per_person=True, **extra)
        per_person[variant] = m.pop("per_person", None)
        metrics[variant] = {k: float(v) for k, v in m.items() if isinstance(v, (int, float))}
        # The codec's own floor on the same val people: encode the truth, decode it (no network).
        o = codec_oracle(val_file, build_codec(cfg, refinement=extra.get("refinement")))
        oracle[variant] = {"AP": float(o["AP"]), "pixel_error": float(o["mean_err_input_px"])}
    out = {"metrics": metrics, "per_person": per_person, "oracle": oracle, "history": history,
           "train_images_per_s": float(np.median([h["images_per_s"] for h in history])) if history else None}
    try:  # compute figures are a nicety of the report; a model the counter cannot trace still has its AP
        from .models import build_model, count_params_flops

        model = build_model(cfg.backbone, codec=build_codec(cfg), num_keypoints=17, deconvs=cfg.deconvs)
        c = count_params_flops(model, cfg.input_size)
        out["params_m"] = c["params"]["total"] / 1e6 if isinstance(c.get("params"), dict) else c.get("params_m")
        out["gflops"] = c["gflops"]["total"] if isinstance(c.get("gflops"), dict) else c.get("gflops")
    except Exception as err:  # noqa: BLE001 - reported, not hidden
        out["compute_error"] = f"{type(err).__name__}: {err}"
    return out


# ---------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------
def register_cli(sub) -> None:
    """``simcc-lab reproduce --mode quick|full [--only NAME] [--seeds 0,1] [--out reports]``."""
    p = sub.add_parser("reproduce", help="run the paper's experiments on SynthPose and write the report")
    p.add_argument("--mode", choices=MODES, default="quick",
                   help="quick: SimCC vs heatmap at 64x64 (3 seeds) and 128x128, learning curves; 2 CPU cores, "
                        "<= 30 min (measured time in reports/RUN.json). standard: quick plus the ablations (k, "
                        "smoothing, upsampling, crowded, backbone; 3 seeds), hours on 2 cores. full: everything "
                        "on a GPU with more data and 256x192. tiny: seconds (tests)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="run one experiment (repeatable): resolution, curves, k, smoothing, upsampling, crowded, "
                        "backbone")
    p.add_argument("--seeds", default=None, help="comma-separated seeds (default 0,1,2; 0 in tiny mode)")
    p.add_argument("--out", default=None,
                   help="report, figures, results/*.json and models/ go here (default reports/ in quick mode, "
                        "reports/MODE/ otherwise)")
    p.add_argument("--work-dir", default=None, help="checkpoints (default runs/reproduce-MODE, git-ignored)")
    p.add_argument("--jobs", type=int, default=0,
                   help="runs trained at once, one process each (default: 1 with a GPU, else the CPU count, <= 4)")
    p.add_argument("--report-only", action="store_true",
                   help="train nothing: write the report from the result files already in --out")
    p.set_defaults(func=_cli_reproduce)


def default_jobs() -> int:
    """Runs at once: 1 on a GPU (one run fills it), else one per CPU core up to 4 (each run then uses one
    thread and loads its own data)."""
    import torch

    if torch.cuda.is_available():
        return 1
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def _cli_reproduce(args) -> int:
    import shlex
    import sys

    from . import report

    seeds = tuple(int(s) for s in args.seeds.split(",")) if args.seeds else None
    if args.out is None:
        args.out = "reports" if args.mode == "quick" else f"reports/{args.mode}"
    grid = build_grid(args.mode, seeds)
    t0 = time.perf_counter()
    if args.report_only:
        keys = {r.key for r in grid.runs.values()}
        results = {k: v for k, v in load_results(args.out).items() if k in keys}
        print(f"{len(results)} of {len(keys)} runs have results in {args.out}/results")
    else:
        results = run_grid(grid, args.out, only=tuple(args.only), jobs=args.jobs or default_jobs(),
                           work_dir=args.work_dir or f"runs/reproduce-{args.mode}")
    command = "simcc-lab " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["reproduce"] \
        else f"simcc-lab reproduce --mode {args.mode}"
    run_file, recorded = Path(args.out) / "RUN.json", None
    if args.report_only:
        wall = None
        if run_file.is_file():  # the invocation that trained: its command and wall time, not ours
            with run_file.open() as f:
                recorded = json.load(f)
    else:
        wall = time.perf_counter() - t0
        io.write_json(run_file, dict(command=command, wall_s=round(wall, 1), runs=len(results),
                                     jobs=args.jobs or default_jobs(), only=list(args.only)))
    path = report.write_report(grid, results, args.out, command, wall, only=tuple(args.only), recorded=recorded)
    print(f"report: {path}")
    return 0
