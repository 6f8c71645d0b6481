"""The ``simcc-lab`` command.

Each subcommand has a light module in :mod:`simcc_lab.commands` (listed in ``COMMAND_MODULES``) that defines
``register_cli(subparsers)``: it adds its subparser and sets ``func`` (``args -> exit code``), which imports
the code it runs when it runs. Arguments that need torch-side modules come from an ``arguments=`` function
given to ``add_parser``, called only when that command is chosen (:class:`Subcommands`), so ``simcc-lab
--help`` and ``simcc-lab synth --help`` never import torch. This is the only argparse root; no library
module imports it (shared argument types: :mod:`simcc_lab.arguments`).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Callable

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
    "simcc_lab.commands.quantization",  # quantization
    "simcc_lab.commands.synth",         # synth
    "simcc_lab.commands.oracle",        # oracle
    "simcc_lab.commands.train",         # train, eval
    "simcc_lab.commands.reproduce",     # reproduce
)


class Subcommands(argparse._SubParsersAction):
    """argparse's subcommands, plus ``add_parser(name, arguments=fn, ...)``: ``fn(subparser)`` adds that
    command's arguments when the command is chosen on the command line (or by :meth:`add_all_arguments`),
    so that registering it imports nothing heavy."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pending: dict[str, tuple[argparse.ArgumentParser, Callable]] = {}

    def add_parser(self, name, arguments: Callable | None = None, **kwargs):
        parser = super().add_parser(name, **kwargs)
        if arguments is not None:
            self._pending[name] = (parser, arguments)
        return parser

    def add_arguments(self, name: str) -> None:
        """Add the deferred arguments of command ``name`` (once; nothing for a command without them)."""
        if name in self._pending:
            parser, arguments = self._pending.pop(name)
            arguments(parser)

    def add_all_arguments(self) -> None:
        for name in list(self._pending):
            self.add_arguments(name)

    def __call__(self, parser, namespace, values, option_string=None):
        self.add_arguments(values[0])
        super().__call__(parser, namespace, values, option_string)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with every subcommand registered (a command's deferred arguments are added when
    it is parsed; ``parser.subcommands.add_all_arguments()`` adds them all)."""
    parser = argparse.ArgumentParser(prog="simcc-lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", action=Subcommands)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register_cli(sub)
    parser.subcommands = sub
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
