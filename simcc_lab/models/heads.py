"""Heads: SimCC (1x1 conv, flatten, two shared Linear layers) and SimpleBaseline heatmaps (deconvs + 1x1)."""
from __future__ import annotations

from torch import nn


def deconv_layers(cin: int, count: int, channels: int = 256) -> tuple[nn.Sequential, int]:
    """SimpleBaseline's upsampling: ``count`` x (ConvTranspose 4x4 stride 2, BN, ReLU); returns (layers, out ch)."""
    layers = []
    for _ in range(count):
        layers += [nn.ConvTranspose2d(cin, channels, 4, 2, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
        cin = channels
    return nn.Sequential(*layers), cin


class SimCCHead(nn.Module):
    """Features (B, C, h', w') -> x logits (B, K, Nx), y logits (B, K, Ny).

    Optional deconvs in front (the upsampling ablation) double h', w' each. The Linear layers are shared by
    all keypoints: each keypoint's map is flattened to h'*w' features.
    """

    def __init__(self, in_channels: int, feature_hw: tuple[int, int], num_keypoints: int, simcc_size: tuple[int, int],
                 deconvs: int = 0):
        super().__init__()
        self.upsample, c = deconv_layers(in_channels, deconvs)
        self.to_keypoints = nn.Conv2d(c, num_keypoints, 1)
        h, w = feature_hw[0] * 2**deconvs, feature_hw[1] * 2**deconvs
        self.x_fc = nn.Linear(h * w, simcc_size[0])
        self.y_fc = nn.Linear(h * w, simcc_size[1])

    def forward(self, f):
        m = self.to_keypoints(self.upsample(f)).flatten(2)  # (B, K, h*w)
        return self.x_fc(m), self.y_fc(m)


class HeatmapHead(nn.Module):
    """Features (B, C, h', w') -> heatmaps (B, K, h, w): ``deconvs`` upsampling layers, then a 1x1 conv."""

    def __init__(self, in_channels: int, num_keypoints: int, deconvs: int = 3):
        super().__init__()
        self.upsample, c = deconv_layers(in_channels, deconvs)
        self.final = nn.Conv2d(c, num_keypoints, 1)

    def forward(self, f):
        return (self.final(self.upsample(f)),)
