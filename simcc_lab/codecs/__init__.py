"""Codecs: the one place that knows a representation. ``encode`` makes training targets from input-pixel
keypoints, ``decode`` turns network outputs back into input-pixel keypoints and scores.

- :mod:`.base`: the :class:`Codec` protocol, the targets NamedTuples, the registry and :func:`build_codec`.
- :mod:`.simcc`: :class:`SimCCCodec` (k bins per pixel, 1-D labels from :mod:`.smoothing`).
- :mod:`.heatmap`: :class:`HeatmapCodec` (Gaussian heatmaps; argmax + a refinement from :mod:`.refinement`).
"""
from .base import (CODEC_CLASSES, REFINEMENTS, Codec, HeatmapTargets, SimCCTargets, build_codec, register_codec,
                   size_pair)
from .heatmap import HeatmapCodec, default_blur_kernel
from .simcc import SimCCCodec

__all__ = ["Codec", "CODEC_CLASSES", "REFINEMENTS", "SimCCCodec", "HeatmapCodec", "SimCCTargets", "HeatmapTargets",
           "build_codec", "register_codec", "size_pair", "default_blur_kernel"]
