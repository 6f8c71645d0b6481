"""What one reproduction run builds and how long it spends outside its epoch loop.

Runs :func:`simcc_lab.reproduce.runner.train_and_evaluate` (the real trainer of ``simcc-lab reproduce``) on
quick mode's data (2,500 clean SynthPose images, 200 val) for one short epoch, in one process with one
thread, and counts the CropCaches, TopDownDatasets and models it builds and the validation passes it makes.
Time outside the epoch loop = wall time - the epochs' training time (``epoch_time_s``); it includes the
validation pass(es), shown apart as ``eval_time_s`` where the engine records it.

    python benchmarks/bench_run_overhead.py [--codec heatmap|simcc] [--steps 5]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch

from simcc_lab.data import crops, topdown
from simcc_lab.reproduce import runner
from simcc_lab.reproduce.grid import build_grid
from simcc_lab.training import engine
from simcc_lab.training.config import config_from_preset

try:  # modules of the layout after issue 18 (the benchmark also runs on the earlier one)
    from simcc_lab.training import parts, validation
except ImportError:
    parts = validation = None


def _count(counter: Counter, name: str, owner, attr: str):
    """Wrap ``owner.attr`` so that each call adds one to ``counter[name]``."""
    original = getattr(owner, attr)

    def wrapped(*args, **kwargs):
        counter[name] += 1
        return original(*args, **kwargs)

    setattr(owner, attr, wrapped)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--codec", choices=("heatmap", "simcc"), default="heatmap")
    p.add_argument("--steps", type=int, default=5, help="optimiser steps of the one epoch")
    args = p.parse_args()
    torch.set_num_threads(1)
    grid = build_grid("quick")
    name = "heatmap-64x64" if args.codec == "heatmap" else "simcc-k2-gauss-deconv1-64x64"
    run = next(r for r in grid.runs.values() if r.name == name)
    overrides = dict(grid.base, **run.config_overrides(), epochs=1, eval_epochs=(1,), max_steps_per_epoch=args.steps,
                     workers=0)
    engine.data_paths(config_from_preset(None, **overrides))  # generate the data first (not timed)
    counts: Counter = Counter()
    _count(counts, "CropCache", crops.CropCache, "__init__")
    _count(counts, "TopDownDataset", topdown.TopDownDataset, "__init__")
    # each module's own binding of the function (``from ... import``); the layout changed with issue 18
    for module in (engine, runner, parts, validation):
        if module is not None and hasattr(module, "build_model"):
            _count(counts, "model", module, "build_model")
        if module is not None and hasattr(module, "predict"):
            _count(counts, "validation pass", module, "predict")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = runner.train_and_evaluate(run, overrides, Path(tmp) / run.key)
        wall = time.perf_counter() - t0
    result = result if isinstance(result, dict) else result.to_dict()
    hist = result["history"]
    loop = sum(h["epoch_time_s"] for h in hist)
    evals = sum(h.get("eval_time_s", 0.0) for h in hist)
    print(f"run {run.key} ({args.codec}, {args.steps} steps, decodings {list(result['metrics'])})")
    print(f"  wall {wall:.1f} s, epoch loop {loop:.1f} s, outside it {wall - loop:.1f} s "
          f"(of which the engine's validation passes {evals:.1f} s)")
    print("  built: " + ", ".join(f"{k} x{counts[k]}" for k in ("CropCache", "TopDownDataset", "model",
                                                                 "validation pass")))


if __name__ == "__main__":
    main()
