"""Pose models: backbones (compact CNN, ResNet, Transformer) with SimCC or heatmap heads."""
from .backbones import CompactCNN, ResNetBackbone, TransformerBackbone, build_backbone
from .heads import HeatmapHead, SimCCHead
from .pose import PoseModel, build_model, count_params_flops

__all__ = ["CompactCNN", "ResNetBackbone", "TransformerBackbone", "build_backbone", "HeatmapHead", "SimCCHead",
           "PoseModel", "build_model", "count_params_flops"]
