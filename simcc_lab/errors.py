"""The one exception class for a user's mistake: a file, a folder, a flag or a checkpoint that the user can fix.

:class:`UserError` is a ValueError (the package's convention for invalid arguments), so code that catches
ValueError keeps working. ``simcc-lab`` prints it, like any ValueError or file error, as one line naming the
cause and the fix (exit code 2); other exceptions are internal errors and keep their traceback.
"""
from __future__ import annotations

__all__ = ["UserError", "ImageError"]


class UserError(ValueError):
    """A mistake the user can fix; the message names the file / record / field / flag and the fix."""


class ImageError(UserError, OSError):
    """An image file that cannot be used (corrupt, empty, truncated, oversized, another size than its record).

    Also an OSError: unreadable images raised OSError before this class existed."""
