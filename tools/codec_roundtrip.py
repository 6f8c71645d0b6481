"""Codec round-trip numbers: fixed random keypoints encoded and decoded by every codec setting.

``python tools/codec_roundtrip.py [--out FILE]`` prints (and writes) a JSON table, one entry per codec,
of the round trip's mean signed error, mean absolute error and max error per axis (input px), the sum of
the targets and the sum of the decoded scores. tests/test_behaviour.py compares these numbers with the
golden values in tests/golden/codec_roundtrip.json, so a refactoring that changes any codec shows up.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from simcc_lab.codecs import HeatmapCodec, SimCCCodec

SETTINGS = {
    **{f"simcc k={k} {sm} {centre} {conv}": (SimCCCodec, dict(input_size=(48, 64), k=k, smoothing=sm, centre=centre,
                                                                 convention=conv))
       for k in (1.0, 2.0, 3.0) for sm in ("gaussian", "none", "equal", "laplace")
       for centre in ("continuous", "rounded") for conv in ("simcc_lab", "mmpose")},
    **{f"heatmap s={s} {enc} {ref}": (HeatmapCodec, dict(input_size=(48, 64), stride=s, encoding=enc, refinement=ref))
       for s in (1, 2, 4) for enc in ("biased", "unbiased") for ref in ("none", "quarter", "dark")},
}


def roundtrip_table(seed: int = 0, people: int = 8) -> dict[str, dict[str, float]]:
    """Encode -> decode ``people`` x 17 random keypoints (inside a 48x64 input) with every setting."""
    rng = np.random.default_rng(seed)
    kpts = rng.uniform([-0.5, -0.5], [47.5, 63.5], size=(people, 17, 2))
    vis = rng.integers(0, 3, size=(people, 17)).astype(np.float32)
    table = {}
    for name, (cls, kwargs) in SETTINGS.items():
        try:
            codec = cls(**kwargs)
        except (TypeError, ValueError) as err:  # a setting this codec does not take
            table[name] = {"error": type(err).__name__}
            continue
        enc = codec.encode(kpts, vis)
        targets, weights = tuple(enc)[:-1], enc[-1]
        dec, scores = codec.decode(*targets)
        ok = np.asarray(weights) > 0
        err = (np.asarray(dec, np.float64) - kpts)[ok]
        table[name] = {
            "mean_dx": float(err[:, 0].mean()), "mean_dy": float(err[:, 1].mean()),
            "mae": float(np.abs(err).mean()), "max": float(np.abs(err).max()),
            "targets_sum": float(sum(np.asarray(t, np.float64).sum() for t in targets)),
            "weights_sum": float(np.asarray(weights, np.float64).sum()),
            "scores_sum": float(np.asarray(scores, np.float64).sum()),
        }
    return table


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args(argv)
    text = json.dumps(roundtrip_table(), indent=1, sort_keys=True)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
