"""A run folder holds one run: no fresh start over a finished run, no second writer, best.pt safe from kills,
no stale temporary files, and checkpoints that cannot be continued refused with the fix (issue 21)."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

from simcc_lab.cli import main
from simcc_lab.files import UserError
from simcc_lab.training import config as C
from simcc_lab.training import engine, run_folder
from simcc_lab.training.checkpoint import export_model, load_checkpoint


class Data(torch.utils.data.Dataset):
    """16 samples of seeded noise with a fixed target (a second of training at most)."""

    spec = None

    def __len__(self):
        return 16

    def __getitem__(self, i):
        x = torch.randn(3, 4, 4, generator=torch.Generator().manual_seed(i))
        return dict(image=x, targets=(x.mean().repeat(2),), weights=torch.ones(1), meta=dict(index=i))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return (self.fc(x.mean(dim=(2, 3))),)


def _loss(outputs, targets, weights):
    return ((outputs[0] - targets[0]) ** 2).mean()


def _cfg(tmp_path, **kw):
    return C.TrainConfig(**dict(dict(epochs=2, batch_size=8, workers=0, progress=False, flip_test=False,
                                     device="cpu", out_dir=str(tmp_path / "run")), **kw))


def _fit(cfg, **kw):
    torch.manual_seed(0)
    return engine.fit(cfg, model=Net(), train_set=Data(), loss=_loss, **kw)


def test_a_finished_run_is_not_replaced_without_resume_or_overwrite(tmp_path, capsys):
    cfg = _cfg(tmp_path)
    _fit(cfg)
    run = tmp_path / "run"
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and not p.name.startswith(".")}
    with pytest.raises(UserError, match=r"already holds a run \(epoch 2 of 2, finished\); pass --resume to "
                                        r"continue it, --overwrite to replace it"):
        _fit(cfg.replace(seed=1))
    assert {n: (run / n).read_bytes() for n in before} == before  # nothing touched
    # the command: one line, exit code 2, before any data is built
    capsys.readouterr()
    assert main(["train", "--out-dir", str(run), "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("simcc-lab train: error: ") and "--overwrite" in err[0]
    # resume: allowed (the finished run trains nothing); overwrite: the old run's files go first
    assert len(_fit(cfg.replace(resume=True))) == 2
    (run / "best.pt").write_bytes(b"an old run's best")
    history = _fit(cfg.replace(epochs=1, overwrite=True))
    assert len(history) == 1 and not (run / "best.pt").exists()
    assert load_checkpoint(run / "last.pt")["epoch"] == 1


def test_resume_from_elsewhere_into_a_held_folder_is_refused(tmp_path):
    _fit(_cfg(tmp_path / "a"))
    _fit(_cfg(tmp_path / "b"))
    with pytest.raises(UserError, match=r"resuming from .*a/run/last.pt would replace it"):
        _fit(_cfg(tmp_path / "b", resume=str(tmp_path / "a" / "run" / "last.pt")))
    with pytest.raises(ValueError, match="overwrite.*not both"):
        _cfg(tmp_path, resume=True, overwrite=True)


def test_a_second_writer_is_refused_and_a_dead_one_does_not_block(tmp_path):
    cfg = _cfg(tmp_path)
    with run_folder.claim(cfg):
        with pytest.raises(UserError, match=r"run is in use by another training run \(pid \d+\)"):
            _fit(cfg)
    assert len(_fit(cfg)) == 2  # released
    # a process killed while holding the folder: the system drops its lock
    code = (f"import os; from simcc_lab.training import run_folder as R; from types import SimpleNamespace as S; "
            f"R.claim(S(out_dir={str(tmp_path / 'run')!r}, resume=True, overwrite=False)).__enter__(); os._exit(9)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    assert len(_fit(cfg.replace(resume=True))) == 2


def test_stale_temporary_files_are_removed_on_start(tmp_path, capsys):
    cfg = _cfg(tmp_path)
    _fit(cfg)
    stale = tmp_path / "run" / ".last.pt.x1y2.tmp"
    stale.write_bytes(b"\0" * 1000)
    _fit(cfg.replace(resume=True))
    assert not stale.exists() and "removed 1 temporary file(s)" in capsys.readouterr().err


class Killed(Exception):
    pass


def test_a_kill_between_best_and_last_leaves_a_best_pt_after_resume(tmp_path, monkeypatch):
    aps = iter([0.2, 0.5, 0.5, 0.4])  # epoch 2 is the best (0.5); the resumed epoch 2 gives it again
    monkeypatch.setattr(engine, "validate", lambda *a, **k: {"default": dict(AP=next(aps))})
    real_copy = engine.copy_file

    def kill_at_epoch_2(src, dst):  # the second write of the best epoch: between best.pt and last.pt
        if load_checkpoint(src)["epoch"] == 2:
            raise Killed
        real_copy(src, dst)

    cfg = _cfg(tmp_path, epochs=3)
    monkeypatch.setattr(engine, "copy_file", kill_at_epoch_2)
    with pytest.raises(Killed):
        _fit(cfg, val_set=Data())
    monkeypatch.setattr(engine, "copy_file", real_copy)
    _fit(cfg.replace(resume=True), val_set=Data())
    run = tmp_path / "run"
    best, last = load_checkpoint(run / "best.pt"), load_checkpoint(run / "last.pt")
    assert best["epoch"] == 2 and best["best_ap"] == 0.5 and last["epoch"] == 3 and last["best_ap"] == 0.5


def test_checkpoints_that_cannot_be_continued_name_the_fix(tmp_path):
    cfg = _cfg(tmp_path, epochs=1)
    _fit(cfg)
    export_model(tmp_path / "run" / "last.pt", tmp_path / "exported.pt")
    with pytest.raises(UserError, match=r"exported.pt is an exported model .* cannot be resumed"):
        _fit(_cfg(tmp_path / "x", resume=str(tmp_path / "exported.pt")))
    for change, named in ((dict(codec="heatmap"), "codec 'simcc' (this run: 'heatmap')"),
                          (dict(input_size=(32, 32)), "input_size [64, 64] (this run: [32, 32])"),
                          (dict(k=3.0), "k 2.0 (this run: 3.0)")):
        with pytest.raises(UserError, match=r"last.pt was trained with " + named.replace("(", r"\(")
                           .replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
            _fit(cfg.replace(resume=True, **change))


def test_output_folder_that_is_a_file_is_refused_before_work(tmp_path, capsys):
    path = tmp_path / "afile"
    path.write_text("x")
    with pytest.raises(UserError, match=r"--out-dir \(out_dir\) .*afile is a file, not a folder"):
        _fit(C.TrainConfig(out_dir=str(path), device="cpu"))
    assert main(["train", "--out-dir", str(path)]) == 2
    assert "afile is a file, not a folder" in capsys.readouterr().err
