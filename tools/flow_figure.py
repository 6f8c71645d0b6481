"""Draw simcc_lab's data flow as a figure for docs/architecture.md:
keypoints -> codec -> model -> loss -> decode -> COCOeval, each step under the module that does it.

    python tools/flow_figure.py [docs/architecture_flow.png]
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

# (x, y) centre, text, the package folder that does it, colour
STEPS = {
    "file": ((1.3, 3.0), "COCO-format file\nimage + person box\n+ keypoints (image px)", "data/coco.py", "#eeeeee"),
    "crop": ((4.1, 3.0), "affine crop (+ augmentation)\nimage crop (3, H, W)\nkeypoints (K, 2) input px",
             "data/topdown.py, transforms.py", "#fde8d0"),
    "encode": ((7.1, 4.4), "codec.encode\ntargets + weights (K,)", "codecs/", "#dbe9f6"),
    "model": ((7.1, 1.6), "model = backbone -> head\noutputs: x/y logits | heatmaps", "models/", "#e8def8"),
    "loss": ((10.2, 4.4), "loss(outputs, targets, weights)\nKL | MSE -> backward", "training/losses.py, engine.py",
             "#e3f4e3"),
    "decode": ((10.2, 1.6), "(flip test) codec.decode\nkeypoints input px + scores", "training/inference.py, codecs/",
               "#dbe9f6"),
    "coco": ((13.3, 1.6), "inverse affine -> image px\nresults JSON -> COCOeval\nAP / AR, pixel errors",
             "evaluation/cocoeval.py", "#fff3c4"),
}
ARROWS = [("file", "crop"), ("crop", "encode"), ("crop", "model"), ("encode", "loss"), ("model", "loss"),
          ("model", "decode"), ("decode", "coco")]
W, H = 2.45, 1.1


def flow_figure() -> Figure:
    """The data-flow figure (a matplotlib Figure, no pyplot)."""
    fig = Figure(figsize=(13, 4.6))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(-0.2, 14.9), ylim=(0.2, 5.9))
    ax.set_axis_off()
    for (x, y), text, where, color in STEPS.values():
        ax.add_patch(FancyBboxPatch((x - W / 2, y - H / 2), W, H, boxstyle="round,pad=0.06", fc=color, ec="0.3",
                                    lw=1.1))
        ax.text(x, y + 0.1, text, ha="center", va="center", fontsize=9)
        ax.text(x, y - H / 2 - 0.12, where, ha="center", va="top", fontsize=8, family="monospace", color="0.25")
    for a, b in ARROWS:
        (xa, ya), (xb, yb) = STEPS[a][0], STEPS[b][0]
        if ya == yb:
            start, end = (xa + W / 2, ya), (xb - W / 2, yb)
        elif xa == xb:
            start, end = (xa, ya + (H / 2 if yb > ya else -H / 2)), (xb, yb - (H / 2 if yb > ya else -H / 2))
        else:
            start, end = (xa + W / 2, ya), (xb - W / 2, yb)
        ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color="k", lw=1.2, shrinkA=1,
                                                              shrinkB=1))
    ax.text(0.0, 5.75, "simcc_lab: one data flow, one folder per stage (training: top row; evaluation: bottom row)",
            fontsize=11, va="top")
    ax.text(0.0, 5.3, "the codec is the only object that knows a representation: encode makes targets, decode "
            "turns outputs back into coordinates", fontsize=9, va="top", color="0.3")
    return fig


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "docs" / "architecture_flow.png"
    flow_figure().savefig(out, dpi=110)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
