"""PoseModel = backbone + head, built from a codec so that every size is derived, never typed."""
from __future__ import annotations

import math

import torch
from torch import nn

from .backbones import BACKBONES, build_backbone
from .heads import HeatmapHead, SimCCHead, TokenSimCCHead

__all__ = ["PoseModel", "build_model", "default_deconvs"]


class PoseModel(nn.Module):
    """images (B, 3, H, W) -> output tuple in the codec's order:
    SimCC ``(x_logits (B, K, Nx), y_logits (B, K, Ny))``, heatmap ``(heatmaps (B, K, h, w),)``.

    ``kind`` ("simcc" | "heatmap") defaults to the head's ``kind``.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, kind: str | None = None):
        super().__init__()
        self.backbone, self.head = backbone, head
        self.kind = kind or getattr(head, "kind", None)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.head(self.backbone(images))
        return out if isinstance(out, tuple) else tuple(out)


def default_deconvs(kind: str, backbone_stride: int, codec) -> int:
    """0 for SimCC; for heatmaps the number of x2 upsamplings from the backbone's stride to the codec's
    (3 for a stride-32 ResNet at heatmap stride 4, as SimpleBaseline). ValueError if no integer works."""
    if kind == "simcc":
        return 0
    ratio = backbone_stride / codec.stride
    n = math.log2(ratio) if ratio >= 1 else -1.0
    if n < 0 or n != int(n):
        raise ValueError(f"a stride-{backbone_stride} backbone cannot reach heatmap stride {codec.stride} with "
                         f"x2 deconvolutions; choose another codec stride or backbone stride")
    return int(n)


def _feature_shape(backbone: nn.Module, input_size) -> tuple[int, ...]:
    """The backbone's output shape without the batch axis, from a dummy forward of one zero image."""
    w, h = input_size
    param = next(backbone.parameters())
    was_training = backbone.training
    backbone.eval()  # BatchNorm in train mode refuses a 1x1 map of batch 1
    try:
        with torch.no_grad():
            out = backbone(torch.zeros(1, 3, h, w, device=param.device, dtype=param.dtype))
    finally:
        backbone.train(was_training)
    return tuple(out.shape[1:])


def build_model(backbone: str = "compact", codec=None, num_keypoints: int = 17, deconvs: int | None = None,
                pretrained: bool = False, keypoint_tokens: bool | None = None, deconv_channels: int = 256,
                **backbone_kwargs) -> PoseModel:
    """A pose model for ``codec``: its ``kind`` picks the head, its sizes set every output size.

    Args:
        backbone: "compact", "resnet18", "resnet50" or "transformer".
        codec: a SimCCCodec (``kind`` "simcc", ``simcc_size``, ``input_size``) or a HeatmapCodec (``kind``
            "heatmap", ``heatmap_size``, ``stride``, ``input_size``); anything with those attributes works.
        num_keypoints: K.
        deconvs: upsampling layers in the head; None = 0 for SimCC and, for heatmaps, as many as take the
            backbone's stride to the codec's stride (3 for a stride-32 ResNet at stride 4, 1 for the
            stride-8 compact CNN).
        pretrained: ImageNet weights for the ResNets, from the local torch hub cache only.
        keypoint_tokens: transformer only; K keypoint tokens fed straight to the SimCC Linear layers
            (TokenPose-SimCC). None = on for SimCC without deconvs, off otherwise (then the transformer
            gives a feature map to the generic heads).
        **backbone_kwargs: passed to the backbone (e.g. ``stride=16`` for the compact CNN).
    """
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, got {backbone!r}")
    if codec is None or getattr(codec, "kind", None) not in ("simcc", "heatmap"):
        raise ValueError(f"codec must be a SimCC or heatmap codec (kind 'simcc' or 'heatmap'), got {codec!r}")
    if int(num_keypoints) != num_keypoints or num_keypoints < 1:
        raise ValueError(f"num_keypoints must be a positive integer, got {num_keypoints!r}")
    kind, (w, h) = codec.kind, codec.input_size
    if keypoint_tokens is None:
        keypoint_tokens = backbone == "transformer" and kind == "simcc" and not deconvs
    if keypoint_tokens and (backbone != "transformer" or kind != "simcc" or deconvs):
        raise ValueError("keypoint_tokens=True needs backbone='transformer', a SimCC codec and deconvs=0")
    bb = build_backbone(backbone, pretrained=pretrained, num_keypoints=num_keypoints,
                        keypoint_tokens=keypoint_tokens, **backbone_kwargs)
    if w % bb.stride or h % bb.stride:
        raise ValueError(f"input_size {codec.input_size} (W, H) must be divisible by the {backbone} backbone's "
                         f"stride {bb.stride}")
    shape = _feature_shape(bb, (w, h))
    if keypoint_tokens:
        head = TokenSimCCHead(shape[-1], codec.simcc_size)
        return PoseModel(bb, head, kind)
    channels, feature_size = shape[0], (shape[2], shape[1])  # (C, h', w') -> C, (w', h')
    n = default_deconvs(kind, bb.stride, codec) if deconvs is None else deconvs
    if kind == "simcc":
        head = SimCCHead(channels, feature_size, num_keypoints, codec.simcc_size, n, deconv_channels)
    else:
        head = HeatmapHead(channels, feature_size, num_keypoints, codec.heatmap_size, n, deconv_channels)
    return PoseModel(bb, head, kind)
