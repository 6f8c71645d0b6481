"""Files: whole-file writes, output paths checked before the work, and the error class of a user's mistake.

Every file the package produces is written to a temporary file and renamed: a crash or Ctrl-C mid-write leaves
either the old file or the new one, never half of one.

:class:`UserError` is a ValueError (the package's convention for invalid arguments), so code that catches
ValueError keeps working. ``simcc-lab`` prints it, like any ValueError or file error, as one line naming the
cause and the fix (exit code 2); other exceptions are internal errors and keep their traceback.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


class UserError(ValueError):
    """A mistake the user can fix (a file, a folder, a flag, a checkpoint); the message names it and the fix."""


class ImageError(UserError, OSError):
    """An image file that cannot be used (corrupt, empty, truncated, oversized, another size than its record);
    also an OSError, as unreadable images raised before this class existed."""


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], mode: str = "wb") -> Path:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, then rename it onto ``path``.

    Parent folders are created. Returns the final path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    # mkstemp creates 0600 files; give the result the permissions an ordinary open() would have.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) whole."""
    return atomic_write(path, lambda f: f.write(text), mode="w")


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 1) -> Path:
    """Write ``obj`` as JSON whole."""
    return atomic_write(path, lambda f: json.dump(obj, f, indent=indent), mode="w")


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Save a matplotlib Figure whole; the format comes from the suffix (png, pdf, svg)."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    return atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi, bbox_inches="tight"))


def torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` whole (checkpoints survive a kill during the write)."""
    import torch

    return atomic_write(path, lambda f: torch.save(obj, f))


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output_file(path, what: str = "output file") -> Path:
    """Refuse, before any work, an output file that cannot be written: a folder, a path under a file, or a
    folder without write permission (UserError naming ``what``, e.g. ``--out-json``). Creates nothing."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder; name a file (e.g. {path / 'out.json'})")
    base = _nearest_existing(path.parent.absolute())
    if not base.is_dir():
        raise UserError(f"{what} {path}: {base} is a file, not a folder; choose another path")
    if not os.access(base, os.W_OK | os.X_OK):
        raise UserError(f"{what} {path}: cannot write into {base} (permission denied); choose another path")
    return path


def check_output_dir(path, what: str = "output folder") -> Path:
    """Refuse, before any work, an output folder that is a file or cannot be created or written (UserError)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{what} {path} is a file, not a folder; choose another path")
    base = _nearest_existing(path.absolute())
    if not base.is_dir():
        raise UserError(f"{what} {path}: {base} is a file, not a folder; choose another path")
    if not os.access(base, os.W_OK | os.X_OK):
        raise UserError(f"{what} {path}: cannot write into {base} (permission denied); choose another path")
    return path
