"""Training DataLoader throughput (samples/s) of TopDownDataset with augmentation and SimCC targets.

On SynthPose val (generated into the cache when missing) or, with ``--data coco``, on the real COCO
sample (4 images) repeated; a first pass over the loader warms the workers and the page cache.

    python benchmarks/bench_dataloader.py [--data synth|coco] [--workers 2] [--sizes 64x64,192x256]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from simcc_lab.arguments import parse_size
from simcc_lab.data.topdown import TopDownDataset

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = Path(os.environ.get("SIMCC_LAB_SHARED", ROOT.parent / "shared")) / "data" / "coco_val2017_sample"


def _codec(size):
    from simcc_lab.codecs import SimCCCodec

    return SimCCCodec(input_size=size, k=2.0)


def make_dataset(data: str, size, num_images: int) -> torch.utils.data.Dataset:
    """A training dataset of at least a few hundred people at input ``size`` (W, H)."""
    if data == "coco":
        ds = TopDownDataset(SAMPLE / "test_coco.json", SAMPLE, size, _codec(size), train=True)
        return torch.utils.data.ConcatDataset([ds] * max(1, 400 // len(ds)))
    from simcc_lab.data.synthetic import ensure_dataset

    paths = ensure_dataset(name="bench", num_train=1, num_val=num_images, seed=0, progress=False)
    ann, images = paths["val"]
    return TopDownDataset(ann, images, size, _codec(size), train=True)


def bench(ds, workers: int, batch: int, batches: int) -> float:
    """Samples per second over ``batches`` batches after one warm-up pass."""
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers,
                                         generator=torch.Generator().manual_seed(0), drop_last=True)
    it = iter(loader)
    next(it)  # workers started, first batch made
    t0 = time.perf_counter()
    n = 0
    for _ in range(batches):
        n += len(next(it)["image"])
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=("synth", "coco"), default="synth")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("--images", type=int, default=200, help="SynthPose val images (about 2 people each)")
    ap.add_argument("--sizes", default="64x64,192x256", help="comma-separated WxH input sizes")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print("| data | input HxW | workers | batch | samples/s |\n|---|---|---|---|---|")
    for text in args.sizes.split(","):
        w, h = parse_size(text)
        ds = make_dataset(args.data, (w, h), args.images)
        rate = bench(ds, args.workers, args.batch, min(args.batches, len(ds) // args.batch - 1))
        print(f"| {args.data} ({len(ds)} people) | {h}x{w} | {args.workers} | {args.batch} | {rate:.0f} |")


if __name__ == "__main__":
    main()
