"""Throughput of SynthPose on one core: people per second at 256x256 (or --size).

Three figures: rendering only (``render_scene``), rendering + PNG encoding in memory, and the whole
``generate`` (PNG files written whole + the JSON) into a temporary folder.

    python benchmarks/bench_synthetic.py [--images 200] [--size 256x256] [--crowded]
"""
from __future__ import annotations

import argparse
import io
import tempfile
import time

import numpy as np
from PIL import Image

from simcc_lab.arguments import parse_size
from simcc_lab.data.synthetic import generate, render_scene


def bench(images: int, size: tuple[int, int], crowded: bool) -> dict[str, float]:
    """People per second for render, render + PNG, and generate(); also people per image."""
    rngs = [np.random.default_rng(i) for i in range(images)]
    t0 = time.perf_counter()
    scenes = [render_scene(rng, size, crowded) for rng in rngs]
    t_render = time.perf_counter() - t0
    people = sum(len(p) for _, p in scenes)
    t0 = time.perf_counter()
    for image, _ in scenes:
        Image.fromarray(image).save(io.BytesIO(), format="PNG", compress_level=1, compress_type=3)
    t_png = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ann = generate(tmp, images, seed=0, crowded=crowded, size=size, progress=False)
        t_gen = time.perf_counter() - t0
        import json

        gen_people = len(json.loads(ann.read_text())["annotations"])
    return dict(people_per_image=people / images, render=people / t_render,
                render_png=people / (t_render + t_png), generate=gen_people / t_gen)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--size", type=parse_size, default=(256, 256))
    ap.add_argument("--crowded", action="store_true")
    args = ap.parse_args()
    r = bench(args.images, args.size, args.crowded)
    print(f"SynthPose {args.size[0]}x{args.size[1]} {'crowded' if args.crowded else 'normal'}, "
          f"{args.images} images, {r['people_per_image']:.2f} people/image")
    print(f"  render only          {r['render']:7.0f} people/s")
    print(f"  render + PNG encode  {r['render_png']:7.0f} people/s")
    print(f"  generate (files)     {r['generate']:7.0f} people/s")


if __name__ == "__main__":
    main()
