"""Pure matplotlib figures. Every function returns a Figure (or draws on a given Axes) and shows nothing.

Widgets (widgets.py) and lessons call these; nothing here keeps state.
"""
from __future__ import annotations

import numpy as np

from .keypoints import COCO17, SkeletonSpec


def draw_skeleton(ax, keypoints, visible=None, spec: SkeletonSpec = COCO17, color="lime", size=12, lw=1.5):
    """Draw one or more people on ``ax``.

    Args:
        keypoints: (K, 2) or (N, K, 2) in the axes' pixel coordinates.
        visible: (K,) or (N, K) COCO visibility; keypoints with v <= 0 are not drawn, v == 1 (labelled,
            hidden) are drawn hollow.
    """
    kpts = np.asarray(keypoints, dtype=float).reshape(-1, spec.num_keypoints, 2)
    vis = np.full(kpts.shape[:2], 2.0) if visible is None else np.asarray(visible, dtype=float).reshape(kpts.shape[:2])
    for person, v in zip(kpts, vis):
        for a, b in spec.limbs:
            if v[a] > 0 and v[b] > 0:
                ax.plot(person[[a, b], 0], person[[a, b], 1], color=color, lw=lw, alpha=0.9)
        shown = v > 1
        hidden = (v > 0) & ~shown
        ax.scatter(person[shown, 0], person[shown, 1], s=size, c=color, edgecolors="k", linewidths=0.5, zorder=3)
        ax.scatter(person[hidden, 0], person[hidden, 1], s=size, facecolors="none", edgecolors=color, zorder=3)
    return ax
