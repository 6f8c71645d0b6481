"""The ``simcc-lab`` command.

Each subcommand lives beside the code it runs: a module listed in ``COMMAND_MODULES`` defines
``register_cli(subparsers)``, which adds its subparser and sets ``func`` (``args -> exit code``). This is
the only argparse root; no library module imports it (shared argument types: :mod:`simcc_lab.arguments`).
"""
from __future__ import annotations

import argparse
import importlib
import sys

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
    except (ValueError, FileNotFoundError) as err:
        print(f"simcc-lab {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
