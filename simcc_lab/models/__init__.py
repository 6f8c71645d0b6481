"""Pose models: backbones (compact CNN, torchvision ResNet, small Transformer) with SimCC or heatmap heads.

``build_model(backbone, codec, num_keypoints)`` is the entry point; ``count_params_flops`` (in
``simcc_lab.models.counting``, also ``python -m simcc_lab.models.counting --table``) measures one.
"""
from .backbones import BACKBONES, CompactCNN, ResNetBackbone, TransformerBackbone, build_backbone, pretrained_path
from .heads import HeatmapHead, SimCCHead, TokenSimCCHead, deconv_layers
from .pose import PoseModel, build_model, default_deconvs

__all__ = ["BACKBONES", "CompactCNN", "ResNetBackbone", "TransformerBackbone", "build_backbone", "pretrained_path",
           "HeatmapHead", "SimCCHead", "TokenSimCCHead", "deconv_layers", "PoseModel", "build_model",
           "default_deconvs", "count_params_flops"]


def __getattr__(name):
    # imported on first use, so that `python -m simcc_lab.models.counting` does not import the module twice
    if name == "count_params_flops":
        from .counting import count_params_flops

        return count_params_flops
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
