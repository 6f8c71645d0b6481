"""evaluation/cocoeval.py and evaluation/oracle.py: COCOeval numbers on real data, rescoring, OKS-NMS, PCK, the codec oracle."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch

from simcc_lab.evaluation import cocoeval as ev
from simcc_lab.keypoints import COCO17
from simcc_lab.evaluation.oracle import codec_oracle

SHARED = Path(os.environ.get("SIMCC_LAB_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SAMPLE = SHARED / "data" / "coco_val2017_sample"
needs_sample = pytest.mark.skipif(not (SAMPLE / "test_coco.json").exists(),
                                  reason=f"real COCO sample {SAMPLE} is absent (set SIMCC_LAB_SHARED)")
GT, PREDS = SAMPLE / "test_coco.json", SAMPLE / "example_coco_preds.json"


def _gt_as_results(path=GT):
    anns = [a for a in json.loads(Path(path).read_text())["annotations"] if a["num_keypoints"] > 0]
    kpts = np.array([a["keypoints"] for a in anns], float).reshape(len(anns), -1, 3)
    return [a["image_id"] for a in anns], kpts


@needs_sample
def test_example_predictions_give_the_published_numbers():
    m = ev.evaluate_coco(GT, PREDS)
    expected = dict(AP=0.861, AP50=0.993, AP75=0.911, APm=0.776, APl=0.937, AR=0.875)
    for name, value in expected.items():
        assert m[name] == pytest.approx(value, abs=6e-4), name
    assert m["num_results"] == 73


@needs_sample
def test_ground_truth_as_predictions_scores_one(tmp_path):
    image_ids, kpts = _gt_as_results()
    results = ev.to_coco_results(image_ids, kpts[..., :2], np.ones(kpts.shape[:2]), np.ones(len(kpts)))
    m = ev.evaluate_coco(GT, results, out_json=tmp_path / "res.json")
    assert m["AP"] == 1.0 and m["AR"] == 1.0
    # the results file was written whole and evaluates the same
    assert ev.evaluate_coco(GT, tmp_path / "res.json")["AP"] == 1.0
    # moving every keypoint by 3 px must cost AP (the evaluator really looks at the coordinates)
    worse = ev.to_coco_results(image_ids, kpts[..., :2] + 3.0, np.ones(kpts.shape[:2]), np.ones(len(kpts)))
    assert ev.evaluate_coco(GT, worse)["AP"] < 0.95


def test_rescore_rule():
    s = np.array([[0.9, 0.1, 0.5], [0.1, 0.1, 0.1]])
    # person 2 has no keypoint above 0.2: the mean of all (0.1), not 0, so ranking survives low scores
    np.testing.assert_allclose(ev.rescore(s, [0.5, 0.8]), [0.5 * 0.7, 0.8 * 0.1])
    np.testing.assert_allclose(ev.rescore(s, [0.5, 0.8], thr=None), [0.5, 0.8])
    r = ev.to_coco_results([1, 2], np.zeros((2, 3, 2)), s, [0.5, 0.8], category_id=3)
    assert r[0]["score"] == pytest.approx(0.35) and r[1]["category_id"] == 3 and len(r[0]["keypoints"]) == 9
    with pytest.raises(ValueError, match="shapes disagree"):
        ev.to_coco_results([1], np.zeros((2, 3, 2)), s, [0.5, 0.8])


def test_oks_matrix_matches_the_formula():
    rng = np.random.default_rng(0)
    kpts = rng.uniform(0, 100, (4, 17, 2))
    areas = rng.uniform(500, 5000, 4)
    oks = ev.oks_matrix(kpts, areas, COCO17.sigmas)
    np.testing.assert_allclose(np.diag(oks), 1.0)
    np.testing.assert_allclose(oks, oks.T)
    var = (2 * np.array(COCO17.sigmas)) ** 2
    d2 = ((kpts[1] - kpts[3]) ** 2).sum(-1)
    expect = np.exp(-d2 / var / ((areas[1] + areas[3]) / 2) / 2).mean()
    assert oks[1, 3] == pytest.approx(expect, rel=1e-12)


def test_oks_nms_drops_duplicates_per_image():
    rng = np.random.default_rng(1)
    base = rng.uniform(0, 200, (3, 17, 2))
    kpts = np.concatenate([base, base + 0.5, base[:1]])          # 3 people, their near-copies, one copy
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.95, 0.5, 0.85])
    image_ids = np.array([1, 1, 1, 1, 1, 1, 2])                   # the last copy is in another image
    keep = ev.oks_nms(kpts, scores, np.full(7, 4000.0), COCO17.sigmas, thr=0.9, image_ids=image_ids)
    assert sorted(keep.tolist()) == [0, 2, 4, 6]                  # each pair keeps its higher score
    assert keep.tolist()[:3] == [4, 0, 2]                          # score order within image 1
    # with a threshold above every OKS, nothing is dropped
    assert len(ev.oks_nms(kpts, scores, np.full(7, 4000.0), COCO17.sigmas, thr=1.0)) == 7


@needs_sample
def test_evaluate_topdown_nms_removes_duplicate_detections():
    preds = json.loads(PREDS.read_text())
    ids = np.array([p["image_id"] for p in preds])
    kp = np.array([p["keypoints"] for p in preds]).reshape(len(preds), 17, 3)
    box = np.array([p["score"] for p in preds])
    areas = np.array([np.prod(p["scale"]) * 200 ** 2 for p in preds])
    dup = dict(image_ids=np.concatenate([ids, ids]), kpts_img=np.concatenate([kp[..., :2], kp[..., :2] + 0.02]),
               kpt_scores=np.concatenate([kp[..., 2], kp[..., 2]]), box_scores=np.concatenate([box, box * 0.99]),
               areas=np.concatenate([areas, areas]))
    plain = ev.evaluate_topdown(GT, ids, kp[..., :2], kp[..., 2], box, rescore_thr=None)
    with_nms = ev.evaluate_topdown(GT, nms=True, rescore_thr=None, **dup)
    without = ev.evaluate_topdown(GT, nms=False, rescore_thr=None, **dup)
    assert with_nms["num_results"] == 73 and with_nms["AP"] == pytest.approx(plain["AP"])
    assert without["num_results"] == 146 and without["AP"] < plain["AP"]
    with pytest.raises(ValueError, match="areas"):
        ev.evaluate_topdown(GT, ids, kp[..., :2], kp[..., 2], box, nms=True)


def test_pixel_errors_and_pck():
    gt = np.zeros((2, 3, 2))
    pred = gt + np.array([[[3.0, 4.0], [0, 1], [0, 0]], [[6, 8], [0, 0], [100, 0]]])
    vis = np.array([[2, 1, 0], [2, 0, 2]])
    e = ev.pixel_errors(pred, gt, vis)
    assert e["count"] == 4 and e["mean"] == pytest.approx((5 + 1 + 10 + 100) / 4)
    np.testing.assert_allclose(e["per_keypoint"], [7.5, 1.0, 100.0])
    assert np.isnan(e["errors"][0, 2])
    p = ev.pck(pred, gt, vis, boxes=np.array([[0, 0, 60.0, 20.0], [0, 0, 10.0, 90.0]]), alpha=0.1)
    # thresholds 6 and 9 px: 5 ok, 1 ok, 10 no, 100 no
    assert p["pck"] == 0.5 and p["count"] == 4
    np.testing.assert_allclose(p["per_keypoint"], [0.5, 1.0, 0.0])


def test_ground_truth_checks_and_empty_results(tmp_path):
    cat = dict(id=1, name="person", keypoints=list(COCO17.keypoint_names))
    ann = dict(id=4, image_id=1, category_id=1, bbox=[0, 0, 10, 10], keypoints=[1.0, 1.0, 2] * 17)
    data = dict(images=[dict(id=1, file_name="a.png", width=20, height=20)], annotations=[ann], categories=[cat])
    # no 'area': derived from the box (0.53 x w x h, MMPose's rule) with a warning, as the dataset does
    assert ev.evaluate_coco(data, [dict(image_id=1, category_id=1, keypoints=[1.0, 1.0, 1] * 17, score=1.0)])[
        "AP"] == pytest.approx(1.0)
    assert "area" not in ann  # the caller's dict is left alone
    ann["area"] = 100.0
    assert ev.evaluate_coco(data, [])["AP"] == 0.0
    # num_keypoints and iscrowd are filled in when a hand-made file lacks them
    res = [dict(image_id=1, category_id=1, keypoints=[1.0, 1.0, 1] * 17, score=1.0)]
    assert ev.evaluate_coco(data, res)["AP"] == pytest.approx(1.0)


def test_other_skeleton_uses_its_sigmas(tmp_path):
    names = [f"kp{i}" for i in range(5)]
    cat = dict(id=1, name="thing", keypoints=names, sigmas=[0.05] * 5)
    anns = [dict(id=i + 1, image_id=1, category_id=1, bbox=[10 * i, 0, 50, 50], area=2500.0, iscrowd=0,
                 num_keypoints=5, keypoints=[float(v) for j in range(5) for v in (10 * i + 5 * j, 5 * j, 2)])
            for i in range(3)]
    data = dict(images=[dict(id=1, file_name="a.png", width=100, height=100)], annotations=anns, categories=[cat])
    kpts = np.array([a["keypoints"] for a in anns]).reshape(3, 5, 3)[..., :2]
    res = ev.to_coco_results([1, 1, 1], kpts + 1.5, np.ones((3, 5)), np.ones(3))
    wide = ev.evaluate_coco(data, res, sigmas=[0.5] * 5)["AP"]
    narrow = ev.evaluate_coco(data, res)["AP"]  # the file's 0.05 sigmas are stricter
    assert wide == 1.0 and narrow < wide
    with pytest.raises(ValueError, match="17 OKS sigmas for 5-keypoint"):
        ev.evaluate_coco(data, res, sigmas=COCO17.sigmas)


def test_keypoints_to_image_from_collated_meta():
    from simcc_lab.data.transforms import affine_points, get_affine

    centre, scale = np.array([[50.0, 60.0], [10.0, 20.0]]), np.array([[30.0, 40.0], [60.0, 80.0]])
    rot, flip = np.array([10.0, -20.0]), np.array([False, True])
    pts = np.random.default_rng(2).uniform(0, 100, (2, 5, 2))
    kin = affine_points(pts, get_affine(centre, scale, rot, (48, 64), flip=flip))
    meta = dict(centre=torch.from_numpy(centre), scale=torch.from_numpy(scale), rotation=torch.from_numpy(rot),
                flip=torch.from_numpy(flip))
    np.testing.assert_allclose(ev.keypoints_to_image(torch.from_numpy(kin), meta, (48, 64)), pts, atol=1e-9)


# ---------------------------------------------------------------------------------------------------
# Codec oracle
# ---------------------------------------------------------------------------------------------------
class _Exact(NamedTuple):
    kpts: np.ndarray
    weights: np.ndarray

    @property
    def targets(self):  # the codec protocol: targets by name (simcc_lab.codecs.base.Codec)
        return (self.kpts,)


class ExactCodec:
    """Keeps coordinates as they are: the oracle must then lose nothing."""

    def __init__(self, input_size):
        self.input_size = input_size

    def encode(self, keypoints, visible):
        return _Exact(np.asarray(keypoints, np.float64), (np.asarray(visible) > 0).astype(np.float32))

    def decode(self, kpts):
        return kpts, np.ones(kpts.shape[:-1])


class RoundingCodec(ExactCodec):
    """Rounds to a grid of ``step`` input pixels (a SimCC-like quantiser with k = 1 / step)."""

    def __init__(self, input_size, step):
        super().__init__(input_size)
        self.step = step

    def decode(self, kpts):
        return np.round(kpts / self.step) * self.step, np.ones(kpts.shape[:-1])


@needs_sample
def test_oracle_of_an_exact_codec_is_perfect():
    r = codec_oracle(GT, ExactCodec((48, 64)))
    assert r["AP"] == 1.0 and r["mean_err_input_px"] < 1e-4 and r["mean_err_img_px"] < 1e-3
    assert r["num_people"] == 12 and r["outside_frac"] == 0.0


@needs_sample
def test_oracle_error_grows_with_the_quantisation_step():
    fine, coarse = codec_oracle(GT, RoundingCodec((64, 64), 0.5)), codec_oracle(GT, RoundingCodec((64, 64), 4.0))
    assert fine["mean_err_input_px"] <= 0.5 / np.sqrt(2) < coarse["mean_err_input_px"] <= 4 / np.sqrt(2)
    assert coarse["AP"] < fine["AP"]
    with pytest.raises(ValueError, match="differs from the codec"):
        codec_oracle(GT, RoundingCodec((64, 64), 1.0), input_size=(32, 32))


@needs_sample
def test_oracle_with_real_codecs_and_cli(capsys, tmp_path):
    pytest.importorskip("simcc_lab.codecs")
    from simcc_lab.cli import main
    from simcc_lab.codecs import build_codec

    size = (64, 64)
    simcc = {k: codec_oracle(GT, build_codec("simcc", size, k=k)) for k in (1.0, 3.0)}
    assert simcc[3.0]["mean_err_input_px"] < simcc[1.0]["mean_err_input_px"] <= 0.5 * np.sqrt(2)
    argmax = codec_oracle(GT, build_codec("heatmap", size, stride=4, refinement="none"))
    dark = codec_oracle(GT, build_codec("heatmap", size, stride=4, refinement="dark",
                                             encoding="unbiased"))
    assert dark["mean_err_input_px"] < argmax["mean_err_input_px"]
    assert main(["oracle", "--data", str(GT), "--input-size", "64x64", "--codec", "simcc", "--k", "2"]) == 0
    assert "AP: " in capsys.readouterr().out
    out = tmp_path / "t.md"
    assert main(["oracle", "--data", str(GT), "--input-size", "64x64", "--table", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| 64x64 |" in text and "heatmap DARK" in text and text.count("\n| 64x64 |") == 2


def test_person_oks_averages_labelled_keypoints_with_the_one_formula():
    from simcc_lab.evaluation.oks import keypoint_oks, keypoint_similarity, oks_matrix, person_oks

    rng = np.random.default_rng(1)
    pred = rng.uniform(0, 100, (3, 17, 2))
    true = np.concatenate([pred + rng.normal(0, 2, pred.shape), rng.integers(0, 3, (3, 17, 1))], -1)
    true[2, :, 2] = 0  # nobody labelled: nan
    areas = np.array([900.0, 2500.0, 400.0])
    got = person_oks(pred, true, areas, COCO17.sigmas)
    d = np.linalg.norm(pred - true[..., :2], axis=-1)
    for i in (0, 1):
        lab = true[i, :, 2] > 0
        assert got[i] == pytest.approx(keypoint_oks(d[i], np.array(COCO17.sigmas), areas[i])[lab].mean(), rel=1e-12)
    assert np.isnan(got[2])
    assert keypoint_similarity(0.0, 0.05, 100.0) == 1.0
    every = oks_matrix(pred[:2], areas[:2], COCO17.sigmas, true[:2, :, :2], areas[:2])
    assert np.diag(every) == pytest.approx(keypoint_oks(d[:2], np.array(COCO17.sigmas), areas[:2, None]).mean(-1))


def test_keypoint_oks_matches_evaluation_oks_matrix():
    from simcc_lab.evaluation.oks import keypoint_oks, oks_matrix

    rng = np.random.default_rng(0)
    a = rng.uniform(0, 60, (1, 17, 2))
    b = a + rng.normal(0, 2, a.shape)
    area = 900.0
    ours = keypoint_oks(np.linalg.norm(a - b, axis=-1)[0], np.array(COCO17.sigmas), area).mean()
    ref = oks_matrix(a, np.array([area]), COCO17.sigmas, b, np.array([area]))[0, 0]
    assert ours == pytest.approx(ref, rel=1e-6)
    assert keypoint_oks(0.0, 0.05, 100.0) == 1.0
