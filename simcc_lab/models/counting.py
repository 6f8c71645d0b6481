"""Parameters and FLOPs of a PoseModel, split into backbone / upsampling (deconvs) / head (the rest).

Convention: ``gflops`` are giga multiply-accumulates (GMACs) = FLOPs / 2, where FLOPs are what
``torch.utils.flop_counter.FlopCounterMode`` counts (2 per multiply-add). That is the convention of the
pose papers' tables: a ResNet-50 at 224x224 is "4.1 GFLOPs" there, 8.2 G in FlopCounterMode's units.
Only convolutions, matrix products and attention are counted (BatchNorm, activations and softmax are
left out, as in the papers' counters). ``docs/compute.md`` compares the counts with the paper.

``python -m simcc_lab.models.counting --table`` prints that comparison table (Markdown).
"""
from __future__ import annotations

import argparse
from typing import Any

import torch
from torch import nn
from torch.utils import flop_counter

from ..codecs import HeatmapCodec, SimCCCodec
from .backbones import build_backbone
from .pose import build_model, default_deconvs

__all__ = ["count_params_flops", "count_like_paper", "compute_table", "main"]

def _sdpa_cpu_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    # FlopCounterMode knows the CUDA attention kernels but not the CPU one that nn.MultiheadAttention
    # reaches on CPU; same formula (2 matmuls)
    return flop_counter.sdpa_flop_count(query_shape, key_shape, value_shape)


def _custom_mapping() -> dict:
    op = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    return {op: _sdpa_cpu_flops} if op is not None else {}


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def count_params_flops(model: nn.Module, input_size) -> dict[str, Any]:
    """Parameters and compute of ``model`` (a PoseModel: ``.backbone``, ``.head`` with ``.head.upsample``)
    for one image of ``input_size`` (W, H).

    Returns:
        ``{"params": {part: count}, "flops": {part: FLOPs}, "gflops": {part: GMACs}, "input_size": (W, H)}``
        with parts "backbone", "upsampling", "head" and "total". ``gflops`` = flops / 2 / 1e9 (the
        papers' multiply-add convention); "head" is the head without its upsampling layers.
    """
    if len(input_size) != 2 or min(input_size) < 1:
        raise ValueError(f"input_size must be a positive (W, H) pair, got {input_size!r}")
    w, h = (int(s) for s in input_size)
    up = getattr(model.head, "upsample", nn.Sequential())
    params = {"backbone": _n_params(model.backbone), "upsampling": _n_params(up)}
    params["head"] = _n_params(model.head) - params["upsampling"]
    params["total"] = _n_params(model)

    param = next(model.parameters())
    x = torch.zeros(1, 3, h, w, device=param.device, dtype=param.dtype)
    was_training = model.training
    model.eval()
    try:
        # grad enabled on purpose: in no_grad eval mode the Transformer takes a fused fast path whose
        # kernel the counter cannot see
        with torch.enable_grad(), flop_counter.FlopCounterMode(display=False,
                                                               custom_mapping=_custom_mapping()) as counter:
            model(x)
    finally:
        model.train(was_training)
    per_module = {name: sum(c.values()) for name, c in counter.get_flop_counts().items()}
    root = type(model).__name__
    total = per_module.get("Global", 0)
    back = per_module.get(f"{root}.backbone", 0)
    ups = per_module.get(f"{root}.head.upsample", 0)
    flops = {"backbone": back, "upsampling": ups, "head": total - back - ups, "total": total}
    return {"params": params, "flops": flops, "gflops": {k: v / 2e9 for k, v in flops.items()},
            "input_size": (w, h)}


def count_like_paper(model: nn.Module, input_size) -> dict[str, float]:
    """Multiply-adds of ``model`` for one image of ``input_size`` (W, H), counted the way the pose papers'
    tables were (the model summary of the HRNet / SimpleBaseline code that SimCC builds on):

    * a convolution costs (its weight's element count) x (output pixels); so does a *transposed*
      convolution, which charges every output pixel a full kernel: stride^2 = 4 times the multiply-adds a
      stride-2 deconvolution performs (``simcc_lab.models.count_params_flops`` counts those);
    * a Linear layer costs in_features x (output elements);
    * the sum is divided by 2^30, not 10^9, and reported as "GFLOPs".

    Returns:
        dict ``conv``, ``deconv``, ``linear`` and ``total`` in those 2^30 units, and ``total_1e9`` (the
        same total in units of 10^9).
    """
    counts = {"conv": 0, "deconv": 0, "linear": 0}

    def hook(module, inputs, output):
        if isinstance(module, nn.ConvTranspose2d):
            counts["deconv"] += module.weight.numel() * output.shape[-2] * output.shape[-1]
        elif isinstance(module, nn.Conv2d):
            counts["conv"] += module.weight.numel() * output.shape[-2] * output.shape[-1]
        else:
            counts["linear"] += module.in_features * (output.numel() // output.shape[0])

    layers = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, layers)]
    was_training = model.training
    param = next(model.parameters())
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, int(input_size[1]), int(input_size[0]), device=param.device, dtype=param.dtype))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    total = sum(counts.values())
    out = {k: v / 2**30 for k, v in counts.items()}
    out.update(total=total / 2**30, total_1e9=total / 1e9)
    return out


# The paper's numbers (PAPER.md): SimBa-Res50, (params M, GFLOPs) per input (W, H) and head.
PAPER_RES50 = {
    ((64, 64), "heatmap"): (34.0, 0.7), ((128, 128), "heatmap"): (34.0, 3.0), ((192, 256), "heatmap"): (34.0, 8.9),
    ((64, 64), "simcc+deconv"): (34.1, None), ((192, 256), "simcc+deconv"): (36.8, 9.0),
}
# SimCC splitting factor per input size as in the official configs (k = 3 at 64x64, 2 otherwise)
PAPER_K = {(64, 64): 3.0, (128, 128): 2.0, (192, 256): 2.0}


def compute_table(backbones=("resnet50", "compact", "transformer"), sizes=((64, 64), (128, 128), (192, 256)),
                  num_keypoints: int = 17) -> list[dict[str, Any]]:
    """Rows (dicts) for every backbone x input size x head variant: heatmap (stride 4, default deconvs),
    SimCC with the heatmap head's deconvs ("simcc+deconv", the paper's SimBa variant) and SimCC without."""
    rows = []
    for name in backbones:
        stride = build_backbone(name).stride
        for size in sizes:
            k = PAPER_K.get(tuple(size), 2.0)
            hm_codec = HeatmapCodec(size, stride=4)
            n_up = default_deconvs("heatmap", stride, hm_codec)
            variants = (("heatmap", hm_codec, None), ("simcc+deconv", SimCCCodec(size, k=k), n_up),
                        ("simcc", SimCCCodec(size, k=k), 0))
            for head, codec, deconvs in variants:
                torch.manual_seed(0)
                model = build_model(name, codec, num_keypoints, deconvs=deconvs)
                c = count_params_flops(model, size)
                paper = PAPER_RES50.get((tuple(size), head), (None, None)) if name == "resnet50" else (None, None)
                rows.append(dict(backbone=name, input=f"{size[1]}x{size[0]}", head=head, k=k if head != "heatmap"
                                 else None, deconvs=model.head.deconvs,
                                 params_m=c["params"]["total"] / 1e6, gflops=c["gflops"]["total"],
                                 gflops_backbone=c["gflops"]["backbone"], gflops_upsampling=c["gflops"]["upsampling"],
                                 gflops_head=c["gflops"]["head"], paper_params_m=paper[0], paper_gflops=paper[1]))
    return rows


def _markdown(rows) -> str:
    def f(v, fmt):
        return "" if v is None else format(v, fmt)

    lines = ["| backbone | input (HxW) | head | k | deconvs | params (M) | paper params (M) | GMACs total | "
             "backbone | upsampling | head | paper GFLOPs |", "|" + "---|" * 12]
    for r in rows:
        lines.append(f"| {r['backbone']} | {r['input']} | {r['head']} | {f(r['k'], 'g')} | {r['deconvs']} | "
                     f"{r['params_m']:.2f} | {f(r['paper_params_m'], '.1f')} | {r['gflops']:.3f} | "
                     f"{r['gflops_backbone']:.3f} | {r['gflops_upsampling']:.3f} | {r['gflops_head']:.3f} | "
                     f"{f(r['paper_gflops'], '.1f')} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m simcc_lab.models.counting", description=__doc__.splitlines()[0])
    p.add_argument("--table", action="store_true", help="print the params/FLOPs table (Markdown)")
    p.add_argument("--backbones", default="resnet50,compact,transformer", help="comma-separated backbone names")
    args = p.parse_args(argv)
    if not args.table:
        p.print_help()
        return
    print(_markdown(compute_table(tuple(args.backbones.split(",")))))


if __name__ == "__main__":
    main()
