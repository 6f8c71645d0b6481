"""Heads: features -> the output tuple a codec decodes.

* :class:`SimCCHead`: (optional deconvs) -> 1x1 conv to K maps -> flatten h'w' -> two Linear layers
  shared by all keypoints -> x logits (B, K, Nx), y logits (B, K, Ny).
* :class:`TokenSimCCHead`: K keypoint tokens (B, K, D) -> the same two Linear layers (TokenPose-SimCC).
* :class:`HeatmapHead`: SimpleBaseline's deconvs -> 1x1 conv -> heatmaps (B, K, h, w).

Sizes are passed in from the backbone and the codec by :func:`simcc_lab.models.build_model`; the
upsampling layers sit in ``head.upsample`` so that compute can be split into backbone / upsampling / head.
Sizes follow the project convention: ``(w, h)`` tuples.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["deconv_layers", "SimCCHead", "TokenSimCCHead", "HeatmapHead"]


def deconv_layers(in_channels: int, count: int, channels: int = 256, kernel: int = 4) -> nn.Sequential:
    """SimpleBaseline's upsampling: ``count`` x (ConvTranspose2d stride 2, BatchNorm, ReLU).

    Each layer doubles the spatial size exactly (kernel 4 / padding 1, kernel 3 / padding 1 with
    output_padding 1, or kernel 2 / padding 0). ``count=0`` gives an empty Sequential (identity).
    Shapes: (B, in_channels, h, w) -> (B, channels if count else in_channels, h * 2^count, w * 2^count).
    """
    if int(count) != count or count < 0:
        raise ValueError(f"deconvs must be an integer >= 0, got {count!r}")
    if kernel not in (2, 3, 4):
        raise ValueError(f"deconv kernel must be 2, 3 or 4, got {kernel!r}")
    padding, output_padding = {4: (1, 0), 3: (1, 1), 2: (0, 0)}[kernel]
    layers, c = [], in_channels
    for _ in range(int(count)):
        # bias=False: BatchNorm follows
        layers += [nn.ConvTranspose2d(c, channels, kernel, 2, padding, output_padding, bias=False),
                   nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
        c = channels
    return nn.Sequential(*layers)


def _check_size(name: str, size) -> tuple[int, int]:
    if len(size) != 2 or any(int(s) != s or s < 1 for s in size):
        raise ValueError(f"{name} must be a (w, h) pair of positive integers, got {size!r}")
    return int(size[0]), int(size[1])


class SimCCHead(nn.Module):
    """Feature map (B, C, h', w') -> (x logits (B, K, Nx), y logits (B, K, Ny)).

    Args:
        in_channels: C of the backbone's feature map.
        feature_size: (w', h') of the backbone's feature map (derived from the backbone, not typed).
        num_keypoints: K.
        simcc_size: (Nx, Ny) from the codec.
        deconvs: upsampling layers in front (0 = none, SimCC's default; 3 = SimBa-Res50 as in the paper).
        deconv_channels: width of those layers.

    The Linear layers see ``in_features = (w' 2^deconvs) (h' 2^deconvs)`` numbers per keypoint and are
    shared by all keypoints (each keypoint's map is one "sample").
    """

    kind = "simcc"

    def __init__(self, in_channels: int, feature_size, num_keypoints: int, simcc_size, deconvs: int = 0,
                 deconv_channels: int = 256):
        super().__init__()
        w, h = _check_size("feature_size", feature_size)
        nx, ny = _check_size("simcc_size", simcc_size)
        if num_keypoints < 1:
            raise ValueError(f"num_keypoints must be >= 1, got {num_keypoints!r}")
        self.deconvs = int(deconvs)
        self.upsample = deconv_layers(in_channels, deconvs, deconv_channels)
        self.to_keypoints = nn.Conv2d(deconv_channels if deconvs else in_channels, num_keypoints, 1)
        self.map_size = (w * 2 ** deconvs, h * 2 ** deconvs)
        self.x_fc = nn.Linear(self.map_size[0] * self.map_size[1], nx)
        self.y_fc = nn.Linear(self.map_size[0] * self.map_size[1], ny)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        maps = self.to_keypoints(self.upsample(features)).flatten(2)  # (B, K, h*w)
        return self.x_fc(maps), self.y_fc(maps)


class TokenSimCCHead(nn.Module):
    """K keypoint tokens (B, K, D) -> (x logits (B, K, Nx), y logits (B, K, Ny)), TokenPose-SimCC:
    the two Linear layers act on each token directly (no 1x1 conv, no flattening, no upsampling)."""

    kind = "simcc"

    def __init__(self, dim: int, simcc_size):
        super().__init__()
        nx, ny = _check_size("simcc_size", simcc_size)
        self.deconvs = 0
        self.upsample = nn.Sequential()  # none; present so compute splits the same way for every head
        self.x_fc, self.y_fc = nn.Linear(dim, nx), nn.Linear(dim, ny)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x_fc(tokens), self.y_fc(tokens)


class HeatmapHead(nn.Module):
    """Feature map (B, C, h', w') -> (heatmaps (B, K, h, w),): ``deconvs`` upsampling layers, 1x1 conv.

    Args:
        in_channels, feature_size (w', h'), num_keypoints: as :class:`SimCCHead`.
        heatmap_size: (w, h) from the codec; must equal feature_size * 2^deconvs, else ValueError.
        deconvs: SimpleBaseline uses 3 (stride 32 -> 4); 0 allowed.
        deconv_channels, kernel: SimpleBaseline's 256 and 4.
    """

    kind = "heatmap"

    def __init__(self, in_channels: int, feature_size, num_keypoints: int, heatmap_size, deconvs: int = 3,
                 deconv_channels: int = 256, kernel: int = 4):
        super().__init__()
        w, h = _check_size("feature_size", feature_size)
        hw, hh = _check_size("heatmap_size", heatmap_size)
        if num_keypoints < 1:
            raise ValueError(f"num_keypoints must be >= 1, got {num_keypoints!r}")
        self.deconvs = int(deconvs)
        self.upsample = deconv_layers(in_channels, deconvs, deconv_channels, kernel)
        out = (w * 2 ** deconvs, h * 2 ** deconvs)
        if out != (hw, hh):
            hint = next((f"; use deconvs={n}" for n in range(8) if (w * 2 ** n, h * 2 ** n) == (hw, hh)), "")
            raise ValueError(f"a {w}x{h} feature map with deconvs={deconvs} gives {out[0]}x{out[1]} heatmaps but "
                             f"the codec wants heatmap_size {hw}x{hh} (w x h){hint}")
        self.final = nn.Conv2d(deconv_channels if deconvs else in_channels, num_keypoints, 1)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor]:
        return (self.final(self.upsample(features)),)
