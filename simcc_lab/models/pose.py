"""PoseModel = backbone + head, built from a codec so that every size is derived, never typed."""
from __future__ import annotations

import math

import torch
from torch import nn

from .backbones import build_backbone
from .heads import HeatmapHead, SimCCHead


class PoseModel(nn.Module):
    """images (B, 3, H, W) -> output tuple: SimCC ``(x (B,K,Nx), y (B,K,Ny))`` or heatmap ``(heatmaps,)``."""

    def __init__(self, backbone: nn.Module, head: nn.Module, kind: str):
        super().__init__()
        self.backbone, self.head, self.kind = backbone, head, kind

    def forward(self, images):
        out = self.head(self.backbone(images))
        return out if isinstance(out, tuple) else tuple(out)


def build_model(backbone: str = "compact", codec=None, num_keypoints: int = 17, deconvs: int | None = None,
                pretrained: bool = False, **backbone_kwargs) -> PoseModel:
    """A pose model for ``codec`` (its ``kind`` picks the head, its sizes set the output sizes).

    Args:
        backbone: "compact", "resnet18", "resnet50" or "transformer".
        deconvs: upsampling layers in the head; default 0 for SimCC, and for heatmaps as many as take
            the backbone's stride to the codec's stride (3 for a stride-32 ResNet at stride 4).
    """
    if codec is None:
        raise ValueError("codec is required: the head's output sizes come from it")
    w, h = codec.input_size
    bb = build_backbone(backbone, input_size=(w, h), pretrained=pretrained, **backbone_kwargs)
    if w % bb.stride or h % bb.stride:
        raise ValueError(f"input_size {codec.input_size} must be divisible by the backbone stride {bb.stride}")
    feature_hw = (h // bb.stride, w // bb.stride)
    if codec.kind == "simcc":
        head = SimCCHead(bb.out_channels, feature_hw, num_keypoints, codec.simcc_size, deconvs or 0)
    elif codec.kind == "heatmap":
        ratio = bb.stride / codec.stride
        default = int(round(math.log2(ratio))) if ratio >= 1 else -1
        n = default if deconvs is None else deconvs
        out_hw = (feature_hw[0] * 2**max(n, 0), feature_hw[1] * 2**max(n, 0))
        if n < 0 or out_hw != (codec.heatmap_size[1], codec.heatmap_size[0]):
            raise ValueError(f"a stride-{bb.stride} backbone with deconvs={n} gives {out_hw[1]}x{out_hw[0]} heatmaps, "
                             f"but the codec wants {codec.heatmap_size[0]}x{codec.heatmap_size[1]} (w x h); "
                             f"use deconvs={default}" if default >= 0 else "")
        head = HeatmapHead(bb.out_channels, num_keypoints, n)
    else:
        raise ValueError(f"unknown codec kind {codec.kind!r}")
    return PoseModel(bb, head, codec.kind)


def count_params_flops(model: PoseModel, input_size=None) -> dict:
    """Parameters and FLOPs of ``model`` split into backbone, upsampling (deconvs) and head (the rest).

    FLOPs are counted by ``torch.utils.flop_counter`` for one image; ``gflops`` reports multiply-adds
    (FLOPs / 2), the convention of the paper's tables (SimBa-Res50 256x192: 8.9). Returns
    ``{"params": {part: n}, "gflops": {part: g}}`` with a "total" in each.
    """
    from torch.utils.flop_counter import FlopCounterMode

    if input_size is None:
        raise ValueError("input_size (W, H) is required")
    w, h = input_size
    up = model.head.upsample
    parts = {"backbone": model.backbone, "upsampling": up}
    params = {k: sum(p.numel() for p in m.parameters()) for k, m in parts.items()}
    params["head"] = sum(p.numel() for p in model.head.parameters()) - params["upsampling"]
    params["total"] = sum(params[k] for k in ("backbone", "upsampling", "head"))
    was_training = model.training
    model.eval()
    x = torch.zeros(1, 3, h, w, device=next(model.parameters()).device)
    with torch.no_grad():
        with FlopCounterMode(display=False) as fc:
            f = model.backbone(x)
        back = fc.get_total_flops()
        with FlopCounterMode(display=False) as fc:
            u = up(f)
        ups = fc.get_total_flops()
        with FlopCounterMode(display=False) as fc:
            model(x)
        total = fc.get_total_flops()
        del u
    model.train(was_training)
    macs = {"backbone": back / 2, "upsampling": ups / 2, "head": (total - back - ups) / 2, "total": total / 2}
    return {"params": params, "gflops": {k: v / 1e9 for k, v in macs.items()}}
