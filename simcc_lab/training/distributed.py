"""Where training runs: device choice, mixed precision, CPU threads, and multi-process training
(torchrun's environment -> process group, rank-0-only work, barriers).

One GPU per process. ``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``; :func:`setup` reads them and joins the group (NCCL on CUDA, Gloo on CPU). Without those
variables everything here is a no-op for a single process, so the engine has one code path.

    torchrun --nproc-per-node 4 -m simcc_lab.cli train --preset coco-res50-simcc-256x192      # one node
    torchrun --nnodes 2 --node-rank 0 --nproc-per-node 8 --rdzv-backend c10d \
        --rdzv-endpoint HOST:29500 -m simcc_lab.cli train --preset ...                        # two nodes
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "env_info", "setup", "cleanup", "barrier", "is_main", "all_reduce_sum", "unwrap",
           "select_device", "resolve_amp", "cpu_threads"]


# ---------------------------------------------------------------------------------------------------
# One process: device, precision, threads
# ---------------------------------------------------------------------------------------------------
def select_device(spec: str = "auto", local_rank: int = 0) -> torch.device:
    """``"auto"``: CUDA (GPU ``local_rank``), then Apple MPS, then CPU; otherwise the device named."""
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {spec!r} requested but CUDA is not available; use --device auto or cpu")
        if device.index is None:
            device = torch.device("cuda", local_rank)
    return device


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype (None: full precision). "auto" is mixed precision on CUDA only; "bf16" also
    works on a CPU (fast where it has bf16 instructions, see :func:`cpu_has_bf16`); "fp16" needs CUDA."""
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "bf16" and device.type == "cpu":
        return torch.bfloat16
    if device.type != "cuda":
        raise ValueError(f"amp={amp!r} needs a CUDA device (got {device}); use amp 'auto', 'bf16' or 'off'")
    if amp == "bf16" or (amp == "auto" and torch.cuda.is_bf16_supported()):
        return torch.bfloat16
    return torch.float16


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (x86 ``avx512_bf16`` or ``amx_bf16``; Linux only). There,
    bf16 autocast with channels-last trains the compact CNN ~2x faster (benchmarks/bench_train.py); without
    those instructions bf16 is emulated and slower than float32."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@contextlib.contextmanager
def cpu_threads(n: int):
    """Run with ``n`` PyTorch CPU threads (0: unchanged), restoring the previous count afterwards.

    Why: on a small shared CPU, one thread avoids OpenMP workers stalling at barriers while a sibling is
    descheduled (measured 9x faster training on 2 busy cores, docs/training.md).
    """
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------------------------------------------
# Several processes
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: ``rank`` of ``world_size`` processes, ``local_rank`` on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_info() -> DistInfo:
    """The process's place from torchrun's environment variables (single process when unset)."""
    def get(name: str, default: int) -> int:
        value = os.environ.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"environment variable {name}={value!r} is not an integer") from None

    info = DistInfo(get("RANK", 0), get("WORLD_SIZE", 1), get("LOCAL_RANK", 0))
    if not 0 <= info.rank < info.world_size:
        raise ValueError(f"RANK={info.rank} must lie in [0, WORLD_SIZE={info.world_size})")
    return info


def setup(device_type: str) -> DistInfo:
    """Join the process group torchrun describes (if any). NCCL for CUDA, Gloo otherwise.

    Returns the DistInfo; a no-op when WORLD_SIZE is 1 or the group already exists.
    """
    info = env_info()
    if info.enabled and not dist.is_initialized():
        if device_type == "cuda":
            # Each process owns the GPU of its local rank; NCCL needs it set before the first collective.
            torch.cuda.set_device(info.local_rank)
        backend = "nccl" if device_type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, init_method="env://", rank=info.rank,
                                world_size=info.world_size)
    return info


def cleanup(wait: bool = True) -> None:
    """Leave the process group; with ``wait``, first wait for every process (so no rank exits while
    others still talk to it)."""
    if dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    """Synchronise all processes (no-op for a single process)."""
    if dist.is_initialized():
        dist.barrier()


def is_main() -> bool:
    """True on rank 0 (and for a single process)."""
    return not dist.is_initialized() or dist.get_rank() == 0


def all_reduce_sum(values: list[float], device) -> list[float]:
    """Sum floats over all processes (used for the epoch's loss and sample counts)."""
    if not dist.is_initialized():
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain model inside a DistributedDataParallel wrapper (checkpoints store its state_dict)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model
