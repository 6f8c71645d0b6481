"""The paper's published numbers, as data (source: ../shared/PAPER.md; tests/test_paper.py checks the copy).

These are the *targets for the trend*; our own numbers always come from runs. AP on COCO val2017 with
detector boxes (AP 56.4) and flip test, from the official SimCC README.
"""
from __future__ import annotations

from torch import nn

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

# Ablations whose exact values could not be checked against the paper: only the qualitative claim.
QUALITATIVE = {
    "k": "larger k lowers quantisation error but is harder to train; the authors chose k=3 at 64x64 and k=2 at 256x192",
    "smoothing": "Gaussian / Laplace smoothing > equal > none",
    "upsampling": "removing the deconv upsampling leaves SimCC's AP almost unchanged while saving much compute",
    "backbone": "SimCC helps both CNN (SimBa, HRNet) and Transformer (TokenPose) backbones, most at low resolution",
}


def resolution_gains() -> dict[str, dict[str, float]]:
    """Per input size, the mean over backbones of: SimCC - heatmap(no post), SimCC - heatmap(post),
    and heatmap(post) - heatmap(no post), in AP points."""
    sizes = ("64x64", "128x128", "256x192")
    out = {}
    for s in sizes:
        rows = [RESOLUTION_AP[b][s] for b in RESOLUTION_AP]
        n = len(rows)
        out[s] = {
            "simcc_minus_hm_none": round(sum(r[2] - r[1] for r in rows) / n, 2),
            "simcc_minus_hm_post": round(sum(r[2] - r[0] for r in rows) / n, 2),
            "post_gain": round(sum(r[0] - r[1] for r in rows) / n, 2),
        }
    return out


def count_like_paper(model: nn.Module, input_size) -> dict[str, float]:
    """Multiply-adds of ``model`` for one image of ``input_size`` (W, H), counted the way the pose papers'
    tables were (the model summary of the HRNet / SimpleBaseline code that SimCC builds on):

    * a convolution costs (its weight's element count) x (output pixels); so does a *transposed*
      convolution, which charges every output pixel a full kernel: stride^2 = 4 times the multiply-adds a
      stride-2 deconvolution performs (``simcc_lab.models.count_params_flops`` counts those);
    * a Linear layer costs in_features x (output elements);
    * the sum is divided by 2^30, not 10^9, and reported as "GFLOPs".

    Returns:
        dict ``conv``, ``deconv``, ``linear`` and ``total`` in those 2^30 units, and ``total_1e9`` (the
        same total in units of 10^9).
    """
    import torch

    counts = {"conv": 0, "deconv": 0, "linear": 0}

    def hook(module, inputs, output):
        if isinstance(module, nn.ConvTranspose2d):
            counts["deconv"] += module.weight.numel() * output.shape[-2] * output.shape[-1]
        elif isinstance(module, nn.Conv2d):
            counts["conv"] += module.weight.numel() * output.shape[-2] * output.shape[-1]
        else:
            counts["linear"] += module.in_features * (output.numel() // output.shape[0])

    layers = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, layers)]
    was_training = model.training
    param = next(model.parameters())
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 3, int(input_size[1]), int(input_size[0]), device=param.device, dtype=param.dtype))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    total = sum(counts.values())
    out = {k: v / 2**30 for k, v in counts.items()}
    out.update(total=total / 2**30, total_1e9=total / 1e9)
    return out
