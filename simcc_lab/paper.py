"""The paper's published numbers, as data (source: ../shared/PAPER.md; tests/test_paper.py checks the copy).

Plain data, importing nothing: the reproduction (``simcc_lab.reproduce``) and the lessons both read it.

These are the *targets for the trend*; our own numbers always come from runs. AP on COCO val2017 with
detector boxes (AP 56.4) and flip test, from the official SimCC README.
"""
from __future__ import annotations

# backbone -> input (paper's H x W) -> (heatmap + post-processing, heatmap without post-processing, SimCC)
RESOLUTION_AP: dict[str, dict[str, tuple[float, float, float]]] = {
    "SimBa-Res50": {"64x64": (34.4, 25.8, 40.8), "128x128": (60.3, 55.4, 62.6), "256x192": (70.4, 68.5, 71.4)},
    "TokenPose-S": {"64x64": (57.1, 35.9, 62.8), "128x128": (65.4, 57.6, 71.4), "256x192": (72.5, 69.9, 73.6)},
    "HRNet-W32": {"64x64": (45.8, 34.6, 56.4), "128x128": (67.2, 61.9, 70.7), "256x192": (74.4, 72.3, 75.3)},
    "HRNet-W48": {"64x64": (48.5, 36.9, 59.7), "128x128": (68.9, 63.3, 72.0), "256x192": (75.1, 73.1, 75.9)},
}

# CrowdPose, HRNet-W32: input -> (heatmap AP, SimCC AP)
CROWDPOSE_AP: dict[str, tuple[float, float]] = {"64x64": (42.4, 46.5), "256x192": (66.4, 66.7)}

# SimBa-Res50 compute: input -> (heatmap GFLOPs, SimCC GFLOPs) and params (M)
RES50_GFLOPS: dict[str, tuple[float | None, float | None]] = {"64x64": (0.7, None), "128x128": (3.0, None),
                                                              "256x192": (8.9, 9.0)}
RES50_PARAMS_M: dict[str, tuple[float, float]] = {"64x64": (34.0, 34.1), "256x192": (34.0, 36.8)}
