"""Backbones: a compact CNN for CPUs, torchvision ResNets, and a small TokenPose-style Transformer.

Every backbone maps images (B, 3, H, W) to features (B, C, H / stride, W / stride) and exposes
``out_channels`` and ``stride``, so heads derive their sizes instead of having them typed in.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn


def _conv_bn(cin: int, cout: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, groups=groups, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convs) with a projection shortcut when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                                  nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.short = (nn.Identity() if stride == 1 and cin == cout else
                      nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x):
        return torch.relu(self.body(x) + self.short(x))


class CompactCNN(nn.Module):
    """A small residual CNN (about 1.2M parameters at the default widths).

    Output stride 8 by default: at 64x64 inputs a stride-32 map would be 2x2, which leaves a SimCC head
    only 4 features per keypoint and makes CPU training slow to converge; 8x8 trains in minutes. Use
    ``stride=32`` for the paper's SimpleBaseline layout (then a heatmap head needs 3 deconvs).
    """

    def __init__(self, widths=(32, 64, 128, 256), stride: int = 8):
        super().__init__()
        if stride not in (4, 8, 16, 32):
            raise ValueError(f"stride must be 4, 8, 16 or 32, got {stride!r}")
        stages = int(math.log2(stride)) - 1  # the stem halves once, each stage halves once more
        self.stem = _conv_bn(3, widths[0], 2)
        layers, cin = [], widths[0]
        for i in range(stages):
            cout = widths[min(i + 1, len(widths) - 1)]
            layers += [BasicBlock(cin, cout, 2), BasicBlock(cout, cout)]
            cin = cout
        self.body = nn.Sequential(*layers)
        self.out_channels, self.stride = cin, stride

    def forward(self, x):
        return self.body(self.stem(x))


class ResNetBackbone(nn.Module):
    """torchvision ResNet-18/50 without the classifier: stride 32.

    ``pretrained=True`` loads torchvision's ImageNet weights from the local torch hub cache only; nothing
    is downloaded. A missing file is a FileNotFoundError naming the expected path.
    """

    def __init__(self, depth: int = 50, pretrained: bool = False):
        super().__init__()
        import torchvision

        if depth not in (18, 50):
            raise ValueError(f"depth must be 18 or 50, got {depth!r}")
        enum = torchvision.models.ResNet18_Weights if depth == 18 else torchvision.models.ResNet50_Weights
        net = getattr(torchvision.models, f"resnet{depth}")(weights=None)
        if pretrained:
            url = enum.IMAGENET1K_V1.url
            path = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
            if not path.is_file():
                raise FileNotFoundError(f"ImageNet weights for resnet{depth} are not in the local torch cache: expected "
                                        f"{path} (copy it there from a machine with internet; simcc_lab never downloads)")
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.body = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3,
                                  net.layer4)
        self.out_channels, self.stride = (512 if depth == 18 else 2048), 32

    def forward(self, x):
        return self.body(x)


class TransformerBackbone(nn.Module):
    """TokenPose-style: a small conv stem, patch embedding, learned position embeddings, a Transformer
    encoder; tokens are reshaped back to a feature map (B, dim, H / stride, W / stride)."""

    def __init__(self, dim: int = 128, depth: int = 4, heads: int = 4, patch: int = 4, stride: int = 8,
                 input_size=(64, 64)):
        super().__init__()
        if stride % patch or stride // patch not in (1, 2, 4):
            raise ValueError(f"stride must be patch * (1, 2 or 4), got stride={stride}, patch={patch}")
        w, h = input_size
        if w % stride or h % stride:
            raise ValueError(f"input_size {input_size} must be divisible by stride {stride}")
        stem_down = stride // patch
        stem = [_conv_bn(3, 32, 1)] + [_conv_bn(32, 32, 2) for _ in range(int(math.log2(stem_down)))]
        self.stem = nn.Sequential(*stem)
        self.embed = nn.Conv2d(32, dim, patch, patch)
        self.grid = (h // stride, w // stride)
        self.pos = nn.Parameter(torch.zeros(1, self.grid[0] * self.grid[1], dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim * 2, dropout=0.0, batch_first=True, norm_first=True,
                                           activation="gelu")
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.out_channels, self.stride = dim, stride

    def forward(self, x):
        f = self.embed(self.stem(x))  # (B, dim, h, w)
        b, c, h, w = f.shape
        if (h, w) != self.grid:
            raise ValueError(f"the Transformer was built for a {self.grid} token grid, got {(h, w)}")
        t = self.norm(self.encoder(f.flatten(2).transpose(1, 2) + self.pos))
        return t.transpose(1, 2).reshape(b, c, h, w)


def build_backbone(name: str, input_size=(64, 64), pretrained: bool = False, **kwargs) -> nn.Module:
    """A backbone by name: "compact", "resnet18", "resnet50" or "transformer"."""
    if name == "compact":
        return CompactCNN(**kwargs)
    if name in ("resnet18", "resnet50"):
        return ResNetBackbone(int(name[6:]), pretrained=pretrained)
    if name == "transformer":
        return TransformerBackbone(input_size=input_size, **kwargs)
    raise ValueError(f"backbone must be 'compact', 'resnet18', 'resnet50' or 'transformer', got {name!r}")
