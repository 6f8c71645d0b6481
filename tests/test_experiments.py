"""The experiment grid, the runner's caching/resume, and the report, with a stand-in trainer (fast)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from simcc_lab.reproduce import report, runner
from simcc_lab.reproduce.grid import build_grid


def fake_trainer(calls, people: int = 0):
    """A deterministic stand-in: AP grows with k and input size; heatmap refinements ordered. With
    ``people`` > 0 it adds per-person data whose OKS follows the AP (plus a fixed per-person pattern)."""
    def train(run, overrides, run_dir):
        calls.append(run.key)
        base = 0.3 + 0.001 * overrides["input_size"][0] + 0.01 * overrides.get("k", 0)
        if overrides.get("codec") == "heatmap":
            metrics = {"none": {"AP": base - 0.1}, "quarter": {"AP": base - 0.05}, "dark": {"AP": base - 0.04}}
        else:
            metrics = {"default": {"AP": base}}
        out = {"metrics": metrics, "params_m": 1.0, "gflops": 0.1, "train_images_per_s": 100.0}
        if people:
            wobble = [0.02 * ((i * 7) % 5 - 2) for i in range(people)]
            out["per_person"] = {v: {"ann_id": list(range(people)), "oks": [m["AP"] + w for w in wobble],
                                     "err_sum": [17 * (1 - m["AP"])] * people, "count": [17] * people}
                                 for v, m in metrics.items()}
        return out
    return train


def test_grid_covers_every_experiment_and_shares_runs():
    assert set(build_grid("quick").experiments) == {"resolution", "curves"}
    g = build_grid("standard")
    assert set(g.experiments) == {"resolution", "curves", "k", "smoothing", "upsampling", "crowded", "backbone",
                                  "transformer"}
    for exp in g.experiments.values():
        assert any(r.group == "64x64" for r in exp.rows), exp.name
        for r in exp.rows:
            assert any(run.name == r.run for run in g.runs.values()), r.run
    # runs are shared: the k=2 Gaussian 64x64 SimCC model (no deconv) by k, smoothing, upsampling and backbone;
    # the one with the heatmap head's deconvolution (equal compute) by resolution, curves and upsampling
    assert sum(run.name == "simcc-k2-gauss-64x64" for run in g.runs.values()) == 3
    uses = {n: {e.name for e in g.experiments.values() for r in e.rows if r.run == n}
            for n in ("simcc-k2-gauss-64x64", "simcc-k2-gauss-deconv1-64x64")}
    assert uses == {"simcc-k2-gauss-64x64": {"k", "smoothing", "upsampling", "backbone"},
                    "simcc-k2-gauss-deconv1-64x64": {"resolution", "curves", "upsampling"}}
    assert dict(next(r for r in g.runs.values() if r.name == "simcc-k2-gauss-deconv1-128x128").overrides)["deconvs"] == 1
    # standard mode trains the trend's 128x128 runs with every seed; quick mode (30 minutes) with one
    assert sorted(r.seed for r in g.runs.values() if r.name == "heatmap-128x128") == [0, 1, 2]
    assert sorted(r.seed for r in build_grid("quick").runs.values() if r.name == "heatmap-128x128") == [0]
    # ... for the 64x64 runs' samples in standard mode, for about one 64x64 run's compute in quick mode
    epochs = {m: {r.name: dict(build_grid(m).base, **r.config_overrides())["epochs"]
                  for r in build_grid(m).runs.values() if r.name.startswith("heatmap-")}
              for m in ("quick", "standard")}
    assert epochs["standard"]["heatmap-128x128"] == epochs["standard"]["heatmap-64x64"] == 32
    assert epochs["quick"]["heatmap-128x128"] == 8
    assert sorted(r.seed for r in g.runs.values() if r.name == "heatmap-64x64") == [0, 1, 2]


def test_unknown_mode_and_experiment_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        build_grid("medium")
    with pytest.raises(ValueError, match="unknown experiment"):
        runner.run_grid(build_grid("tiny"), tmp_path, trainer=fake_trainer([]), only=("nope",))


def test_rerun_skips_finished_runs_and_resumes_after_interruption(tmp_path):
    g = build_grid("tiny")
    calls = []
    train = fake_trainer(calls)

    def interrupted(run, overrides, run_dir):
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during the third run
        return train(run, overrides, run_dir)

    with pytest.raises(KeyboardInterrupt):
        runner.run_grid(g, tmp_path, trainer=interrupted, progress=lambda s: None)
    done = sorted(p.stem for p in (tmp_path / "results").glob("*.json"))
    assert len(done) == 2 and not list((tmp_path / "results").glob("*.tmp")), "finished runs are saved whole"
    calls.clear()
    results = runner.run_grid(g, tmp_path, trainer=train, progress=lambda s: None)
    assert not set(calls) & set(done), "finished runs must not be trained again"
    assert len(results) == len(g.runs)


def test_a_changed_recipe_retrains_and_keeps_the_old_result(tmp_path):
    g = build_grid("tiny")
    calls = []
    runner.run_grid(g, tmp_path, trainer=fake_trainer(calls), only=("resolution",), progress=lambda s: None)
    first = list(calls)
    calls.clear()
    g.base["threads"] = 1  # where it runs, not what it trains: still done
    runner.run_grid(g, tmp_path, trainer=fake_trainer(calls), only=("resolution",), progress=lambda s: None)
    assert calls == []
    g.base["epochs"] += 1  # another recipe: trained again, the old result set aside
    messages = []
    runner.run_grid(g, tmp_path, trainer=fake_trainer(calls), only=("resolution",), progress=messages.append)
    assert calls == first and any("recipe changed (epochs)" in m for m in messages)
    assert len(list((tmp_path / "results").glob("*.json.stale"))) == len(first)


def test_report_has_tables_verdicts_and_figures(tmp_path):
    g = build_grid("quick")
    results = runner.run_grid(g, tmp_path, trainer=fake_trainer([], people=40), progress=lambda s: None)
    path = report.write_report(g, results, tmp_path, command="simcc-lab reproduce --mode quick", wall_s=1.0)
    text = path.read_text()
    assert "simcc-lab reproduce --mode quick" in text
    for name in g.experiments:
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
    # fake numbers: SimCC (base) beats heatmap none by 0.1 AP-fraction = 10 points -> reproduces
    res = dict((p, v) for p, v, _ in report.verdicts(g.experiments["resolution"], results))
    assert res["SimCC beats heatmap without post-processing at 64x64"] == "reproduces"
    assert res["heatmaps need post-processing at 64x64 (quarter offset beats none)"] == "reproduces"
    # quick mode trains one seed at 128x128: nothing there (nor a trend) can be decided
    assert res["SimCC beats heatmap without post-processing at 128x128"] == "inconclusive"
    assert res["heatmaps lose most without post-processing at the lowest resolution"] == "inconclusive"
    assert "Not in quick mode: k, smoothing" in text
    # the full grid has three sizes; the fake runs have no learning curves, so no trend is claimed
    full = build_grid("full")
    full_results = runner.run_grid(full, tmp_path / "full", trainer=fake_trainer([], people=40),
                                   only=("resolution",), progress=lambda s: None)
    res = {p: (v, ev) for p, v, ev in report.verdicts(full.experiments["resolution"], full_results)}
    verdict, evidence = res["the gap to the heatmap without post-processing shrinks as resolution grows"]
    assert verdict == "inconclusive" and "no learning-curve points" in evidence
    # the paper column shows the unrounded mean over the paper's four backbones: (40.8+62.8+56.4+59.7)/4 = 54.925
    assert "| 64x64 | SimCC (Gaussian, k=2, 1 deconv) | 54.92 | " in text
    assert json.loads((tmp_path / "results" / "simcc-k2-gauss-deconv1-64x64-s0.json").read_text())["metrics"]


def test_cell_aggregates_over_seeds():
    results = {f"r-s{s}": {"run": "r", "metrics": {"default": {"AP": ap}}} for s, ap in enumerate((0.5, 0.6, 0.7))}
    c = report.cell(results, "r", "default")
    assert c.n == 3 and c.mean == pytest.approx(60.0) and c.std == pytest.approx(10.0)
    assert str(c) == "60.0 +- 10.0"


@pytest.mark.slow
def test_tiny_grid_end_to_end_with_the_real_engine(tmp_path, monkeypatch):
    """Real training (seconds): runs, result files, resume after an interruption, the report."""
    monkeypatch.setenv("SIMCC_LAB_CACHE", str(tmp_path / "cache"))
    g = build_grid("tiny")
    seen = []

    def interrupt_second(run, overrides, run_dir):
        if seen:
            raise KeyboardInterrupt
        seen.append(run.key)
        return runner.train_and_evaluate(run, overrides, run_dir)

    with pytest.raises(KeyboardInterrupt):
        runner.run_grid(g, tmp_path, trainer=interrupt_second, only=("resolution",), progress=lambda s: None)
    assert [p.stem for p in (tmp_path / "results").glob("*.json")] == seen
    results = runner.run_grid(g, tmp_path, only=("resolution",), progress=lambda s: None)
    assert len(results) == 4  # SimCC and heatmap at 64x64 and 128x128
    for r in results.values():
        assert r["metrics"] and all(0 <= m["AP"] <= 1 for m in r["metrics"].values())
        assert (tmp_path / "runs" / r["key"] / "last.pt").exists()
        for v, pp in r["per_person"].items():  # per val person, for the paired intervals
            assert len(pp["oks"]) == len(pp["err_sum"]) == len(pp["ann_id"]) > 0
            assert 0 < r["oracle"][v]["AP"] <= 1  # the codec's own ceiling on the same people
    hm = results["heatmap-64x64-s0"]
    assert set(hm["metrics"]) == {"none", "quarter", "dark"}
    # learning-curve points: every decoding after epochs 1 and 2, with the samples seen
    assert [(h["samples_seen"], "AP_dark" in h, "pixel_error_quarter" in h) for h in hm["history"]] == \
        [(8, True, True), (16, True, True)]
    # the headline models are kept beside the report, small, and evaluate like any checkpoint
    model = tmp_path / "models" / "heatmap-64x64-s0.pt"
    assert model.stat().st_size < 5e6 < (tmp_path / "runs" / "heatmap-64x64-s0" / "last.pt").stat().st_size
    from simcc_lab.training import engine
    again = engine.evaluate(model, refinement="dark", progress=False)
    assert again["AP"] == pytest.approx(hm["metrics"]["dark"]["AP"], abs=0.02)
    net, cfg, codec = engine.load_model(model)
    import torch
    (maps,) = net(torch.zeros(1, 3, 64, 64))
    assert cfg.codec == "heatmap" and maps.dtype == torch.float32 and maps.shape == (1, 17, 16, 16)
    text = report.write_report(g, results, tmp_path, "simcc-lab reproduce --mode tiny --only resolution", 1.0,
                               only=("resolution",)).read_text()
    assert "Heatmap vs SimCC across input sizes" in text and (tmp_path / "resolution.png").exists()


@pytest.mark.slow
def test_full_mode_recipe_trains_on_cpu_at_toy_scale(tmp_path, monkeypatch):
    """GPU full mode's own settings (batch-served crop cache, loader workers, amp "auto", 3 sizes up to 256x192),
    shrunk to seconds and run on the CPU: every path of a GPU run except CUDA itself."""
    monkeypatch.setenv("SIMCC_LAB_CACHE", str(tmp_path / "cache"))
    g = build_grid("full", seeds=(0,))
    assert g.base["amp"] == "auto" and g.base["workers"] > 0 and g.base["crop_cache"]
    g.base.update(synth_train_images=6, synth_val_images=3, epochs=2, batch_size=4, max_steps_per_epoch=2,
                  warmup_steps=1, eval_epochs=(2,), workers=1, device="cpu", flip_test=True)
    results = runner.run_grid(g, tmp_path, only=("resolution",), progress=lambda s: None)
    sizes = {tuple(r["overrides"]["input_size"]) for r in results.values()}
    assert sizes == {(64, 64), (128, 128), (192, 256)} and len(results) == 6
    for r in results.values():
        assert all(0 <= m["AP"] <= 1 for m in r["metrics"].values())
        assert r["history"][-1]["samples_seen"] == 8  # 2 epochs x 2 steps x batch 4, served by the workers


def stand_in_trainer(run, overrides, run_dir):
    """Module-level (picklable) stand-in for the parallel runner."""
    return fake_trainer([])(run, overrides, run_dir)


def test_parallel_jobs_give_the_same_results_as_one_job(tmp_path):
    g = build_grid("tiny")
    one = runner.run_grid(g, tmp_path / "a", trainer=stand_in_trainer, progress=lambda s: None)
    two = runner.run_grid(g, tmp_path / "b", trainer=stand_in_trainer, progress=lambda s: None, jobs=2)
    strip = lambda rs: {k: {f: v for f, v in r.items() if f not in ("wall_s", "provenance")} for k, r in rs.items()}  # noqa: E731
    assert strip(one) == strip(two) and len(two) == len(g.runs)
    assert sorted(p.name for p in (tmp_path / "b" / "results").iterdir()) == sorted(f"{k}.json" for k in two)
    with pytest.raises(ValueError, match="jobs"):
        runner.run_grid(g, tmp_path / "c", trainer=stand_in_trainer, jobs=0)


def test_report_only_shows_the_training_invocation(tmp_path, monkeypatch, capsys):
    """--report-only keeps the command and wall time of the run that trained (RUN.json), not its own."""
    from simcc_lab.cli import main

    monkeypatch.setattr(runner, "train_and_evaluate", stand_in_trainer)
    out = tmp_path / "rep"
    assert main(["reproduce", "--mode", "tiny", "--out", str(out), "--work-dir", str(tmp_path / "w"),
                 "--jobs", "1"]) == 0
    run = json.loads((out / "RUN.json").read_text())
    assert run["runs"] == len(build_grid("tiny").runs) and run["wall_s"] >= 0
    assert main(["reproduce", "--mode", "tiny", "--out", str(out), "--report-only"]) == 0
    text = (out / "REPORT.md").read_text()
    assert f"Results trained by `{run['command']}` in {run['wall_s'] / 60:.1f} min" in text
    # an earlier invocation kept beside it (RUN-<what>.json) is named too, before the latest
    (out / "RUN-first.json").write_text(json.dumps(dict(run, command="simcc-lab reproduce --only k", wall_s=600.0)))
    assert main(["reproduce", "--mode", "tiny", "--out", str(out), "--report-only"]) == 0
    text = (out / "REPORT.md").read_text()
    assert (f"Results trained by `simcc-lab reproduce --only k` in 10.0 min wall time (1 runs at once); "
            f"`{run['command']}` in {run['wall_s'] / 60:.1f} min") in text


def test_a_rerun_that_trains_nothing_keeps_the_training_record(tmp_path, monkeypatch):
    """`make reproduce` over committed results skips every run: RUN.json must still name the run that trained."""
    from simcc_lab.cli import main

    monkeypatch.setattr(runner, "train_and_evaluate", stand_in_trainer)
    out, args = tmp_path / "rep", ["--work-dir", str(tmp_path / "w"), "--jobs", "1"]
    assert main(["reproduce", "--mode", "tiny", "--out", str(out), *args]) == 0
    first = (out / "RUN.json").read_text()
    assert main(["reproduce", "--mode", "tiny", "--out", str(out), *args]) == 0
    assert (out / "RUN.json").read_text() == first
    assert "Results trained by `" in (out / "REPORT.md").read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process table from /proc (Linux)")
def test_parallel_workers_end_when_the_runner_is_killed(tmp_path):
    """A runner killed with SIGKILL must not leave its worker processes training on."""
    import os
    import signal
    import subprocess
    import time

    script = f"""
from simcc_lab.reproduce import runner
from simcc_lab.reproduce.grid import build_grid
if __name__ == "__main__":
    import test_experiments
    runner.run_grid(build_grid("tiny"), {str(tmp_path)!r}, trainer=test_experiments.sleeper, jobs=2,
                    progress=print)
"""
    (tmp_path / "runner.py").write_text(script)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, str(tmp_path / "runner.py")], env=env, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:  # wait until the runs are handed out
        if "queued" in line:
            break
    time.sleep(3.0)
    children = _children(proc.pid)
    assert children, "the runner started no worker processes"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 15
    while time.time() < deadline and any(_alive(p) for p in children):
        time.sleep(0.5)
    assert not any(_alive(p) for p in children), "orphaned workers still running"


def sleeper(run, overrides, run_dir):
    """A run that never finishes in the test's time (module-level: the worker imports it)."""
    import time
    time.sleep(120)


def _children(pid):
    """Process ids whose parent is ``pid``."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_complete_results_picks_the_first_folder_that_covers_an_experiment(tmp_path):
    """Lessons read the 3-seed ablations when all their runs are there, else an older run."""
    g = build_grid("standard")
    runner.run_grid(g, tmp_path / "old", trainer=fake_trainer([]), only=("smoothing",), progress=lambda s: None)
    runner.run_grid(g, tmp_path / "new", trainer=fake_trainer([]), only=("k",), progress=lambda s: None)
    folders = (tmp_path / "new", tmp_path / "old")
    assert report.complete_results(g.experiments["k"], folders)[0] == str(tmp_path / "new")
    folder, results = report.complete_results(g.experiments["smoothing"], folders)
    assert folder == str(tmp_path / "old") and results
    assert report.complete_results(g.experiments["crowded"], folders) == (None, {})


def test_a_throwaway_experiment_is_one_declaration_and_its_rule(tmp_path):
    """docs/architecture.md's worked example: a new experiment is its rows (runs registered on the grid) plus a
    rule; the runner trains its runs and the report judges it, with no other file touched."""
    from simcc_lab.reproduce import verdicts as V
    from simcc_lab.reproduce.grid import Experiment, Row

    g = build_grid("tiny")
    wide = g.add_run("simcc-k2-gauss-sigma4-64x64", codec="simcc", k=2.0, smoothing="gaussian", sigma=4.0,
                     input_size=(64, 64))
    base = next(r.run for r in g.experiments["k"].rows if r.id == "k=2")

    def rule(j):
        return [j.compare("sigma 4 beats sigma 3", [j.row("wide", "64x64")], [j.row("base", "64x64")],
                          "sigma 4", "sigma 3")]

    g.experiments["sigma"] = Experiment("sigma", "Label width", "Does a wider label train better?", "(none)",
                                        (Row("sigma 4", "64x64", wide, id="wide"), Row("sigma 3", "64x64", base, id="base")),
                                        rule)
    results = runner.run_grid(g, tmp_path, trainer=fake_trainer([], people=20), only=("sigma",), progress=lambda s: None)
    assert set(results) == {"simcc-k2-gauss-sigma4-64x64-s0", f"{base}-s0"}
    text = report.write_report(g, results, tmp_path, "test", 1.0, only=("sigma",)).read_text()
    # one seed (tiny mode): the rule family answers inconclusive, and says why
    assert "| Label width | sigma 4 beats sigma 3 | **inconclusive** |" in text and "a comparison needs 3" in text
    assert (tmp_path / "sigma.png").is_file() and V.MIN_SEEDS == 3


def test_every_row_names_a_decoding_its_run_offers():
    """A row's variant must be one of its run's decodings (a number passed there by position is caught)."""
    for mode in ("tiny", "quick", "standard", "full"):
        g = build_grid(mode)
        variants = {r.name: r.variants for r in g.runs.values()}
        for exp in g.experiments.values():
            for row in exp.rows:
                assert row.variant in variants[row.run], (mode, exp.name, row.label, row.variant)
