"""Makes docs/coco_crop.png: a real COCO person, its crop boxes, a 256x192 crop, an augmented crop, a 64x64 crop.

    .venv/bin/python docs/coco_crop.py          # from the repository root; needs ../shared (or SIMCC_LAB_SHARED)
"""
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from simcc_lab.data.topdown import TopDownDataset, denormalize  # noqa: E402
from simcc_lab.files import save_figure  # noqa: E402
from simcc_lab.lessons.plots import draw_skeleton  # noqa: E402
from simcc_lab.data.transforms import AugmentConfig, affine_points, get_affine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
D = Path(os.environ.get("SIMCC_LAB_SHARED", ROOT.parent / "shared")) / "data" / "coco_val2017_sample"
ANN = D / "test_coco.json"

plain = TopDownDataset(ANN, D, (192, 256), codec=None)
aug = TopDownDataset(ANN, D, (192, 256), codec=None, train=True, seed=0,
                     augment=AugmentConfig(flip_prob=1.0, rotation_prob=1.0, half_body_prob=0.0))
small = TopDownDataset(ANN, D, (64, 64), codec=None)
i = 0
fig, axes = plt.subplots(1, 4, figsize=(15, 4.2), gridspec_kw=dict(width_ratios=[1.9, 0.75, 0.75, 1]))
axes[0].imshow(Image.open(plain.image_path(i)))
for ds, color in ((plain, "yellow"), (aug, "cyan")):  # the crop's edges mapped back into the image
    c = ds[i]["meta"]
    inv = get_affine(c["centre"], c["scale"], c["rotation"], ds.input_size, inverse=True)
    w, h = ds.input_size
    edge = np.array([[-.5, -.5], [w - .5, -.5], [w - .5, h - .5], [-.5, h - .5], [-.5, -.5]])
    corners = affine_points(edge, inv)
    axes[0].plot(corners[:, 0], corners[:, 1], color=color, lw=1.5)
draw_skeleton(axes[0], plain.records.keypoints[i, :, :2], plain.records.keypoints[i, :, 2], spec=plain.spec)
axes[0].set_title("image: crop box (yellow), augmented box (cyan)")
for ax, ds, title in ((axes[1], plain, "256x192 crop"), (axes[2], aug, "augmented: rotated + flipped"),
                      (axes[3], small, "64x64 crop")):
    s = ds[i]
    ax.imshow(denormalize(s["image"]))
    draw_skeleton(ax, s["meta"]["kpts_input"], s["meta"]["visible"], spec=ds.spec)
    ax.set_title(f"{title}\nrotation {s['meta']['rotation']:.0f} deg" if ds is aug else title)
for ax in axes:
    ax.axis("off")
print(save_figure(fig, ROOT / "docs" / "coco_crop.png"))
