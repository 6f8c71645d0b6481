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

from . import io
from .config import RUN_FIELDS

MODES = ("tiny", "quick", "full")
HEATMAP_VARIANTS = ("none", "quarter", "dark")


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

    def add_run(self, name: str, variants: tuple[str, ...] = ("default",), **overrides) -> str:
        """Register a run (once per name) for every seed; returns the name."""
        for seed in self.seeds:
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
    if mode == "tiny":  # seconds: for the end-to-end test
        return dict(dataset="synthpose", synth_train_images=8, synth_val_images=4, epochs=2, batch_size=8,
                    max_steps_per_epoch=2, workers=0, progress=False, flip_test=False, eval_every=0)
    # Shared by quick and full: the Adam recipe of the paper with the lr kept high for most of a short
    # schedule (drops at 80% and 95%), light augmentation so that short runs learn the task, flip test on.
    recipe = dict(dataset="synthpose", lr=2e-3, milestones=(0.8, 0.95), warmup_steps=30, rotation_factor=15.0,
                  scale_factor=0.25, sigma=3.0, hm_sigma=1.5, flip_test=True, progress=False, eval_every=0)
    if mode == "quick":  # 2 CPU cores, the whole grid in under 30 minutes
        # One torch thread and one loader process: on 2 cores, two intra-op threads ran ~9x slower
        # (docs/training.md). 10 epochs of ~1250 person crops (8 fit in 18 min but left SimCC at AP 2.2).
        return dict(recipe, synth_train_images=500, synth_val_images=100, epochs=10, batch_size=32, workers=1,
                    threads=1)
    if mode == "full":  # a GPU: more data, longer schedules
        return dict(recipe, synth_train_images=20000, synth_val_images=1000, epochs=60, batch_size=128, workers=8)
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def build_grid(mode: str = "quick", seeds: tuple[int, ...] | None = None) -> Grid:
    """The experiment grid of ``mode`` ("tiny" for tests, "quick" on 2 CPU cores, "full" on a GPU)."""
    base = _base_config(mode)
    if seeds is None:
        seeds = (0, 1, 2) if mode == "full" else (0,)
    g = Grid(mode, base, seeds=tuple(seeds))
    full = mode == "full"
    # Quick mode trains at 64x64 only: on 2 CPU cores a 128x128 run costs ~4x a 64x64 one per image, and
    # with the budget cut to fit 30 minutes (5 epochs) both heads stayed at AP 0 there (issue 5's note).
    sizes = ("64x64", "128x128", "256x192") if full else ("64x64",)
    wh = {"64x64": (64, 64), "128x128": (128, 128), "256x192": (192, 256)}
    paper_ap = _paper_mean_resolution()

    def sized(size):
        """Per-size overrides."""
        return {"input_size": wh[size]}

    def simcc(name, size="64x64", **kw):
        kw = dict(dict(codec="simcc", k=2.0, smoothing="gaussian", **sized(size)), **kw)
        return g.add_run(name, **kw)

    def heatmap(name, size="64x64", **kw):
        # One model, three decodings (argmax, quarter offset, DARK); DARK's unbiased encoding so that its
        # Taylor step refines toward the true location rather than toward a rounded one.
        kw = dict(dict(codec="heatmap", encoding="unbiased", **sized(size)), **kw)
        return g.add_run(name, variants=HEATMAP_VARIANTS, **kw)

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
    # Crowded images hold ~2.5x the people (3104 vs 1247 crops in 500 images): quick mode takes 250 images
    # (1.25x the crops of the other runs; 200 left both heads at AP 0.1 after 8 epochs).
    crowd = dict(crowded=True) if full else dict(crowded=True, synth_train_images=250)
    for s in (("64x64", "128x128") if full else ("64x64",)):  # quick: 64x64 only, to fit its 30 minutes
        hm = heatmap(f"heatmap-crowded-{s}", s, **crowd)
        sc = simcc(f"simcc-k2-gauss-crowded-{s}", s, **crowd)
        hm_paper, sc_paper = (42.4, 46.5) if s == "64x64" else (None, None)
        rows += [Row("heatmap + DARK", s, hm, "dark", hm_paper), Row("heatmap, no post-processing", s, hm, "none"),
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
    return g


def _heatmap_deconvs(base: dict) -> int:
    """Deconvolutions of the heatmap head the grid's base config builds (1 for the compact CNN at stride 4)."""
    from .config import build_codec, config_from_preset
    from .models import build_model

    cfg = config_from_preset(None, **dict(base, codec="heatmap"))
    return build_model(cfg.backbone, build_codec(cfg)).head.deconvs


def _paper_mean_resolution() -> dict[str, tuple[float, float, float]]:
    """Per input size, the paper's AP averaged over its four backbones (heatmap+post, heatmap, SimCC)."""
    from .paper import RESOLUTION_AP

    out = {}
    for s in ("64x64", "128x128", "256x192"):
        rows = [v[s] for v in RESOLUTION_AP.values()]
        out[s] = tuple(round(sum(r[i] for r in rows) / len(rows), 1) for i in range(3))
    return out


# ---------------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------------
Trainer = Callable[[Run, dict, Path], dict]


def result_path(out_dir: Path, run: Run) -> Path:
    """Where a finished run's result JSON lives."""
    return Path(out_dir) / "results" / f"{run.key}.json"


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
    """Rough relative cost of a run: input pixels x epochs x people (crowded images hold ~2.5x)."""
    w, h = overrides.get("input_size", (64, 64))
    people = overrides.get("synth_train_images", 1) * (2.5 if overrides.get("crowded") else 1.0)
    heavy = 1.4 if overrides.get("codec") == "heatmap" or overrides.get("deconvs") else 1.0  # measured step times
    return w * h * overrides.get("epochs", 1) * people * heavy


_DATA_FIELDS = ("dataset", "synth_train_images", "synth_val_images", "synth_image_size", "crowded", "data_seed",
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

    Returns ``{"metrics": {variant: {AP, AP50, ..., mean_px_error}}, "params_m", "gflops",
    "train_images_per_s", "history"}``. Heatmap variants are decodings of the same trained model.
    """
    from . import engine
    from .config import build_codec, config_from_preset

    # evaluation happens below, once per variant; during training only the last epoch is evaluated
    cfg = config_from_preset(None, **dict(overrides, out_dir=str(run_dir), resume=True, eval_every=0))
    history = engine.fit(cfg)
    metrics = {}
    for variant in run.variants:
        extra = {} if variant == "default" else {"refinement": variant}
        m = engine.evaluate(cfg, progress=False, **extra)
        metrics[variant] = {k: float(v) for k, v in m.items() if isinstance(v, (int, float))}
    out = {"metrics": metrics, "history": history,
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
                   help="quick: 2 CPU cores, under 30 min (the measured time is in reports/RUN.json); "
                        "full: a GPU, more data and seeds; tiny: seconds (tests)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="run one experiment (repeatable): resolution, k, smoothing, upsampling, crowded, backbone")
    p.add_argument("--seeds", default=None, help="comma-separated seeds (default: 0 in quick mode, 0,1,2 in full)")
    p.add_argument("--out", default="reports", help="report, figures and results/*.json go here")
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
