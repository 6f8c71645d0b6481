"""Argument types and shared arguments for the subcommands' parsers.

Each subcommand's parser lives beside the code it runs (``register_cli`` in that module); the ``simcc-lab``
root parser (:mod:`simcc_lab.cli`) gathers them. What several of them share lives here, so that no library
module needs to import the CLI.
"""
from __future__ import annotations

import argparse

from .keypoints import SPECS


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
    parser.add_argument("--spec", choices=sorted(SPECS), default=None,
                        help="skeleton of the annotation files (default: chosen by their keypoint names)")
