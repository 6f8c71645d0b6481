"""Training throughput of the SimCC head vs the heatmap head on one backbone, CPU.

For each backbone and input size three models share the backbone: the heatmap head (SimpleBaseline
deconvs to stride 4), SimCC with the same deconvs (the paper's SimBa variant) and SimCC without any.
A training step is forward + loss + backward + Adam step on random images with codec targets.

The variants are timed interleaved (round-robin, one step each per round) so that load from other
processes hits all of them alike; the figure per variant is the median step time, and the ratio to the
heatmap head is taken within the same run.

    python benchmarks/bench_heads.py [--backbones compact32,resnet18] [--sizes 64x64,192x256]
                                     [--batch 8] [--rounds 5] [--threads 1] [--json out.json]

Backbone "compact32" is the compact CNN at stride 32 (3 deconvs for heatmaps, as SimpleBaseline);
"compact" is its default stride 8 (1 deconv).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from simcc_lab.codecs import HeatmapCodec, SimCCCodec
from simcc_lab.training.losses import build_loss
from simcc_lab.models import build_model, default_deconvs

BACKBONE_ARGS = {"compact": ("compact", {}), "compact32": ("compact", {"stride": 32}),
                 "compact16": ("compact", {"stride": 16}), "resnet18": ("resnet18", {}),
                 "resnet50": ("resnet50", {}), "transformer": ("transformer", {})}


def _variants(backbone: str, size, k: float = 2.0):
    """(label, model, codec) for heatmap, SimCC with the heatmap's deconvs, and SimCC without."""
    name, kwargs = BACKBONE_ARGS[backbone]
    hm = HeatmapCodec(size, stride=4)
    model = build_model(name, hm, 17, **kwargs)
    n = default_deconvs("heatmap", model.backbone.stride, hm)
    sc = SimCCCodec(size, k=k)
    out = [(f"heatmap ({n} deconv)", model, hm)]
    if n:
        out.append((f"simcc ({n} deconv)", build_model(name, sc, 17, deconvs=n, keypoint_tokens=False, **kwargs), sc))
    out.append(("simcc (0 deconv)", build_model(name, sc, 17, deconvs=0, **kwargs), sc))
    return out


def bench(backbone: str, size, batch: int = 8, rounds: int = 5, warmup: int = 1) -> list[dict]:
    """Median training-step time and images/s per variant; ``ratio`` = speed / heatmap speed."""
    torch.manual_seed(0)
    w, h = size
    images = torch.randn(batch, 3, h, w)
    kpts = torch.rand(batch, 17, 2) * torch.tensor([w - 1.0, h - 1.0])
    runs = []
    for label, model, codec in _variants(backbone, size):
        t = codec.encode(kpts, torch.ones(batch, 17))
        runs.append(dict(label=label, model=model.train(), loss=build_loss(codec), targets=t.targets,
                         weights=t.weights, opt=torch.optim.Adam(model.parameters(), 1e-3), times=[]))

    def step(r):
        r["opt"].zero_grad(set_to_none=True)
        loss = r["loss"](r["model"](images), r["targets"], r["weights"])
        loss.backward()
        r["opt"].step()

    for i in range(warmup + rounds):
        for r in runs:  # interleaved: a load spike from another process hits every variant alike
            t0 = time.perf_counter()
            step(r)
            if i >= warmup:
                r["times"].append(time.perf_counter() - t0)
    rows = []
    for r in runs:
        med = statistics.median(r["times"])
        rows.append(dict(backbone=backbone, input=f"{h}x{w}", head=r["label"], batch=batch, step_ms=1e3 * med,
                         images_per_s=batch / med, spread=(max(r["times"]) - min(r["times"])) / med))
    base = rows[0]["images_per_s"]
    for row in rows:
        row["ratio"] = row["images_per_s"] / base
    return rows


def markdown(rows) -> str:
    lines = ["| backbone | input (HxW) | head | batch | step (ms, median) | images/s | vs heatmap | "
             "(max-min)/median |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['backbone']} | {r['input']} | {r['head']} | {r['batch']} | {r['step_ms']:.0f} | "
                     f"{r['images_per_s']:.1f} | {r['ratio']:.2f}x | {r['spread']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbones", default="compact32,resnet18", help=f"comma-separated, from {list(BACKBONE_ARGS)}")
    p.add_argument("--sizes", default="64x64,192x256", help="comma-separated WxH input sizes")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--rounds", type=int, default=5, help="timed steps per variant (after one warm-up step)")
    # 1 thread by default: on a machine shared with other jobs, OpenMP threads waiting at barriers for a
    # descheduled sibling made 2-thread steps up to 30x slower and erratic (compact CNN, 64x64, batch 8:
    # 2.2 s vs 0.07 s per step); one thread measures the work, not the scheduler
    p.add_argument("--threads", type=int, default=1, help="torch threads (0 = torch's default)")
    p.add_argument("--json", default="", help="also write the rows to this JSON file")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")]
    rows = []
    for backbone in args.backbones.split(","):
        if backbone not in BACKBONE_ARGS:
            raise SystemExit(f"--backbones: {backbone!r} is not one of {list(BACKBONE_ARGS)}")
        for size in sizes:
            part = bench(backbone, size, args.batch, args.rounds)
            rows += part
            print(markdown(part), flush=True)
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print(markdown(rows))
    if args.json:
        from simcc_lab.files import write_json

        write_json(args.json, rows)
    return rows


if __name__ == "__main__":
    main()
