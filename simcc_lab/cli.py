"""The ``simcc-lab`` command.

Each subcommand lives beside the code it runs: a module listed in ``COMMAND_MODULES`` defines
``register_cli(subparsers)``, which adds its subparser and sets ``func`` (``args -> exit code``).
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "simcc_lab.quantization",
    "simcc_lab.data.synthetic",
    "simcc_lab.evaluation",
    "simcc_lab.engine",
    "simcc_lab.experiments",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="simcc-lab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:  # a module not written yet: its command is simply absent
                continue
            raise
        module.register_cli(sub)
    return parser


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``"WxH"`` (e.g. ``"192x256"``) into ``(W, H)``; an argparse type."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like WxH (e.g. 192x256), got {text!r}") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return w, h


def add_spec_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--spec NAME`` (a known skeleton, e.g. crowdpose14) to a command that reads annotation files;
    ``args.spec`` is None (chosen by the file's keypoint names) or the name."""
    from .keypoints import SPECS

    parser.add_argument("--spec", choices=sorted(SPECS), default=None,
                        help="skeleton of the annotation files (default: chosen by their keypoint names)")


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
