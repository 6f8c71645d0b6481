"""The codec oracle: the AP a perfect network would still lose to its output representation.

Ground-truth keypoints are cropped from their ground-truth boxes (no augmentation, no image I/O),
encoded with a codec at an input size, decoded straight back, mapped to image pixels and scored with
COCOeval. A SimCC codec loses at most ``1 / (2k)`` input px per axis; a stride-``s`` heatmap up to
``s / 2`` (argmax), less with the quarter offset, almost nothing with DARK on its unbiased Gaussians.
Keypoints the crop cuts off cannot be encoded at all (weight 0) and decode to nonsense: that loss is
reported too (``outside_frac``).

Heatmap targets are Gaussians (sigma 2 heatmap px) so DARK's Taylor step sees the shape it assumes;
every instance gets score 1, so COCOeval's ranking does not depend on the codec's confidence scale.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..codecs import build_codec, size_pair
from ..data.coco import load_annotations
from .cocoeval import evaluate_coco, pixel_errors, to_coco_results
from ..data.transforms import affine_points, box_to_centre_scale, get_affine, inverse_keypoints

__all__ = ["codec_oracle", "standard_grid", "oracle_table", "TABLE_SIZES"]

# The paper's three input sizes as (W, H): 64x64, 128x128, 256x192 (H x W).
TABLE_SIZES = ((64, 64), (128, 128), (192, 256))


def standard_grid() -> list[tuple[str, dict]]:
    """(column label, :func:`~simcc_lab.codecs.build_codec` kwargs: ``kind`` and the codec's settings) of the
    standard table: SimCC k=1,2,3; heatmap s=4 three ways (argmax and quarter on biased heatmaps, DARK on
    unbiased ones)."""
    return [(f"SimCC k={k}", dict(kind="simcc", k=float(k))) for k in (1, 2, 3)] + [
        ("heatmap argmax", dict(kind="heatmap", stride=4, refinement="none", encoding="biased")),
        ("heatmap quarter", dict(kind="heatmap", stride=4, refinement="quarter", encoding="biased")),
        ("heatmap DARK", dict(kind="heatmap", stride=4, refinement="dark", encoding="unbiased")),
    ]


def codec_oracle(ann_file, codec, input_size=None, spec=None, padding: float = 1.25, chunk: int = 256,
                 out_json=None) -> dict:
    """Encode -> decode the ground truth of ``ann_file`` and evaluate it.

    Args:
        ann_file: COCO-format keypoint file (people skipped as in TopDownDataset are left out).
        codec: SimCCCodec / HeatmapCodec (anything with encode and decode).
        input_size: (W, H); default ``codec.input_size``; must match the codec's.
        spec: SkeletonSpec or name (``"crowdpose14"``), or None: chosen by the file's keypoint names.
        chunk: people per encode call (bounds the memory of the targets).

    Returns:
        COCOeval metrics (AP, AP50, ...) plus ``mean_err_input_px`` (encodable keypoints, input px),
        ``mean_err_img_px`` (all labelled keypoints, image px), ``outside_frac`` (labelled keypoints the
        codec could not encode), ``num_people``, ``num_keypoints``.
    """
    input_size = size_pair(codec.input_size if input_size is None else input_size, "input_size")
    if tuple(getattr(codec, "input_size", input_size)) != input_size:
        raise ValueError(f"input_size {input_size} differs from the codec's {tuple(codec.input_size)}")
    ann = load_annotations(ann_file, spec)
    if len(ann) == 0:
        raise ValueError(f"{ann_file}: no person with labelled keypoints to evaluate")
    centre, scale = box_to_centre_scale(ann.boxes, input_size[0] / input_size[1], padding)
    kpts_input = affine_points(ann.keypoints[..., :2], get_affine(centre, scale, 0.0, input_size))
    visible = ann.keypoints[..., 2]
    pred, weights = np.empty_like(kpts_input), np.empty(visible.shape)
    for s in range(0, len(ann), chunk):
        sl = slice(s, s + chunk)
        encoded = codec.encode(kpts_input[sl].astype(np.float32), visible[sl].astype(np.float32))
        decoded, _ = codec.decode(*encoded.targets)
        pred[sl], weights[sl] = np.asarray(decoded), np.asarray(encoded.weights)
    pred_img = inverse_keypoints(pred, centre, scale, input_size)
    results = to_coco_results(ann.image_ids, pred_img, np.ones(visible.shape), np.ones(len(ann)),
                              ann.category_id, rescore_thr=None)
    metrics = evaluate_coco(ann_file, results, sigmas=ann.spec.sigmas, out_json=out_json)
    labelled = visible > 0
    inside = pixel_errors(pred, kpts_input, labelled & (weights > 0))
    every = pixel_errors(pred_img, ann.keypoints[..., :2], labelled)
    return dict(metrics, mean_err_input_px=inside["mean"], mean_err_img_px=every["mean"],
                outside_frac=float(1 - (labelled & (weights > 0)).sum() / max(labelled.sum(), 1)),
                num_people=len(ann), num_keypoints=int(labelled.sum()))


def oracle_table(ann_files, sizes=TABLE_SIZES, grid=None, names=None, spec=None) -> tuple[list[dict], str]:
    """Run the grid on every file and size; returns (rows, markdown).

    The markdown has, per data set, one AP table and one mean-error table (input px; rows: input size
    H x W, columns: codecs). The AP table's last column is the share of labelled keypoints outside the
    crop (no codec can encode them: an AP ceiling that is not the codec's). ``spec`` as in
    :func:`codec_oracle`, for every file.
    """
    grid = grid or standard_grid()
    names = names or [f"{Path(f).parent.name}/{Path(f).name}" for f in ann_files]
    rows = []
    for name, f in zip(names, ann_files):
        for size in sizes:
            for label, kw in grid:
                r = codec_oracle(f, build_codec(input_size=size, **kw), size, spec=spec)
                rows.append(dict(data=name, input=f"{size[1]}x{size[0]}", codec=label, **r))
    return rows, _markdown(rows, [g[0] for g in grid])


def _markdown(rows, labels) -> str:
    out = []
    for data in dict.fromkeys(r["data"] for r in rows):
        sub = [r for r in rows if r["data"] == data]
        n = sub[0]
        out.append(f"**{data}** ({n['num_people']} people, {n['num_keypoints']} labelled keypoints)\n")
        for key, title, fmt in (("AP", "AP", "{:.3f}"), ("mean_err_input_px", "mean error (input px)", "{:.3f}")):
            extra = key == "AP"  # the AP table also says how many keypoints the crop cuts off
            out.append(f"| {title}, input HxW | " + " | ".join(labels) + (" | outside crop |" if extra else " |"))
            out.append("|---" * (len(labels) + 1 + extra) + "|")
            for size in dict.fromkeys(r["input"] for r in sub):
                row = [r for r in sub if r["input"] == size]
                cells = {r["codec"]: fmt.format(r[key]) for r in row}
                tail = f" | {100 * max(r['outside_frac'] for r in row):.1f}% |" if extra else " |"
                out.append(f"| {size} | " + " | ".join(cells.get(lab, "") for lab in labels) + tail)
            out.append("")
    return "\n".join(out)
