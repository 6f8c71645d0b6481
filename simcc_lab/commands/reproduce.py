"""``simcc-lab reproduce`` (:mod:`simcc_lab.reproduce.runner`); ``--mode`` takes the grid's modes
(:mod:`simcc_lab.reproduce.grid`), added when the command is chosen."""
from __future__ import annotations


def register_cli(sub) -> None:
    """``simcc-lab reproduce --mode quick|full [--only NAME] [--seeds 0,1] [--out reports]``."""
    p = sub.add_parser("reproduce", help="run the paper's experiments on SynthPose and write the report",
                       arguments=arguments)
    p.set_defaults(func=run)


def arguments(p) -> None:
    from ..reproduce.grid import MODES

    p.add_argument("--mode", choices=MODES, default="quick",
                   help="quick: SimCC vs heatmap at 64x64 (3 seeds) and 128x128, learning curves; 2 CPU cores, "
                        "<= 30 min (measured time in reports/RUN.json). standard: quick plus the ablations (k, "
                        "smoothing, upsampling, crowded, backbone, transformer; 3 seeds), hours on 2 cores. full: everything "
                        "on a GPU with more data and 256x192. tiny: seconds (tests)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="run one experiment (repeatable): resolution, curves, k, smoothing, upsampling, crowded, "
                        "backbone, transformer")
    p.add_argument("--run", action="append", default=[], metavar="KEY", dest="rerun",
                   help="(re)train exactly this run (repeatable), e.g. heatmap-64x64-s1; its earlier result and "
                        "checkpoint are kept as .stale. The report is rewritten from every result in --out")
    p.add_argument("--seeds", default=None, help="comma-separated seeds (default 0,1,2; 0 in tiny mode)")
    p.add_argument("--out", default=None,
                   help="report, figures, results/*.json and models/ go here (default reports/ in quick mode, "
                        "reports/MODE/ otherwise)")
    p.add_argument("--work-dir", default=None, help="checkpoints (default runs/reproduce-MODE, git-ignored)")
    p.add_argument("--jobs", type=int, default=0,
                   help="runs trained at once, one process each (default: 1 with a GPU, else the CPU count, <= 4)")
    p.add_argument("--report-only", action="store_true",
                   help="train nothing: write the report from the result files already in --out")


def run(args) -> int:
    from ..reproduce import runner

    return runner._cli_reproduce(args)
