"""Training throughput (images/s) per method and input size: the model alone, and with each data path.

For SimCC (without and with the heatmap head's deconvolution, the reproduction's headline model) and heatmap
models (the compact CNN) at each input size, in one process with one torch thread
(the reproduction's setting on CPU), it times optimiser steps on
  * ``model``: one fixed random batch (the ceiling: no data work at all);
  * ``model (bf16 + channels-last)``: the same, with the CPU bf16 autocast the reproduction uses where the
    CPU has bf16 instructions (on CUDA: bf16 autocast);
  * ``per-sample loader``: TopDownDataset (PNG decode + warp per sample) in the main process;
  * ``crop cache``: CropCache (crops rendered once, batched torch augmentation), in the main process,
and prints each as images/s and as a ratio to the model-only ceiling. Data: the clean SynthPose variant
(generated into the cache when missing).

    python benchmarks/bench_train.py [--sizes 64x64,128x128] [--steps 8] [--batch 32] [--device cpu]
"""
from __future__ import annotations

import argparse
import itertools
import time

import torch

from simcc_lab.training import distributed as D
from simcc_lab.arguments import parse_size
from simcc_lab.training.config import build_augment, codec_for, config_from_preset
from simcc_lab.data.topdown import TopDownDataset
from simcc_lab.data.crops import CropCache
from simcc_lab.data.synthetic import ensure_dataset
from simcc_lab.training.losses import build_loss
from simcc_lab.models import build_model


def _steps(model, loss_fn, batches, device, steps: int, amp, channels_last: bool) -> float:
    """images/s over ``steps`` optimiser steps (after 2 warm-up steps); batches: an iterator of dicts."""
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    model.train()
    t0, seen = None, 0
    for i in range(steps + 2):
        if i == 2:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0, seen = time.perf_counter(), 0
        b = next(batches)
        x = b["image"].to(device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        targets = tuple(t.to(device) for t in b["targets"])
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            out = model(x)
        loss = loss_fn(tuple(o.float() for o in out), targets, b["weights"].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += x.shape[0]
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - t0)


def _loader(dataset, batch: int):
    """Batches of ``dataset`` for ever (a new shuffled pass whenever one ends)."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=0, drop_last=True,
                                         collate_fn=getattr(dataset, "collate_fn", None))
    while True:
        yield from loader


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="64x64,128x128", help="comma-separated WxH")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--images", type=int, default=300, help="clean SynthPose train images")
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)
    device = D.select_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(1)
    bf16 = torch.bfloat16 if device.type == "cuda" or D.cpu_has_bf16() else None
    paths = ensure_dataset(name=f"bench-clean-n{args.images}", num_train=args.images, num_val=1, seed=0,
                           clean=True, progress=False)
    print(f"device: {device}, threads {torch.get_num_threads()}, batch {args.batch}, bf16 native: {bf16 is not None}")
    print("| method | input | path | images/s | vs model alone |")
    print("|---|---|---|---|---|")
    methods = (("simcc", "simcc", 0), ("simcc + 1 deconv", "simcc", 1), ("heatmap", "heatmap", None))
    for (label, codec_name, deconvs), size in itertools.product(methods, [parse_size(s) for s in args.sizes.split(",")]):
        cfg = config_from_preset(None, codec=codec_name, input_size=size, rotation_factor=15.0, scale_factor=0.25,
                                 half_body_prob=0.0, sigma=3.0, hm_sigma=1.5)
        codec = codec_for(cfg)
        loss_fn = build_loss(codec)
        cache = CropCache(*paths["train"], size, codec, build_augment(cfg))
        plain = TopDownDataset(*paths["train"], size, codec, train=True, augment=build_augment(cfg))
        fixed = next(_loader(cache, args.batch))

        def model(channels_last=False):
            kw = {} if deconvs is None else {"deconvs": deconvs}
            m = build_model("compact", codec, 17, **kw).to(device)
            return m.to(memory_format=torch.channels_last) if channels_last else m

        rates = {"model alone": _steps(model(), loss_fn, itertools.repeat(fixed), device, args.steps, None, False)}
        if bf16 is not None:
            rates["model alone, bf16 + channels-last"] = _steps(model(True), loss_fn, itertools.repeat(fixed), device,
                                                                args.steps, bf16, True)
        rates["per-sample loader (TopDownDataset)"] = _steps(model(), loss_fn, _loader(plain, args.batch), device,
                                                             args.steps, None, False)
        rates["crop cache (CropCache)"] = _steps(model(), loss_fn, _loader(cache, args.batch), device, args.steps,
                                                 None, False)
        if bf16 is not None:
            rates["crop cache, bf16 + channels-last"] = _steps(model(True), loss_fn, _loader(cache, args.batch),
                                                               device, args.steps, bf16, True)
        ceiling = rates["model alone"]
        name = f"{size[0]}x{size[1]}"
        for path, r in rates.items():
            print(f"| {label} | {name} | {path} | {r:.0f} | {r / ceiling:.2f} |")


if __name__ == "__main__":
    main()
