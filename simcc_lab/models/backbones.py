"""Backbones: images (B, 3, H, W) -> features.

Every backbone has ``out_channels`` (C), ``stride`` (input pixels per feature pixel) and ``output``:

* ``"map"``: forward returns a feature map (B, C, H / stride, W / stride);
* ``"tokens"``: forward returns K keypoint tokens (B, K, C) (the Transformer with keypoint tokens,
  TokenPose style), which only the token SimCC head consumes.

Three families, so that the paper's "CNN or Transformer" both run:

* :class:`CompactCNN`: a small residual CNN (0.9-3.2 M parameters) that trains on CPU in minutes.
* :class:`ResNetBackbone`: torchvision ResNet-18/50 without the classifier (SimpleBaseline's backbone).
* :class:`TransformerBackbone`: conv stem + patch embedding + Transformer encoder (TokenPose spirit).
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

__all__ = ["CompactCNN", "ResNetBackbone", "TransformerBackbone", "build_backbone", "pretrained_path",
           "BACKBONES"]

BACKBONES = ("compact", "resnet18", "resnet50", "transformer")


def _conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    # bias=False: the BatchNorm right after has its own shift
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class _BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convs with an identity (or 1x1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = _conv_bn_relu(c_in, c_out, stride)
        self.conv2 = nn.Sequential(nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out))
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


class CompactCNN(nn.Module):
    """A small residual CNN with a configurable output stride (8, 16 or 32).

    Layout: a stride-2 stem (two 3x3 convs, ``stem_channels``), then one residual stage per further factor
    2, widths (64, 128, 192, 256) at strides (4, 8, 16, 32) with (1, 3, 2, 1) basic blocks.

    Why stride 8 by default: SimCC's linear layers see one keypoint map of H'W' values. At 64x64 a
    stride-32 network leaves 2x2 = 4 numbers per keypoint from which to classify 128 bins; stride 8
    gives 8x8 = 64, and the receptive field (75 px) still covers a 64x64 crop. The extra resolution is
    cheap because it is bought by dropping the widest stages, so the model stays small (~0.9 M
    parameters, ~0.08 GMACs at 64x64) and a heatmap head needs 1 deconvolution instead of 3 to reach
    stride 4. On short SynthPose runs at 64x64 stride 8 beat 16 and 32 (docs/compute.md). ``stride=32``
    mirrors the ResNet layout (SimpleBaseline's 3 deconvolutions).

    Shapes: (B, 3, H, W) -> (B, out_channels, H / stride, W / stride); H and W divisible by ``stride``.
    """

    output = "map"
    WIDTHS = (64, 128, 192, 256)
    BLOCKS = (1, 3, 2, 1)

    def __init__(self, stride: int = 8, stem_channels: int = 32):
        super().__init__()
        if stride not in (8, 16, 32):
            raise ValueError(f"stride must be 8, 16 or 32, got {stride!r}")
        if int(stem_channels) != stem_channels or stem_channels < 1:
            raise ValueError(f"stem_channels must be a positive integer, got {stem_channels!r}")
        self.stride = stride
        self.stem = nn.Sequential(_conv_bn_relu(3, stem_channels, 2), _conv_bn_relu(stem_channels, stem_channels))
        stages, c = [], stem_channels
        for width, blocks in list(zip(self.WIDTHS, self.BLOCKS))[: int(math.log2(stride)) - 1]:
            # the first block of a stage halves the resolution, the others refine at that resolution
            stages += [_BasicBlock(c, width, 2)] + [_BasicBlock(width, width) for _ in range(blocks - 1)]
            c = width
        self.stages = nn.Sequential(*stages)
        self.out_channels = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))


def pretrained_path(arch: str) -> Path:
    """Where torchvision's ImageNet checkpoint for ``arch`` ("resnet18" | "resnet50") must be: the torch
    hub cache, ``torch.hub.get_dir()/checkpoints/<file name of the weights' URL>``."""
    from torchvision.models import ResNet18_Weights, ResNet50_Weights

    weights = {"resnet18": ResNet18_Weights.IMAGENET1K_V1, "resnet50": ResNet50_Weights.IMAGENET1K_V1}
    if arch not in weights:
        raise ValueError(f"arch must be 'resnet18' or 'resnet50', got {arch!r}")
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights[arch].url).name


class ResNetBackbone(nn.Module):
    """torchvision ResNet-18/50 up to layer4 (stride 32), no pooling or classifier.

    Parameter names are torchvision's (``conv1``, ``layer1`` ...), so its checkpoints load directly.
    ``pretrained=True`` loads the ImageNet weights from the local torch hub cache only (never downloads);
    a missing file raises FileNotFoundError naming the expected path.

    Shapes: (B, 3, H, W) -> (B, 512 | 2048, H / 32, W / 32).
    """

    output = "map"
    stride = 32

    def __init__(self, arch: str = "resnet50", pretrained: bool = False):
        super().__init__()
        import torchvision

        if arch not in ("resnet18", "resnet50"):
            raise ValueError(f"arch must be 'resnet18' or 'resnet50', got {arch!r}")
        net = getattr(torchvision.models, arch)(weights=None)
        if pretrained:
            path = pretrained_path(arch)
            if not path.is_file():
                raise FileNotFoundError(
                    f"pretrained=True needs torchvision's ImageNet weights for {arch} at {path} (nothing is "
                    f"downloaded); copy the file there or use pretrained=False")
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        self.out_channels = net.fc.in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def sine_position_2d(h: int, w: int, dim: int, device=None) -> torch.Tensor:
    """Fixed 2-D sine/cosine position embedding (h * w, dim): the first half encodes y, the second x.

    Fixed rather than learned so that one model runs at any input size (no table to resize).
    """
    if dim % 4:
        raise ValueError(f"dim must be divisible by 4 for a 2-D sine embedding, got {dim}")
    quarter = dim // 4
    freq = 1.0 / (10000 ** (torch.arange(quarter, device=device, dtype=torch.float32) / quarter))
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=torch.float32),
                            torch.arange(w, device=device, dtype=torch.float32), indexing="ij")
    ay, ax = ys.reshape(-1, 1) * freq, xs.reshape(-1, 1) * freq
    return torch.cat([ay.sin(), ay.cos(), ax.sin(), ax.cos()], dim=1)


class TransformerBackbone(nn.Module):
    """A small TokenPose-style Transformer.

    conv stem (3x3 convs, log2(stride / patch) of them with stride 2) -> patch embedding (a ``patch`` x
    ``patch`` conv with stride ``patch``; the token grid has stride ``stride``) -> + fixed 2-D sine
    positions -> pre-norm Transformer encoder -> LayerNorm.

    With ``num_keypoint_tokens=K`` (> 0), K learned keypoint tokens are prepended (TokenPose) and the
    output is those K tokens after the encoder, (B, K, dim): TokenPose-SimCC feeds them straight to the
    two linear layers. With 0 the output is the visual tokens as a map (B, dim, H / stride, W / stride)
    for the generic heads.

    Defaults (dim 128, depth 4, stride 8: 64 tokens at 64x64) give about 0.6 M parameters; TokenPose-S
    is dim 192, depth 12 on a stride-4 stem with 4x3 patches.
    """

    def __init__(self, dim: int = 128, depth: int = 4, heads: int = 4, mlp_ratio: float = 2.0, patch: int = 4,
                 stride: int = 8, num_keypoint_tokens: int = 0, stem_channels: int = 64):
        super().__init__()
        for name, v in (("dim", dim), ("depth", depth), ("heads", heads), ("patch", patch), ("stride", stride),
                        ("stem_channels", stem_channels)):
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if stride % patch or (stride // patch) & (stride // patch - 1):
            raise ValueError(f"stride must be patch * a power of 2, got stride={stride}, patch={patch}")
        if dim % heads or dim % 4:
            raise ValueError(f"dim must be divisible by heads ({heads}) and by 4, got {dim}")
        if num_keypoint_tokens < 0:
            raise ValueError(f"num_keypoint_tokens must be >= 0, got {num_keypoint_tokens!r}")
        if mlp_ratio <= 0:
            raise ValueError(f"mlp_ratio must be > 0, got {mlp_ratio!r}")
        self.stride, self.out_channels, self.num_keypoint_tokens = stride, dim, num_keypoint_tokens
        self.output = "tokens" if num_keypoint_tokens else "map"
        downs = int(math.log2(stride // patch))
        stem = [_conv_bn_relu(3 if i == 0 else stem_channels, stem_channels, 2) for i in range(downs)]
        self.stem = nn.Sequential(*stem) if stem else _conv_bn_relu(3, stem_channels)
        self.patch_embed = nn.Conv2d(stem_channels, dim, patch, patch)
        if num_keypoint_tokens:
            self.keypoint_tokens = nn.Parameter(torch.zeros(1, num_keypoint_tokens, dim))
            nn.init.trunc_normal_(self.keypoint_tokens, std=0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, int(dim * mlp_ratio), dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        # nested tensors only help with padding masks, which never occur here
        self.encoder = nn.TransformerEncoder(layer, depth, norm=nn.LayerNorm(dim), enable_nested_tensor=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.patch_embed(self.stem(x))  # (B, dim, h, w)
        b, d, h, w = f.shape
        tokens = f.flatten(2).transpose(1, 2) + sine_position_2d(h, w, d, f.device).to(f.dtype)  # (B, hw, dim)
        k = self.num_keypoint_tokens
        if k:
            tokens = torch.cat([self.keypoint_tokens.expand(b, -1, -1).to(tokens.dtype), tokens], dim=1)
        tokens = self.encoder(tokens)
        if k:
            return tokens[:, :k]
        return tokens.transpose(1, 2).reshape(b, d, h, w)


def build_backbone(name: str = "compact", pretrained: bool = False, num_keypoints: int = 17,
                   keypoint_tokens: bool = False, **kwargs) -> nn.Module:
    """A backbone by name (one of :data:`BACKBONES`); ``kwargs`` go to its constructor.

    ``keypoint_tokens`` (transformer only) adds ``num_keypoints`` keypoint tokens (token output).
    ``pretrained`` applies to the ResNets only.
    """
    if name not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, got {name!r}")
    if pretrained and not name.startswith("resnet"):
        raise ValueError(f"pretrained=True is only available for resnet18/resnet50, not {name!r}")
    if name == "compact":
        return CompactCNN(**kwargs)
    if name == "transformer":
        return TransformerBackbone(num_keypoint_tokens=num_keypoints if keypoint_tokens else 0, **kwargs)
    return ResNetBackbone(name, pretrained=pretrained, **kwargs)
