"""``simcc-lab synth``: write a SynthPose data set (:mod:`simcc_lab.data.synthetic`)."""
from __future__ import annotations

from ..arguments import parse_size

# the first line of simcc_lab.data.synthetic's docstring, as the command has always shown it
DESCRIPTION = "SynthPose: procedurally rendered people with exact sub-pixel COCO-17 keypoints, written as a"


def register_cli(subparsers) -> None:
    """Add ``simcc-lab synth``."""
    p = subparsers.add_parser("synth", help="generate a SynthPose data set (COCO format)", description=DESCRIPTION)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--num-images", type=int, required=True, help="images per split (train images with --split both)")
    p.add_argument("--num-val", type=int, default=None, help="val images with --split both (default N // 10, >= 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--crowded", action="store_true", help="CrowdPose-like scenes")
    p.add_argument("--split", choices=("train", "val", "both"), default="train")
    p.add_argument("--size", type=parse_size, default=(256, 256), help="image WxH (default 256x256)")
    p.add_argument("--workers", type=int, default=0, help="worker processes (0: render in this process)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..data.synthetic import generate, generate_splits
    from ..files import check_output_dir

    out = check_output_dir(args.out, "--out")
    if args.split == "both":
        num_val = args.num_val if args.num_val is not None else max(1, args.num_images // 10)
        paths = generate_splits(out, args.num_images, num_val, seed=args.seed, crowded=args.crowded,
                                size=args.size, workers=args.workers)
    else:
        paths = {args.split: generate(out, args.num_images, seed=args.seed, crowded=args.crowded,
                                      split=args.split, size=args.size, workers=args.workers)}
    for split, path in paths.items():
        print(f"{split}: {path}")
    return 0
