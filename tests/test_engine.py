"""The training engine and its config: reproducibility, exact resume, safe checkpoints, schedule, CLI.

Most tests use tiny stand-ins (a data set of seeded random tensors, a small conv net, an MSE loss), so
they check the engine alone in a second or two; the end-to-end tests at the bottom use the real data,
codecs and models.
"""
from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import pytest
import torch
from torch import nn

from simcc_lab.training import config as C
from simcc_lab.training import engine
from simcc_lab.training.checkpoint import load_checkpoint, save_checkpoint
from simcc_lab.training.inference import compute_metrics


# ---------------------------------------------------------------------------------------------------
# Stand-ins
# ---------------------------------------------------------------------------------------------------
class FakePoseData(torch.utils.data.Dataset):
    """``n`` samples of seeded noise; the target is a fixed function of the image. ``set_epoch`` changes
    a per-sample "augmentation" (a brightness shift), like TopDownDataset's random crops."""

    def __init__(self, n: int = 24, size: int = 8, seed: int = 0, global_rng: bool = False):
        self.n, self.size, self.seed, self.epoch, self.global_rng = n, size, seed, 0, global_rng

    def __len__(self) -> int:
        return self.n

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(self.seed * 100_000 + i)
        image = torch.randn(3, self.size, self.size, generator=g)
        if self.global_rng:  # like torchvision's random transforms: the (worker's) global torch RNG
            shift = float(torch.randn(()) * 0.1)
        else:
            shift = float(np.random.default_rng([self.seed, self.epoch, i]).normal(0, 0.1))
        image = image + shift
        target = torch.stack([image[0].mean(), image[1].std()]).repeat(2)  # (4,)
        return dict(image=image, targets=(target,), weights=torch.ones(2), meta=dict(index=i))


class TinyNet(nn.Module):
    """Conv -> ReLU -> pool -> dropout -> linear; returns a 1-tuple like PoseModel. No BatchNorm."""

    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        h = torch.relu(self.conv(x)).mean(dim=(2, 3))
        return (self.fc(self.drop(h)),)


def mse_loss(outputs, targets, weights):
    return ((outputs[0] - targets[0]) ** 2).mean()


class FakeCodec:
    """Only what validation needs: decode outputs to (keypoints, scores)."""

    def decode(self, out):
        k = out.reshape(out.shape[0], 2, 2)
        return k, torch.ones(k.shape[:2])


def tiny_cfg(tmp_path, **kw) -> C.TrainConfig:
    base = dict(epochs=3, batch_size=4, lr=1e-2, workers=0, progress=False, flip_test=False,
                out_dir=str(tmp_path / "run"), milestones=(0.5,), warmup_steps=2, device="cpu")
    return C.TrainConfig(**dict(base, **kw))


def run(cfg, dropout=0.0, global_rng=False, **kw):
    torch.manual_seed(cfg.seed)  # the model's initial weights, as build_model would make them after seeding
    model = TinyNet(dropout)
    history = engine.fit(cfg, model=model, train_set=FakePoseData(global_rng=global_rng),
                         val_set=FakePoseData(8, seed=1), loss=mse_loss, codec=FakeCodec(), **kw)
    return model, history


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ---------------------------------------------------------------------------------------------------
# Reproducibility and resume
# ---------------------------------------------------------------------------------------------------
def test_same_seed_gives_identical_weights_and_another_seed_does_not(tmp_path):
    a, ha = run(tiny_cfg(tmp_path / "a", seed=3), dropout=0.2)
    b, hb = run(tiny_cfg(tmp_path / "b", seed=3), dropout=0.2)
    c, _ = run(tiny_cfg(tmp_path / "c", seed=4), dropout=0.2)
    assert same_weights(a, b)
    assert [h["train_loss"] for h in ha] == [h["train_loss"] for h in hb]
    assert not same_weights(a, c)


class Killed(Exception):
    pass


def test_kill_and_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    # Dropout and per-epoch augmentation make the result depend on every RNG the checkpoint must restore.
    full, full_hist = run(tiny_cfg(tmp_path / "full", workers=0), dropout=0.3)

    def kill_after_first(epoch, record):
        if epoch == 1:
            raise Killed

    cfg = tiny_cfg(tmp_path / "killed")
    with pytest.raises(Killed):
        run(cfg, dropout=0.3, on_epoch_end=kill_after_first)
    assert load_checkpoint(tmp_path / "killed" / "run" / "last.pt")["epoch"] == 1
    # Fresh process state: draw from every generator so only the checkpoint's states can make it match.
    torch.manual_seed(1234), np.random.seed(1234)
    resumed, hist = run(cfg.replace(resume=True), dropout=0.3)
    assert same_weights(full, resumed)
    assert [h["epoch"] for h in hist] == [1, 2, 3]
    assert [h["train_loss"] for h in hist] == [h["train_loss"] for h in full_hist]
    # A finished run resumed again trains nothing and changes nothing.
    again, hist2 = run(cfg.replace(resume=True), dropout=0.3)
    assert same_weights(full, again) and len(hist2) == 3


def test_resume_is_exact_with_worker_processes_drawing_from_their_own_rng(tmp_path):
    # Worker seeds come from a generator seeded by (seed, epoch), not from the main process's RNG.
    full, _ = run(tiny_cfg(tmp_path / "full", epochs=2, workers=2), global_rng=True)
    cfg = tiny_cfg(tmp_path / "killed", epochs=2, workers=2)

    def kill(epoch, record):
        raise Killed

    with pytest.raises(Killed):
        run(cfg, global_rng=True, on_epoch_end=kill)
    resumed, _ = run(cfg.replace(resume=True), global_rng=True)
    assert same_weights(full, resumed)


def test_data_order_and_worker_augmentation_do_not_depend_on_the_model(tmp_path):
    # Dropout draws from the global RNG in the main process; the batches (order and the workers' random
    # augmentation) must not change with it: they depend on (seed, epoch) alone.
    seen = {}

    def recording_loss(tag):
        def loss(outputs, targets, weights):
            seen.setdefault(tag, []).append(targets[0].sum().item())
            return mse_loss(outputs, targets, weights)
        return loss

    for tag, p in (("plain", 0.0), ("dropout", 0.5)):
        cfg = tiny_cfg(tmp_path / tag, epochs=2, workers=2)
        torch.manual_seed(0)
        engine.fit(cfg, model=TinyNet(p), train_set=FakePoseData(global_rng=True), loss=recording_loss(tag))
    assert seen["plain"] == seen["dropout"]
    assert seen["plain"][:6] != seen["plain"][6:]  # but the order changes from epoch to epoch


def test_resume_from_an_explicit_path_and_missing_path(tmp_path):
    cfg = tiny_cfg(tmp_path, epochs=1)
    run(cfg)
    ckpt = tmp_path / "run" / "last.pt"
    other = cfg.replace(out_dir=str(tmp_path / "other"), epochs=2, resume=str(ckpt))
    _, hist = run(other)
    assert [h["epoch"] for h in hist] == [1, 2]
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        run(cfg.replace(resume=str(tmp_path / "nope.pt")))


def test_checkpoints_load_with_weights_only_and_reject_pickled_objects(tmp_path, monkeypatch):
    cfg = tiny_cfg(tmp_path, epochs=1)
    run(cfg)
    path = tmp_path / "run" / "last.pt"
    ckpt = torch.load(path, weights_only=True)  # plain types and tensors only
    assert C.config_from_dict(ckpt["config"]) == cfg
    assert set(ckpt) >= {"model", "optimizer", "scheduler", "scaler", "epoch", "global_step", "rng", "history"}
    seen = {}
    real_load = torch.load

    def spy(*a, **kw):
        seen.update(kw)
        return real_load(*a, **kw)

    monkeypatch.setattr(torch, "load", spy)
    load_checkpoint(path)
    assert seen.get("weights_only") is True
    monkeypatch.undo()
    save_checkpoint(tmp_path / "evil.pt", model={}, config=argparse.Namespace(x=1))  # a pickled class
    with pytest.raises(ValueError, match="evil.pt"):
        load_checkpoint(tmp_path / "evil.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_history_files_and_best_checkpoint(tmp_path):
    _, hist = run(tiny_cfg(tmp_path, eval_every=2))
    out = tmp_path / "run"
    assert json.loads((out / "history.json").read_text()) == hist
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert float(rows[0]["train_loss"]) == pytest.approx(hist[0]["train_loss"])
    # eval_every=2: validated at epoch 2 and at the last epoch only.
    assert ["val_loss" in h for h in hist] == [False, True, True]
    assert not (out / "best.pt").exists()  # no AP without an annotation file, so no "best"
    assert json.loads((out / "config.json").read_text())["epochs"] == 3


# ---------------------------------------------------------------------------------------------------
# Schedule, hardware choices
# ---------------------------------------------------------------------------------------------------
def test_lr_schedule_scales_the_paper_milestones_and_warms_up():
    cfg = C.TrainConfig(epochs=140, warmup_steps=10)
    assert cfg.milestone_epochs == (90, 120)
    spe = 5
    f = [engine.lr_factor(s, cfg, spe) for s in range(140 * spe)]
    assert f[0] == pytest.approx(engine.WARMUP_START)
    assert f[5] == pytest.approx(engine.WARMUP_START + (1 - engine.WARMUP_START) * 0.5)
    assert f[10] == 1.0 and f[90 * spe - 1] == 1.0
    assert f[90 * spe] == pytest.approx(0.1) and f[120 * spe] == pytest.approx(0.01)
    assert C.TrainConfig(epochs=14).milestone_epochs == (9, 12)


def test_scheduler_is_applied_per_step(tmp_path):
    cfg = tiny_cfg(tmp_path, epochs=2, warmup_steps=0, milestones=(0.5,), lr=0.01)
    _, hist = run(cfg)
    # 24 samples / batch 4 = 6 steps per epoch; after epoch 1 (step 6) the lr has dropped by 10x.
    assert [h["step"] for h in hist] == [6, 12]
    assert hist[0]["lr"] == pytest.approx(0.001) and hist[1]["lr"] == pytest.approx(0.001)


def test_max_steps_per_epoch_and_too_small_data(tmp_path):
    _, hist = run(tiny_cfg(tmp_path / "a", epochs=1, max_steps_per_epoch=2))
    assert hist[0]["step"] == 2
    with pytest.raises(ValueError, match="no full batch"):
        run(tiny_cfg(tmp_path / "b", batch_size=64))


def test_device_and_amp_choices():
    assert engine.select_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        assert engine.select_device("auto").type in ("cpu", "mps")
        with pytest.raises(ValueError, match="CUDA"):
            engine.select_device("cuda")
    cpu = torch.device("cpu")
    assert engine.resolve_amp("auto", cpu) is None and engine.resolve_amp("off", cpu) is None
    assert engine.resolve_amp("bf16", cpu) is torch.bfloat16  # CPU autocast (fast with avx512_bf16 / AMX)
    with pytest.raises(ValueError, match="CUDA"):
        engine.resolve_amp("fp16", cpu)


def test_cosine_schedule_and_adamw(tmp_path):
    """lr_factor: warm-up then half a cosine from 1 to 0 over the run; AdamW is selectable."""
    cfg = C.config_from_preset("synth-simcc-64-tiny", schedule="cosine", epochs=4, warmup_steps=2, optimizer="adamw")
    f = [engine.lr_factor(s, cfg, steps_per_epoch=10) for s in range(41)]
    assert f[0] == pytest.approx(1e-3) and f[1] < f[2]  # warm-up
    assert f[20] == pytest.approx(0.5) and f[40] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(f[2:], f[3:]))  # falls monotonically after the warm-up
    with pytest.raises(ValueError, match="schedule"):
        C.config_from_preset(None, schedule="linear")
    with pytest.raises(ValueError, match="optimizer"):
        C.config_from_preset(None, optimizer="sgd")


def test_tensorboard_missing_is_reported_not_fatal(tmp_path, capsys):
    try:
        import tensorboard  # noqa: F401
        pytest.skip("tensorboard is installed here")
    except ImportError:
        pass
    run(tiny_cfg(tmp_path, epochs=1, tensorboard=True))
    assert "tensorboard" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------
# Config and command line
# ---------------------------------------------------------------------------------------------------
def test_presets_build_and_bad_names_fail_clearly():
    for name in C.PRESETS:
        cfg = C.config_from_preset(name)
        assert cfg.out_dir == f"runs/{name}"
    coco = C.config_from_preset("coco-res50-simcc-256x192")
    assert (coco.input_size, coco.lr, coco.epochs, coco.batch_size) == ((192, 256), 1e-3, 140, 32)
    assert coco.milestone_epochs == (90, 120) and coco.rotation_factor == 45 and coco.scale_factor == 0.35
    assert coco.deconvs == 3 and coco.k == 2 and coco.flip_test  # SimBa-SimCC: deconvs kept, k=2
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        C.config_from_preset("nope")
    with pytest.raises(ValueError, match=r"unknown TrainConfig field\(s\) \['lr_rate'\]"):
        C.config_from_preset("synth-simcc-64", lr_rate=1.0)
    with pytest.raises(ValueError, match="TrainConfig.codec"):
        C.TrainConfig(codec="heatmaps")
    with pytest.raises(ValueError, match="TrainConfig.milestones"):
        C.TrainConfig(milestones=(90.0,))


def test_config_dict_round_trip_is_plain_json():
    cfg = C.config_from_preset("synth-heatmap-64", resume="x/last.pt", deconvs=2)
    d = C.config_to_dict(cfg)
    assert json.loads(json.dumps(d)) == d
    assert C.config_from_dict(json.loads(json.dumps(d))) == cfg


def test_every_field_is_a_typed_flag():
    p = argparse.ArgumentParser()
    C.add_config_arguments(p)
    args = p.parse_args(["--input-size", "48x32", "--lr", "3e-4", "--flip-test", "false", "--deconvs", "none",
                         "--milestones", "0.5,0.75", "--resume", "--crowded"])
    assert C.overrides_from_args(args) == dict(input_size=(48, 32), lr=3e-4, flip_test=False, deconvs=None,
                                               milestones=(0.5, 0.75), resume=True, crowded=True)
    assert C.overrides_from_args(p.parse_args([])) == {}  # nothing typed, nothing overridden
    flags = {a.dest for a in p._actions}
    assert {f.name for f in C.dataclasses.fields(C.TrainConfig)} <= flags


def test_cli_has_train_and_eval():
    from simcc_lab.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["train", "--preset", "synth-simcc-64", "--epochs", "3", "--resume"])
    from simcc_lab.commands import train as T

    assert args.func is T.run_train and args.epochs == 3 and args.resume is True
    args = parser.parse_args(["eval", "--checkpoint", "x.pt", "--flip-test", "--refinement", "dark"])
    assert args.func is T.run_eval and args.flip_test is True and args.refinement == "dark"
    with pytest.raises(SystemExit):
        parser.parse_args(["eval", "--checkpoint", "x.pt", "--epochs", "3"])  # not an evaluation setting


def test_evaluate_rejects_training_fields(tmp_path):
    with pytest.raises(ValueError, match="cannot change"):
        engine.evaluate(tiny_cfg(tmp_path), model=TinyNet(), lr=0.1)


# ---------------------------------------------------------------------------------------------------
# Mean-pose baseline
# ---------------------------------------------------------------------------------------------------
def _coco_file(path, people):
    """A COCO keypoint file with one image per person; ``people`` = list of ((17, 2) keypoints, box)."""
    from simcc_lab.keypoints import COCO17

    images, anns = [], []
    for i, (kpts, box) in enumerate(people, 1):
        images.append(dict(id=i, file_name=f"{i}.png", width=400, height=400))
        flat = np.concatenate([kpts, np.full((17, 1), 2.0)], axis=1).reshape(-1).tolist()
        anns.append(dict(id=i, image_id=i, category_id=1, keypoints=flat, num_keypoints=17, bbox=list(box),
                         area=float(box[2] * box[3]), iscrowd=0))
    cat = dict(id=1, name="person", keypoints=list(COCO17.keypoint_names), skeleton=[])
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=[cat])))
    return path


def test_mean_pose_baseline_is_exact_for_identical_poses_and_worse_otherwise(tmp_path):
    from simcc_lab.evaluation.baselines import mean_pose_baseline

    template = np.random.default_rng(0).uniform(0, 1, (17, 2))  # a pose inside the unit box
    people = [(template * s + (x, y), (x, y, s, s)) for s, x, y in ((100, 10, 20), (50, 200, 200), (80, 30, 250))]
    same = _coco_file(tmp_path / "same.json", people)
    m = mean_pose_baseline(same, same, (64, 64))
    assert m["AP"] == pytest.approx(1.0) and m["pixel_error_image"] == pytest.approx(0.0, abs=1e-9)
    moved = [(k + np.random.default_rng(1).normal(0, 8, k.shape), b) for k, b in people]
    m2 = mean_pose_baseline(same, _coco_file(tmp_path / "moved.json", moved), (64, 64))
    assert m2["AP"] < 0.9 and m2["pixel_error_image"] > 5


# ---------------------------------------------------------------------------------------------------
# End to end with the real data, codecs, models and losses (tiny presets)
# ---------------------------------------------------------------------------------------------------
REAL = ("simcc_lab.codecs", "simcc_lab.models", "simcc_lab.training.losses")


@pytest.fixture(scope="module")
def synth_cache(tmp_path_factory):
    for name in REAL:
        pytest.importorskip(name)
    return tmp_path_factory.mktemp("synth-cache")


@pytest.mark.parametrize("preset", ["synth-simcc-64-tiny", "synth-heatmap-64-tiny"])
def test_tiny_preset_trains_resumes_and_evaluates(preset, synth_cache, tmp_path):
    cfg = C.config_from_preset(preset, out_dir=str(tmp_path / "run"), cache_dir=str(synth_cache))
    history = engine.fit(cfg)
    assert [h["epoch"] for h in history] == [1, 2]
    assert {"AP", "pixel_error", "pixel_error_image", "val_loss"} <= set(history[-1])
    assert 0.0 <= history[-1]["AP"] <= 1.0 and history[-1]["pixel_error"] > 0
    ckpt = tmp_path / "run" / "last.pt"
    metrics = engine.evaluate(ckpt)
    assert metrics["AP"] == pytest.approx(history[-1]["AP"])  # the checkpoint holds the trained model
    variants = ("none", "quarter", "dark") if cfg.codec == "heatmap" else ("none",)
    for refinement in variants:
        m = engine.evaluate(ckpt, flip_test=True, refinement=refinement)
        assert np.isfinite(m["pixel_error"])


def test_cli_train_then_eval(synth_cache, tmp_path, capsys):
    from simcc_lab.cli import main

    out = tmp_path / "cli"
    assert main(["train", "--preset", "synth-simcc-64-tiny", "--out-dir", str(out), "--cache-dir",
                 str(synth_cache), "--epochs", "1"]) == 0
    assert "last.pt" in capsys.readouterr().out
    assert main(["eval", "--checkpoint", str(out / "last.pt"), "--out-json", str(tmp_path / "m.json")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((tmp_path / "m.json").read_text()) and "AP" in printed


@pytest.mark.slow
def test_metrics_of_exact_and_codec_decoded_keypoints(synth_cache):
    """The evaluation path (decode -> inverse affine -> COCOeval) scores the truth AP 1 and pixel error 0,
    and the SimCC codec's own round trip nearly so."""
    cfg = C.config_from_preset("synth-simcc-64-tiny", cache_dir=str(synth_cache))
    codec = C.codec_for(cfg)
    _, val = engine.build_datasets(cfg, codec)
    batches = list(torch.utils.data.DataLoader(val, batch_size=4))
    meta = {k: np.concatenate([np.asarray(b["meta"][k]) for b in batches]) for k in batches[0]["meta"]}
    exact = dict(kpts_input=meta["kpts_input"], scores=np.ones(meta["visible"].shape), meta=meta, loss=None)
    m = compute_metrics(exact, val, cfg.input_size)
    assert m["AP"] == pytest.approx(1.0) and m["pixel_error"] == 0 and m["pixel_error_image"] < 1e-9
    decoded = [codec.decode(*b["targets"], from_logits=False) for b in batches]
    rt = dict(exact, kpts_input=np.concatenate([np.asarray(k) for k, _ in decoded]))
    m = compute_metrics(rt, val, cfg.input_size)
    assert m["AP"] > 0.9 and 0 < m["pixel_error"] < 1.0 / cfg.k  # within a bin
    shifted = dict(exact, kpts_input=meta["kpts_input"] + 6.0)  # 6 input px off: OKS collapses
    assert compute_metrics(shifted, val, cfg.input_size)["AP"] < 0.5
