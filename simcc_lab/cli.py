"""The ``simcc-lab`` command.

Each subcommand lives beside the code it runs: a module listed in ``COMMAND_MODULES`` defines
``register_cli(subparsers)``, which adds its subparser and sets ``func`` (``args -> exit code``). This is
the only argparse root; no library module imports it (shared argument types: :mod:`simcc_lab.arguments`).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from .files import UserError

TRACEBACK_ENV = "SIMCC_LAB_TRACEBACK"  # set to 1: user errors show their traceback too (debugging)
# What a user can cause and fix: invalid files, flags and folders (the package raises ValueError / UserError for
# them, naming the file, record and field) and the file system's refusals. Everything else is an internal
# error and keeps its traceback.
USER_ERRORS = (UserError, ValueError, FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError,
               FileExistsError)
_OS_HINTS = {PermissionError: "check the file's permissions", IsADirectoryError: "name a file, not a folder",
             NotADirectoryError: "a parent of the path is a file, not a folder",
             FileExistsError: "remove it or choose another path"}

COMMAND_MODULES = (
    "simcc_lab.evaluation.quantization",  # quantization
    "simcc_lab.data.synthetic",           # synth
    "simcc_lab.evaluation.oracle",        # oracle
    "simcc_lab.training.engine",          # train, eval
    "simcc_lab.reproduce.runner",         # reproduce
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="simcc-lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``simcc-lab``."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as err:
        if os.environ.get(TRACEBACK_ENV, "") not in ("", "0"):
            raise
        print(f"simcc-lab {args.command}: error: {user_message(err)}", file=sys.stderr)
        return 2


def user_message(err: BaseException) -> str:
    """One line for a user's mistake: the message (a DataLoader worker's re-raised error: its original
    message, without the worker's traceback), with a hint for file-system errors."""
    text = str(err)
    if "Original Traceback" in text:  # torch re-raises a worker's error as Type("Caught ... Traceback ... msg")
        last = text.strip().splitlines()[-1]
        text = last.split(": ", 1)[1] if ": " in last else last
    if isinstance(err, OSError) and not isinstance(err, UserError) and err.filename is not None:
        hint = next((h for t, h in _OS_HINTS.items() if isinstance(err, t)), None)
        text = f"{err.filename}: {err.strerror}" + (f" ({hint})" if hint else "")
    return " ".join(text.splitlines())


if __name__ == "__main__":
    sys.exit(main())
