"""Where and how a result was made: the command, git commit, package versions, CPU, threads and date that
every result file of ``simcc-lab reproduce`` records (``provenance``), so that a number can be traced."""
from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("simcc_lab", "torch", "torchvision", "numpy", "pycocotools")
REPO = Path(__file__).resolve().parents[2]


def git_commit() -> str | None:
    """The checkout's commit (``+dirty`` when tracked files differ from it); ``$SIMCC_LAB_GIT_COMMIT`` where
    there is no git (a copied tree), else None."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return os.environ.get("SIMCC_LAB_GIT_COMMIT") or None


def versions() -> dict[str, str | None]:
    """Python's and :data:`PACKAGES`' versions (None where one is not installed as a distribution)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else :func:`platform.processor`)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance(command: str | None, environment: dict | None = None) -> dict:
    """The provenance record of one result: ``command``, ``git_commit``, ``date`` (UTC, ISO 8601),
    ``versions``, ``cpu``, ``cpu_count`` and the run's own ``environment`` (device, GPU, torch threads)."""
    return dict(command=command, git_commit=git_commit(),
                date=dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
                versions=versions(), cpu=cpu_model(),
                cpu_count=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                **(environment or {}))
