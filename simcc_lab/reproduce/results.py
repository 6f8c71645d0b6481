"""The results of a grid's runs: where each result file lives, and one index that answers "the results of run X".

A result file (``out_dir/results/<run>-s<seed>.json``) is written whole by the runner from the run's
:class:`~simcc_lab.training.run_result.RunResult` plus its identity (``run``, ``key``, ``seed``, ``overrides``),
``wall_s`` and ``provenance``. Everything that reads results (verdicts, tables, figures, lessons) goes through
:class:`Results`.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

__all__ = ["Results", "index", "load_results", "result_path", "model_path", "complete_results"]


def result_path(out_dir: str | Path, run) -> Path:
    """Where a finished run's result JSON lives (``run``: a grid Run, with ``key``)."""
    return Path(out_dir) / "results" / f"{run.key}.json"


def model_path(out_dir: str | Path, run) -> Path:
    """Where an exported model of ``run`` lives (``out_dir/models/<run>-s<seed>.pt``)."""
    return Path(out_dir) / "models" / f"{run.key}.pt"


class Results(dict):
    """Result dicts by run key (``name-s<seed>``), with lookups by run name. A plain dict underneath, so that
    code written for ``{key: result}`` keeps working."""

    def of(self, run: str) -> dict[int, dict]:
        """``{seed: result}`` of the run named ``run`` (every seed found). A result without a ``seed`` field
        (hand-made ones) takes the seed of its key's ``-s<seed>`` suffix, else its position."""
        out = {}
        for i, (key, r) in enumerate(self.items()):
            if r.get("run") != run:
                continue
            m = re.search(r"-s(\d+)$", key)
            out[int(r["seed"]) if "seed" in r else int(m.group(1)) if m else i] = r
        return out

    def values_of(self, run: str, decoding: str, metric: str = "AP") -> list[float]:
        """``metric`` of ``run`` decoded by ``decoding``, one value per seed (seed order); missing ones left out."""
        out = []
        for _, r in sorted(self.of(run).items()):
            v = r.get("metrics", {}).get(decoding, {}).get(metric)
            if v is not None:
                out.append(float(v))
        return out

    def histories(self, run: str) -> Iterator[list[dict]]:
        """Each seed's training history of ``run``."""
        for _, r in sorted(self.of(run).items()):
            yield r.get("history", [])

    def oracle(self, run: str, decoding: str, metric: str = "pixel_error") -> float | None:
        """The codec's own floor (``AP`` or ``pixel_error``) of ``run`` decoded by ``decoding``, None if absent."""
        for r in self.of(run).values():
            v = r.get("oracle", {}).get(decoding, {}).get(metric)
            if v is not None:
                return float(v)
        return None


def index(results: dict[str, dict]) -> Results:
    """``results`` as a :class:`Results` (no copy when it is one already)."""
    return results if isinstance(results, Results) else Results(results)


def load_results(out_dir: str | Path) -> Results:
    """Every finished result file under ``out_dir/results``, by run key. A file that is not valid JSON is a
    ValueError naming it (results are written whole, so one means a copy went wrong)."""
    out = Results()
    for p in sorted((Path(out_dir) / "results").glob("*.json")):
        try:
            with p.open() as f:
                out[p.stem] = json.load(f)
        except ValueError as err:
            raise ValueError(f"{p}: not a valid result file ({err}); delete it to retrain that run") from None
    return out


def complete_results(exp, folders) -> tuple[str | None, Results]:
    """The first of ``folders`` (result folders, e.g. ``reports/standard`` then ``reports``) whose results cover
    every row of the experiment ``exp``: ``(folder, results)``, or ``(None, Results())`` when none does."""
    for folder in folders:
        results = load_results(Path(folder))
        if all(results.values_of(r.run, r.variant, exp.metric) for r in exp.rows):
            return str(folder), results
    return None, Results()
