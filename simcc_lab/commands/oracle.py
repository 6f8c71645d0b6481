"""``simcc-lab oracle``: the AP lost to the codec alone (:mod:`simcc_lab.evaluation.oracle`)."""
from __future__ import annotations

from ..arguments import add_spec_argument, parse_size

# the first line of simcc_lab.evaluation.oracle's docstring
DESCRIPTION = "The codec oracle: the AP a perfect network would still lose to its output representation."


def register_cli(subparsers) -> None:
    """``simcc-lab oracle --data FILE --input-size WxH [--codec ...] [--spec NAME] [--table] [--out PATH]``."""
    p = subparsers.add_parser("oracle", help="AP lost to the codec alone (encode -> decode the ground truth)",
                              description=DESCRIPTION, arguments=arguments)
    p.set_defaults(func=run)


def arguments(p) -> None:
    """The flags (``--refinement`` takes the codecs' refinement names: imported here, when the command is chosen)."""
    from ..codecs import REFINEMENTS

    p.add_argument("--data", action="append", required=True, metavar="FILE",
                   help="COCO-format keypoint file, or 'coco' for COCO val2017 (repeat for several with --table)")
    p.add_argument("--coco-root", default=None, help="COCO 2017 folder for --data coco (default $SIMCC_LAB_COCO)")
    add_spec_argument(p)
    p.add_argument("--input-size", type=parse_size, default=None, help="WxH, e.g. 192x256 (paper's 256x192)")
    p.add_argument("--codec", choices=("simcc", "heatmap"), default="simcc")
    p.add_argument("--k", type=float, default=2.0, help="SimCC bins per pixel")
    p.add_argument("--stride", type=int, default=4, help="heatmap stride")
    p.add_argument("--refinement", choices=REFINEMENTS, default="none")
    p.add_argument("--encoding", choices=("biased", "unbiased"), default=None,
                   help="heatmap centre (default: unbiased for dark, else biased)")
    p.add_argument("--table", action="store_true",
                   help="the standard grid (SimCC k=1,2,3; heatmap s=4 argmax/quarter/DARK) at 64x64, "
                        "128x128, 192x256 (or only --input-size), as markdown")
    p.add_argument("--out", default=None, help="also write the output here")


def run(args) -> int:
    from ..codecs import build_codec
    from ..data.coco import coco_paths
    from ..evaluation.oracle import TABLE_SIZES, codec_oracle, oracle_table
    from ..files import check_output_file, write_text

    if args.out:  # before the work, not after it
        check_output_file(args.out, "--out")
    # "--data coco": COCO val2017 keypoints under --coco-root / $SIMCC_LAB_COCO
    args.data = [str(coco_paths(args.coco_root, "val")[0]) if d == "coco" else d for d in args.data]
    if args.table:
        sizes = [args.input_size] if args.input_size else TABLE_SIZES
        _, md = oracle_table(args.data, sizes, spec=args.spec)
        print(md)
        if args.out:
            write_text(args.out, md + "\n")
        return 0
    if not args.input_size:
        raise ValueError("--input-size WxH is needed without --table")
    if len(args.data) != 1:
        raise ValueError("give one --data file without --table")
    codec = build_codec(args.codec, args.input_size, **codec_settings(args))
    r = codec_oracle(args.data[0], codec, args.input_size, spec=args.spec)
    text = "\n".join(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in r.items())
    print(text)
    if args.out:
        write_text(args.out, text + "\n")
    return 0


def codec_settings(args) -> dict:
    """The codec settings the flags give: SimCC takes ``--k``; heatmaps ``--stride``, ``--refinement`` and
    ``--encoding`` (default: unbiased for DARK, biased otherwise)."""
    if args.codec == "simcc":
        return dict(k=args.k)
    return dict(stride=args.stride, refinement=args.refinement,
                encoding=args.encoding or ("unbiased" if args.refinement == "dark" else "biased"))
