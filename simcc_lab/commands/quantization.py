"""``simcc-lab quantization``: theory vs measured quantisation error (:mod:`simcc_lab.evaluation.quantization`)."""
from __future__ import annotations

from pathlib import Path


def register_cli(sub) -> None:
    """``simcc-lab quantization --out DIR [--samples N] [--seed S]``."""
    p = sub.add_parser("quantization", help="theory vs measured quantisation error of each decoder")
    p.add_argument("--out", default="reports/quantization", help="folder for quantization.md/.csv/.png")
    p.add_argument("--samples", type=int, default=20_000, help="random keypoints per decoder")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args) -> int:
    if args.samples < 1:
        raise ValueError(f"--samples must be >= 1, got {args.samples}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    from .. import files
    from ..evaluation.quantization import run_study, study_markdown

    files.check_output_dir(args.out, "--out")
    rows, _ = run_study(args.out, n=args.samples, seed=args.seed)
    print(study_markdown(rows))
    print(f"wrote {Path(args.out) / 'quantization.md'}, .csv and .png")
    return 0
