"""One run per folder: a run folder is never overwritten, mixed with another run, or left half-cleaned.

:func:`claim` holds ``cfg.out_dir`` for the duration of :func:`simcc_lab.training.engine.fit` (rank 0 only):

* the folder must be a folder (not a file) that can be written;
* a lock file (``.simcc-lab.lock``, an ``flock`` that the system releases when the process dies, so a killed
  run never leaves a stale lock) refuses a second concurrent writer: two runs into one folder would leave
  ``last.pt`` of one and ``best.pt`` of the other;
* a folder that already holds a run (``last.pt`` or ``best.pt``) refuses a fresh start: pass ``resume`` to
  continue it or ``overwrite`` to replace it (its run files are then removed first, so that no ``best.pt`` of
  the old run survives beside the new ``last.pt``);
* ``.*.tmp`` files that a kill left behind mid-write (:func:`simcc_lab.files.atomic_write`) are removed.

:func:`check_resumable` refuses, with the fix, a checkpoint the run cannot continue from: an exported model
(weights only) or one trained with another architecture (codec, input size, k, stride, backbone).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

from ..files import UserError
from ..files import check_output_dir

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are then not protected against a second writer
    fcntl = None

__all__ = ["claim", "check_resumable", "RUN_FILES", "LOCK_NAME", "ARCHITECTURE_FIELDS"]

RUN_FILES = ("last.pt", "best.pt", "history.json", "history.csv", "config.json")
LOCK_NAME = ".simcc-lab.lock"
# Fields that change the model's weights' shapes: a checkpoint with other values cannot be loaded into the run.
ARCHITECTURE_FIELDS = ("codec", "input_size", "k", "stride", "backbone", "deconvs")
TRAINING_ENTRIES = ("optimizer", "scheduler", "scaler", "global_step", "best_ap", "history", "rng", "epoch")


def _is_resume(resume) -> bool:
    return resume is not False and resume not in ("", "false")


@contextlib.contextmanager
def claim(cfg, is_main: bool = True):
    """Hold ``cfg.out_dir`` for one run (see the module docstring); a no-op on ranks other than 0."""
    if not is_main:
        yield
        return
    out_dir = check_output_dir(cfg.out_dir, "--out-dir (out_dir)")
    explicit = _is_resume(cfg.resume) and cfg.resume not in (True, "true")
    if explicit and not Path(cfg.resume).is_file():
        raise FileNotFoundError(f"resume checkpoint {cfg.resume} not found")
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock(out_dir)
    try:
        _remove_stale_tmp(out_dir)
        _check_folder(cfg, out_dir, explicit)
        yield
    finally:
        _unlock(lock)


def _lock(out_dir: Path):
    """An open lock file holding an exclusive flock, or a UserError naming the process that holds it."""
    path = out_dir / LOCK_NAME
    f = open(path, "a+")
    if fcntl is None:
        return f
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.seek(0)
        holder = f.read().strip() or "another process"
        f.close()
        raise UserError(f"{out_dir} is in use by another training run ({holder}); wait for it to finish, "
                        "or choose another --out-dir") from None
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()}\n")
    f.flush()
    return f


def _unlock(f) -> None:
    # closing releases the flock; the file stays (unlinking it would let a third run lock a new inode while
    # a second one still waits on the old one)
    f.close()


def _remove_stale_tmp(out_dir: Path) -> None:
    """Remove the ``.NAME.XXXX.tmp`` files a killed write left (safe: the lock says nobody is writing)."""
    stale = [p for p in out_dir.glob(".*.tmp") if p.is_file()]
    if stale:
        size = sum(p.stat().st_size for p in stale)
        for p in stale:
            p.unlink()
        print(f"{out_dir}: removed {len(stale)} temporary file(s) ({size / 1e6:.1f} MB) left by an interrupted "
              "write", file=sys.stderr)


def _describe(out_dir: Path) -> str:
    """'epoch 3 of 3, finished' from the run's history and config files, or the files present."""
    try:
        done = len(json.loads((out_dir / "history.json").read_text()))
        total = json.loads((out_dir / "config.json").read_text())["epochs"]
        return f"epoch {done} of {total}" + (", finished" if done >= total else "")
    except (OSError, ValueError, KeyError, TypeError):
        return ", ".join(n for n in RUN_FILES if (out_dir / n).exists())


def _check_folder(cfg, out_dir: Path, explicit: bool) -> None:
    """Refuse a fresh start (or a resumption from elsewhere) over a run; clear it for ``overwrite``."""
    held = [n for n in ("last.pt", "best.pt") if (out_dir / n).is_file()]
    if not held:
        return
    if getattr(cfg, "overwrite", False):
        for name in RUN_FILES:
            with contextlib.suppress(FileNotFoundError):
                (out_dir / name).unlink()
        shutil.rmtree(out_dir / "tensorboard", ignore_errors=True)
        print(f"{out_dir}: overwrite: removed the earlier run ({', '.join(held)})", file=sys.stderr)
        return
    what = f"{out_dir} already holds a run ({_describe(out_dir)})"
    if not _is_resume(cfg.resume):
        raise UserError(f"{what}; pass --resume to continue it, --overwrite to replace it, or choose another "
                        "--out-dir")
    if explicit and Path(cfg.resume).resolve() != (out_dir / "last.pt").resolve():
        raise UserError(f"{what}; resuming from {cfg.resume} would replace it: choose another --out-dir, or "
                        "pass --overwrite without --resume to start over")
    if "last.pt" not in held:
        raise UserError(f"{what} but no last.pt to resume from; pass --overwrite to replace it, or choose "
                        "another --out-dir")


def check_resumable(ckpt: dict, path, cfg) -> None:
    """A UserError when the run ``cfg`` cannot continue from checkpoint ``ckpt`` (read from ``path``): an
    exported model (no optimiser state), or another architecture (:data:`ARCHITECTURE_FIELDS`)."""
    missing = [k for k in TRAINING_ENTRIES if k not in ckpt]
    if missing:
        raise UserError(f"{path} is an exported model (weights only, no {missing[0]} state), not a training "
                        "checkpoint: it cannot be resumed; resume from a run folder's last.pt, or train anew")
    saved = ckpt.get("config") or {}
    differ = []
    for name in ARCHITECTURE_FIELDS:
        if (name == "k" and cfg.codec != "simcc") or (name == "stride" and cfg.codec != "heatmap"):
            continue  # the other codec's setting: no weight depends on it
        now, then = getattr(cfg, name), saved.get(name, getattr(cfg, name))
        now = list(now) if isinstance(now, tuple) else now
        if then != now:
            differ.append(f"{name} {then!r} (this run: {now!r})")
    if differ:
        raise UserError(f"{path} was trained with {', '.join(differ)}: its weights do not fit this run; resume "
                        "with the checkpoint's settings, or train into another --out-dir (or --overwrite)")
