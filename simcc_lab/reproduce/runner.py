"""The runner: trains and evaluates the runs of an experiment grid (:mod:`.grid`), caches one result
file per run, and the ``simcc-lab reproduce`` command that ends with the report (:mod:`.report`).

Runs are executed once and cached as one result file each, written whole: a re-run skips finished runs and
resumes interrupted ones from their last checkpoint.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing as mp
import os
import shlex
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import torch

from .. import files
from ..training import engine
from ..training.checkpoint import export_model, load_checkpoint
from ..training.config import RUN_FIELDS, config_from_preset, config_to_dict
from . import report
from .provenance import provenance
from .grid import Grid, Run, build_grid
from .results import load_results, model_path, result_path

Trainer = Callable[[Run, dict, Path], dict]


def _export(src: Path, dst: Path, result: dict) -> None:
    """Keep a small copy of a trained model beside the report (float16 weights, config, val metrics)."""
    if src.is_file():
        export_model(src, dst, metrics=result.get("metrics", {}))


def run_grid(grid: Grid, out_dir: str | Path, trainer: Trainer | None = None, only: tuple[str, ...] = (),
             progress: Callable[[str], None] = print, work_dir: str | Path | None = None,
             jobs: int = 1, rerun: tuple[str, ...] = (), command: str | None = None) -> dict[str, dict]:
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
        rerun: run keys (``name-s<seed>``) to train again from scratch, and nothing else; an earlier
            result and checkpoint of each are kept beside as ``.stale``.
        command: the command line recorded in each new result's ``provenance``.
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
    runs = grid.runs_for(names) if not rerun else _selected_runs(grid, rerun)
    results, todo = _plan(grid, runs, out_dir, work_dir, bool(rerun), progress)

    def finish(i, run, overrides, result, wall):
        environment = result.get("environment")
        result = {k: v for k, v in result.items() if k != "environment"}
        result = dict(result, run=run.name, key=run.key, seed=run.seed, overrides=_jsonable(overrides),
                      wall_s=round(wall, 1), provenance=provenance(command, environment))
        files.write_json(result_path(out_dir, run), result)
        results[run.key] = result
        if run.name in grid.export and run.seed == grid.seeds[0]:
            _export(work_dir / run.key / "last.pt", model_path(out_dir, run), result)
        progress(f"[{i}/{len(runs)}] {run.key}: {_summary(result)} in {result['wall_s']:.0f} s")

    if jobs == 1 or len(todo) <= 1:
        for i, run, overrides, run_dir in todo:
            progress(f"[{i}/{len(runs)}] {run.key}: training")
            t0 = time.perf_counter()
            finish(i, run, overrides, trainer(run, overrides, run_dir), time.perf_counter() - t0)
    else:
        _train_in_parallel(todo, trainer, jobs, finish, lambda i, key: progress(f"[{i}/{len(runs)}] {key}: queued"))
    return results


def _plan(grid: Grid, runs: list[Run], out_dir: Path, work_dir: Path, rerun: bool, progress) -> tuple[dict, list]:
    """``(results found on disk, todo)``: finished runs of this recipe are kept; results and checkpoints of
    another recipe (or all of them with ``rerun``) are set aside as ``.stale``; todo items are
    ``(index, run, overrides, run_dir)``."""
    results, todo = {}, []
    for i, run in enumerate(runs, 1):
        path, run_dir = result_path(out_dir, run), work_dir / run.key
        overrides = dict(grid.base, **run.config_overrides())
        tag = f"[{i}/{len(runs)}] {run.key}"
        if rerun:
            for old in (path, run_dir):
                if old.exists():
                    progress(f"{tag}: trained again; earlier {old.name} kept as {_set_aside(old).name}")
        if path.exists():
            with path.open() as f:
                earlier = json.load(f)
            changed = _changed_fields(earlier.get("overrides"), overrides)
            if not changed:
                results[run.key] = earlier
                progress(f"{tag}: done earlier, skipped")
                continue
            # A result of another recipe is not this run's result: train again, keep the old file beside it.
            _set_aside(path)
            progress(f"{tag}: recipe changed ({', '.join(changed)}); earlier result kept as {path.name}.stale")
        changed = _changed_fields(_checkpoint_config(run_dir), _full_config(overrides))
        if changed:  # resuming would continue a different recipe: start afresh, keep the old run
            progress(f"{tag}: checkpoint from another recipe ({', '.join(changed)}) moved to {_set_aside(run_dir)}")
        todo.append((i, run, overrides, run_dir))
    return results, todo


def _train_in_parallel(todo: list, trainer: Trainer, jobs: int, finish, queued) -> None:
    """Train ``todo`` in ``jobs`` worker processes, calling ``finish(i, run, overrides, result, wall)`` as each
    run ends; on any failure the pending runs are cancelled (finished ones are saved; the rest resume later)."""
    _prepare_data({json.dumps(_data_fields(o), sort_keys=True): o for _, _, o, _ in todo}.values())
    # Longest runs first (more pixels, more epochs), so that the last ones to start are short.
    todo = sorted(todo, key=lambda t: -_cost(t[2]))
    # On CPU, no loader process: with one run per core a loader would share the cores with the trainers
    # (2 epochs of two runs side by side: 36 s with workers=0 vs 39 s with workers=1).
    per_run = {} if torch.cuda.is_available() else {"workers": 0}
    # spawn, not fork: a forked child would inherit the parent's torch thread pools and locks
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"),
                                initializer=_exit_with_parent, initargs=(os.getpid(),)) as pool:
        started = {}
        for i, run, overrides, run_dir in todo:
            queued(i, run.key)
            started[pool.submit(_timed, trainer, run, dict(overrides, **per_run), run_dir)] = (i, run, overrides)
        try:
            for fut in cf.as_completed(started):
                i, run, overrides = started[fut]
                result, wall = fut.result()
                finish(i, run, overrides, result, wall)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _selected_runs(grid: Grid, keys: tuple[str, ...]) -> list[Run]:
    """The grid's runs with these keys, in the order given; an unknown key is a ValueError listing them."""
    unknown = [k for k in keys if k not in grid.runs]
    if unknown:
        raise ValueError(f"unknown run(s) {unknown} in mode {grid.mode!r}; known: {sorted(grid.runs)}")
    return [grid.runs[k] for k in dict.fromkeys(keys)]


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: end this process when ``parent`` is gone (killed runners must not leave
    orphans training in the background; Ctrl-C reaches the workers anyway). Checkpoints make it safe."""
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
    return load_checkpoint(ckpt)["config"]


def _full_config(overrides: dict) -> dict:
    """Every TrainConfig field for ``overrides`` (defaults filled in), as stored in checkpoints."""
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
    """The real trainer: :func:`engine.train` (resuming from ``run_dir``), as the JSON of its RunResult.

    Returns ``{"metrics": {decoding: {AP, AP50, ..., pixel_error}}, "per_person": {decoding: lists of
    ann_id, err_sum, count, oks}, "oracle": {decoding: {AP, pixel_error}} (the codec alone on the same val
    people), "history", "train_images_per_s", "params_m", "gflops", "environment"}``. Every decoding comes
    from the last epoch's one validation pass of the one trained model.
    """
    # during training only the last epoch is evaluated (and the learning-curve epochs)
    cfg = config_from_preset(None, **dict(overrides, out_dir=str(run_dir), resume=True, eval_every=0))
    result = engine.train(cfg)
    return dict(result.to_dict(), environment=result.environment)


# ---------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------


def default_jobs() -> int:
    """Runs at once: 1 on a GPU (one run fills it), else one per CPU core up to 4 (each run then uses one
    thread and loads its own data)."""
    if torch.cuda.is_available():
        return 1
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def _cli_reproduce(args) -> int:
    try:
        seeds = tuple(int(s) for s in args.seeds.split(",")) if args.seeds else None
    except ValueError:
        raise ValueError(f"--seeds must be comma-separated integers (e.g. 0,1,2), got {args.seeds!r}") from None
    if seeds is not None and any(s < 0 for s in seeds):
        raise ValueError(f"--seeds must be integers >= 0, got {args.seeds!r}")
    if args.out is None:
        args.out = "reports" if args.mode == "quick" else f"reports/{args.mode}"
    grid = build_grid(args.mode, seeds)
    if args.rerun and (args.only or args.report_only):
        raise ValueError("--run trains the named runs only: it cannot be combined with --only or --report-only")
    command = "simcc-lab " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["reproduce"] \
        else f"simcc-lab reproduce --mode {args.mode}"
    t0 = time.perf_counter()
    trained = False
    if args.report_only:
        keys = {r.key for r in grid.runs.values()}
        results = {k: v for k, v in load_results(args.out).items() if k in keys}
        print(f"{len(results)} of {len(keys)} runs have results in {args.out}/results")
    else:
        before = load_results(args.out)
        results = run_grid(grid, args.out, only=tuple(args.only), jobs=args.jobs or default_jobs(),
                           work_dir=args.work_dir or f"runs/reproduce-{args.mode}", rerun=tuple(args.rerun),
                           command=command)
        trained = any(before.get(k) != v for k, v in results.items())
        if args.rerun:  # the report covers the whole grid: the other runs' results as they are on disk
            keys = {r.key for r in grid.runs.values()}
            results = dict({k: v for k, v in load_results(args.out).items() if k in keys}, **results)
    # RUN.json records a whole-grid invocation; one of some experiments or runs gets a file of its own, so that
    # a mode trained over several invocations keeps each one's command and time
    name = (f"RUN-run-{'-'.join(args.rerun)}" if args.rerun else f"RUN-{'-'.join(args.only)}" if args.only
            else "RUN")
    run_file, recorded = Path(args.out) / f"{name}.json", []
    if not trained:  # nothing trained now: keep the records of the invocations that did (command, wall time)
        wall = None
        # RUN.json is the latest; RUN-<what>.json are earlier invocations kept beside it (e.g. --only k, then
        # --only upsampling into the same folder): their commands and wall times, not ours
        for path in sorted(Path(args.out).glob("RUN-*.json")) + ([run_file] if run_file.is_file() else []):
            with path.open() as f:
                recorded.append(json.load(f))
    else:
        wall = time.perf_counter() - t0
        files.write_json(run_file, dict(command=command, wall_s=round(wall, 1), runs=len(results),
                                     jobs=args.jobs or default_jobs(), only=list(args.only)))
    path = report.write_report(grid, results, args.out, command, wall, only=tuple(args.only), recorded=recorded)
    print(f"report: {path}")
    return 0
