"""Data-parallel training: 2 CPU processes (Gloo) against one process with the same global batch.

The processes are started with ``torch.multiprocessing.spawn`` and given torchrun's environment
variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), so ``fit`` takes the same path as
under ``torchrun``.

The model has no BatchNorm: BatchNorm normalises with the statistics of each process's own half-batch
under DDP, so its forward pass (and hence the gradients) legitimately differs from one process seeing the
whole batch. Plain layers make "2 x batch B" and "1 x batch 2B" the same computation up to float
summation order. The loss is a plain mean over equal-sized per-rank batches, so DDP's gradient average
equals the single-process gradient.
"""
from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from simcc_lab.training import distributed as D
from simcc_lab.training import engine
from test_engine import FakePoseData, TinyNet, mse_loss, same_weights, tiny_cfg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, cfg, out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)  # two processes on a 2-core machine
    torch.manual_seed(cfg.seed)
    model = TinyNet()
    history = engine.fit(cfg, model=model, train_set=FakePoseData(), loss=mse_loss)
    torch.save(dict(model=model.state_dict(), history=history), os.path.join(out, f"rank{rank}.pt"))


def _single(cfg):
    torch.manual_seed(cfg.seed)
    model = TinyNet()
    history = engine.fit(cfg, model=model, train_set=FakePoseData(), loss=mse_loss)
    return model, history


@pytest.mark.slow
def test_two_process_ddp_matches_one_process_with_the_same_global_batch(tmp_path):
    world, per_rank = 2, 4
    ddp_cfg = tiny_cfg(tmp_path / "ddp", batch_size=per_rank, epochs=2, warmup_steps=0)
    mp.spawn(_worker, args=(world, _free_port(), ddp_cfg, str(tmp_path)), nprocs=world, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(world)]
    a, b = (TinyNet() for _ in range(2))
    a.load_state_dict(ranks[0]["model"]), b.load_state_dict(ranks[1]["model"])
    assert same_weights(a, b), "DDP ranks must hold identical weights"

    one, history = _single(tiny_cfg(tmp_path / "one", batch_size=per_rank * world, epochs=2, warmup_steps=0))
    sa, sb = one.state_dict(), a.state_dict()
    for k in sa:
        torch.testing.assert_close(sb[k], sa[k], rtol=0, atol=1e-5)
    torch.manual_seed(ddp_cfg.seed)
    init = TinyNet()  # training moved the weights far beyond that tolerance, so the match means something
    assert max((sa[k] - init.state_dict()[k]).abs().max() for k in sa) > 1e-3
    # Same number of optimiser steps; the logged loss is the mean over all ranks' samples.
    assert [h["step"] for h in ranks[0]["history"]] == [h["step"] for h in history] == [3, 6]
    assert ranks[0]["history"][-1]["train_loss"] == pytest.approx(history[-1]["train_loss"], rel=1e-5)
    # Only rank 0 writes files: one checkpoint in the DDP run's folder.
    assert (tmp_path / "ddp" / "run" / "last.pt").is_file()


def test_env_info_reads_torchrun_variables(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert D.env_info() == D.DistInfo(0, 1, 0) and not D.env_info().enabled
    monkeypatch.setenv("RANK", "3"), monkeypatch.setenv("WORLD_SIZE", "4"), monkeypatch.setenv("LOCAL_RANK", "1")
    info = D.env_info()
    assert (info.rank, info.world_size, info.local_rank, info.enabled, info.is_main) == (3, 4, 1, True, False)
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ValueError, match="RANK=4"):
        D.env_info()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ValueError, match="RANK='x'"):
        D.env_info()


def test_single_process_helpers_are_no_ops():
    D.barrier()
    assert D.is_main() and D.all_reduce_sum([1.0, 2.0], "cpu") == [1.0, 2.0]
    net = TinyNet()
    assert D.unwrap(net) is net
