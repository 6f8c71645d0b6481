"""Bad annotation and result files: every malformed value gets an error naming the file, the record and the
field (never a silently wrong AP); official CrowdPose-shaped files load with two reported repairs."""
from __future__ import annotations

import copy
import json
import logging

import numpy as np
import pytest

from simcc_lab.evaluation import cocoeval as ev
from simcc_lab.cli import main
from simcc_lab.codecs import SimCCCodec
from simcc_lab.data.coco import AREA_FROM_BOX, load_annotations, load_detections
from simcc_lab.data.topdown import TopDownDataset
from simcc_lab.keypoints import COCO17, COCO17_LIMBS, CROWDPOSE14
from simcc_lab.codecs import build_codec
from simcc_lab.evaluation.oracle import codec_oracle


def _ground_truth(k=17, names=COCO17.keypoint_names, skeleton=(), area=True) -> dict:
    """Two 64x80 images, three people with every keypoint labelled inside their boxes."""
    anns = []
    for i in range(3):
        kpts = [[8 + 2 * j + 10 * (i % 2), 10 + 3 * j, 2] for j in range(k)]
        a = dict(id=i + 1, image_id=1 + i // 2, category_id=1, iscrowd=0, bbox=[4.0, 6.0, 50.0, 70.0],
                 num_keypoints=k, keypoints=[float(c) for p in kpts for c in p])
        if area:
            a["area"] = 2500.0
        anns.append(a)
    images = [dict(id=i, file_name=f"{i}.png", width=64, height=80) for i in (1, 2)]
    cat = dict(id=1, name="person", keypoints=list(names), skeleton=[list(p) for p in skeleton])
    return dict(images=images, annotations=anns, categories=[cat])


def _results(gt: dict) -> list:
    return [dict(image_id=a["image_id"], category_id=1, keypoints=list(a["keypoints"]), score=1.0)
            for a in gt["annotations"]]


def _set(path, value):
    """A mutation: ``data[path[0]][path[1]]... = value``."""
    def apply(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return data
    return apply


# name, mutation of the ground truth, the message (regex) the user sees
GT_CASES = [
    ("NaN keypoint", _set(("annotations", 1, "keypoints", 9), float("nan")),
     r"annotations\[1\] \(id 2, image_id 1\): 'keypoints' has a non-finite value nan at keypoint 3 \(left_ear\) x"),
    ("inf keypoint y", _set(("annotations", 0, "keypoints", 4), float("inf")),
     r"annotations\[0\] \(id 1, image_id 1\): 'keypoints' has a non-finite value inf at keypoint 1 \(left_eye\) y"),
    ("keypoint as a string", _set(("annotations", 2, "keypoints", 0), "12"),
     r"annotations\[2\] \(id 3, image_id 2\): 'keypoints' has a non-numeric value '12' at keypoint 0 \(nose\) x"),
    ("keypoint null", _set(("annotations", 2, "keypoints", 5), None),
     r"'keypoints' has a non-numeric value None at keypoint 1 \(left_eye\) v"),
    ("NaN box", _set(("annotations", 0, "bbox", 2), float("nan")),
     r"annotations\[0\] \(id 1, image_id 1\): 'bbox' has a non-finite value nan at position 2"),
    ("box as a string", _set(("annotations", 0, "bbox", 0), "4"), r"'bbox' has a non-numeric value '4'"),
    ("box of 3 values", _set(("annotations", 0, "bbox"), [1.0, 2.0, 3.0]), r"has a bbox of \[1.0, 2.0, 3.0\]"),
    ("area 0", _set(("annotations", 1, "area"), 0.0),
     r"annotations\[1\] \(id 2, image_id 1\): 'area' must be > 0 .*got 0"),
    ("negative area", _set(("annotations", 1, "area"), -5.0), r"'area' must be > 0 .*got -5"),
    ("NaN area", _set(("annotations", 1, "area"), float("nan")), r"'area' has a non-finite value nan"),
    ("area as a string", _set(("annotations", 1, "area"), "big"), r"'area' has a non-numeric value 'big'"),
    ("visibility 7", _set(("annotations", 0, "keypoints", 5), 7.0),
     r"annotations\[0\] \(id 1, image_id 1\): keypoint 1 \(left_eye\) has visibility 7; COCO allows 0"),
    ("visibility -1", _set(("annotations", 0, "keypoints", 2), -1.0), r"keypoint 0 \(nose\) has visibility -1"),
    ("missing bbox", lambda d: (d["annotations"][1].pop("bbox"), d)[1], r"annotations\[1\] .*lacks \['bbox'\]"),
    ("missing keypoints", lambda d: (d["annotations"][1].pop("keypoints"), d)[1], r"lacks \['keypoints'\]"),
    ("too few keypoints", _set(("annotations", 0, "keypoints"), [1.0, 2.0, 2]), r"has 3 keypoint values, expected 3 x 17"),
    ("unknown image id", _set(("annotations", 0, "image_id"), 42), r"id 1, image_id 42\) refers to an image id missing"),
    ("image width as a string", _set(("images", 0, "width"), "abc"),
     r"images\[0\] \(id 1\): 'width' and 'height' must be positive numbers"),
    ("ground truth is a JSON list", lambda d: d["annotations"], r"ground truth must be a JSON object .*got a JSON list"),
    ("no annotations", lambda d: dict(images=d["images"]), r"no 'annotations' list"),
]


@pytest.mark.parametrize("name,mutate,match", GT_CASES, ids=[c[0] for c in GT_CASES])
def test_bad_ground_truth_is_named_everywhere(tmp_path, capsys, name, mutate, match):
    gt = _ground_truth()
    bad = mutate(copy.deepcopy(gt))
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=match) as err:
        load_annotations(path)
    assert "gt.json" in str(err.value)
    with pytest.raises(ValueError, match=match):
        ev.evaluate_coco(path, _results(gt))
    with pytest.raises(ValueError, match=match):
        codec_oracle(path, SimCCCodec((64, 64)))
    # the command: one line on stderr, exit code 2, no traceback
    assert main(["oracle", "--data", str(path), "--input-size", "64x64"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("simcc-lab oracle: error: ") and "gt.json" in lines[0]


RESULT_CASES = [
    ("unknown image id", _set((0, "image_id"), 99), r"result \[0\] refers to image id 99, which the ground truth"),
    ("missing score", lambda r: (r[1].pop("score"), r)[1], r"result \[1\] \(image_id 1\) lacks \['score'\]"),
    ("missing category_id", lambda r: (r[1].pop("category_id"), r)[1], r"lacks \['category_id'\]"),
    ("unknown category_id", _set((2, "category_id"), 5), r"result \[2\] \(image_id 2\) has category_id 5; the "
                                                          r"ground truth .* has \[1\]"),
    ("NaN score", _set((0, "score"), float("nan")), r"result \[0\] \(image_id 1\): 'score' has a non-finite value"),
    ("score as a string", _set((0, "score"), "0.9"), r"'score' has a non-numeric value '0.9'"),
    ("NaN keypoint", _set((1, "keypoints", 3), float("nan")), r"result \[1\] .*'keypoints' has a non-finite value nan "
                                                               r"at keypoint 1 x"),
    ("keypoint as a string", _set((1, "keypoints", 0), "12"), r"'keypoints' has a non-numeric value '12'"),
    ("wrong keypoint count", _set((2, "keypoints"), [1.0, 2.0, 1.0]), r"result \[2\] .*expected 3 x 17 numbers"),
    ("results are a JSON object", lambda r: dict(results=r), r"results must be a JSON list"),
]


@pytest.mark.parametrize("name,mutate,match", RESULT_CASES, ids=[c[0] for c in RESULT_CASES])
def test_bad_results_are_named(tmp_path, name, mutate, match):
    gt = _ground_truth()
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    bad = mutate(_results(gt))
    with pytest.raises(ValueError, match=match):
        ev.evaluate_coco(tmp_path / "gt.json", bad)
    (tmp_path / "res.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=match) as err:  # from a file: the file is named
        ev.evaluate_coco(tmp_path / "gt.json", tmp_path / "res.json")
    assert "res.json: " in str(err.value)


def test_clean_files_still_score_one(tmp_path):
    gt = _ground_truth()
    # a person without labelled keypoints may have area 0 (SynthPose's fully hidden people): COCOeval ignores it
    gt["annotations"].append(dict(gt["annotations"][0], id=9, area=0.0, num_keypoints=0,
                                  keypoints=[0.0] * 51))
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    assert ev.evaluate_coco(tmp_path / "gt.json", _results(gt))["AP"] == pytest.approx(1.0)


def test_detection_file_values_are_checked(tmp_path):
    gt_path = tmp_path / "gt.json"
    gt_path.write_text(json.dumps(_ground_truth()))
    gt = load_annotations(gt_path)
    for det, match in [(dict(image_id=1, bbox=[0, 0, 10, 10], score=float("nan")), r"det\.json: record \[0\] "
                                                                                    r"\(image_id 1\): 'score' has a non-finite"),
                       (dict(image_id=1, bbox=[0, "a", 10, 10], score=0.5), r"'bbox' has a non-numeric value 'a'"),
                       ([1, 2], r"record \[0\] is a list")]:
        (tmp_path / "det.json").write_text(json.dumps([det]))
        with pytest.raises(ValueError, match=match):
            load_detections(tmp_path / "det.json", gt)


def test_dataset_sizes_name_themselves_and_codec_must_match(tmp_path):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(_ground_truth()))
    for bad in ("abc", (64,), (64, 0), (64.5, 64), None):
        with pytest.raises(ValueError, match=r"input_size must be a \(W, H\) pair of positive integers"):
            TopDownDataset(path, tmp_path, bad, None)
    with pytest.raises(ValueError, match=r"codec input_size \(48, 64\) differs from the dataset's input_size "
                                         r"\(64, 64\)"):
        TopDownDataset(path, tmp_path, (64, 64), SimCCCodec((48, 64)))
    with pytest.raises(ValueError, match=r"input_size must be a \(W, H\) pair"):
        codec_oracle(path, SimCCCodec((64, 64)), input_size="abc")
    with pytest.raises(ValueError, match=r"padding must be a positive number .* got 'x'"):
        TopDownDataset(path, tmp_path, (64, 64), None, padding="x")


def test_oracle_table_shows_keypoints_outside_the_crop(tmp_path):
    gt = _ground_truth()
    for a in gt["annotations"]:  # the box stops above the knees and ankles: they leave the padded crop
        a["bbox"] = [4.0, 6.0, 50.0, 30.0]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    r = codec_oracle(tmp_path / "gt.json", SimCCCodec((64, 64)))
    kpts = np.array([a["keypoints"] for a in gt["annotations"]]).reshape(3, 17, 3)
    # the crop: centre (29, 21), 1.25 x the box's 50 px (square input) = 62.5 px a side
    outside = (np.abs(kpts[..., 0] - 29) > 31.25) | (np.abs(kpts[..., 1] - 21) > 31.25)
    assert r["outside_frac"] == pytest.approx(outside.mean()) and r["outside_frac"] > 0.1 and r["AP"] < 1
    from simcc_lab.evaluation.oracle import oracle_table

    _, md = oracle_table([tmp_path / "gt.json"], sizes=[(64, 64)])
    assert "| outside crop |" in md and f"| {100 * r['outside_frac']:.1f}% |" in md


# ---------------------------------------------------------------------------------------------------
# official CrowdPose-shaped files: 14 keypoints, COCO's 17-keypoint skeleton (1-based), no area
# ---------------------------------------------------------------------------------------------------
def _crowdpose_file(tmp_path):
    coco_skeleton_1based = [(a + 1, b + 1) for a, b in COCO17_LIMBS]
    gt = _ground_truth(14, CROWDPOSE14.keypoint_names, coco_skeleton_1based, area=False)
    path = tmp_path / "crowdpose.json"
    path.write_text(json.dumps(gt))
    from PIL import Image

    for im in gt["images"]:
        Image.new("RGB", (64, 80), (90, 120, 150)).save(tmp_path / im["file_name"])
    return path, gt


def _warnings(caplog, text):
    return [r for r in caplog.records if r.levelno == logging.WARNING and text in r.getMessage()]


def test_crowdpose_file_through_dataset_evaluation_and_oracle(tmp_path, caplog, capsys):
    path, gt = _crowdpose_file(tmp_path)
    caplog.set_level(logging.WARNING)
    ds = TopDownDataset(path, tmp_path, (48, 64), SimCCCodec((48, 64)))
    assert ds.spec.keypoint_names == CROWDPOSE14.keypoint_names and ds.spec.sigmas == CROWDPOSE14.sigmas
    assert ds.spec.limbs == CROWDPOSE14.limbs  # COCO's skeleton did not fit: replaced by the spec's
    np.testing.assert_allclose(ds.records.areas, AREA_FROM_BOX * 50 * 70)
    assert ds[0]["targets"][0].shape == (14, 96)
    # evaluation: areas derived the same way, the ground truth as predictions scores 1
    assert ev.evaluate_coco(path, _results(gt))["AP"] == pytest.approx(1.0)
    r = codec_oracle(path, build_codec("simcc", (64, 64), k=2.0))
    assert r["AP"] == pytest.approx(1.0) and r["num_people"] == 3 and r["outside_frac"] == 0.0
    assert main(["oracle", "--data", str(path), "--input-size", "64x64", "--table"]) == 0
    assert "| 64x64 |" in capsys.readouterr().out
    assert main(["oracle", "--data", str(path), "--input-size", "64x64", "--spec", "crowdpose14"]) == 0
    # each repair reported once for the file, however often it is read
    skeleton = _warnings(caplog, "replaced by the skeleton of spec 'crowdpose14'")
    area = _warnings(caplog, "have no 'area'")
    assert len(skeleton) == 1 and "pair (16, 14) is outside 1..14" in skeleton[0].getMessage()
    assert len(area) == 1 and "3 of 3 annotations" in area[0].getMessage() and "0.53 x w x h" in area[0].getMessage()


def test_unfit_skeleton_without_a_known_spec_is_an_error(tmp_path):
    gt = _ground_truth(5, [f"kp{i}" for i in range(5)], [(1, 9)])
    gt["categories"][0]["sigmas"] = [0.05] * 5
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    with pytest.raises(ValueError, match=r"gt\.json: category 1: 'skeleton' pair \(1, 9\) is outside 1..5"):
        load_annotations(tmp_path / "gt.json")


def test_spec_option_is_offered_and_checked(capsys):
    with pytest.raises(SystemExit):
        main(["oracle", "--data", "x.json", "--input-size", "64x64", "--spec", "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_nonfinite_network_outputs_are_misses_not_matches(tmp_path, caplog):
    gt = _ground_truth()
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    kpts = np.array([a["keypoints"] for a in gt["annotations"]]).reshape(3, 17, 3)[..., :2]
    ids = [a["image_id"] for a in gt["annotations"]]
    nan = kpts.copy()
    nan[1, 4] = np.nan  # one keypoint of one person
    far = kpts.copy()
    far[1, 4] = 1e9
    scores = np.ones((3, 17))
    with caplog.at_level(logging.WARNING):
        ap_nan = ev.evaluate_topdown(tmp_path / "gt.json", ids, nan, scores, np.ones(3))["AP"]
    ap_far = ev.evaluate_topdown(tmp_path / "gt.json", ids, far, scores, np.ones(3))["AP"]
    assert ap_nan == ap_far < 1.0  # pycocotools alone would match the NaN person (OKS NaN) and give 1.0
    assert "1 of 3 results have non-finite values (2 keypoint values, 0 scores; e.g. result [1])" in caplog.text
    # NMS: a NaN person must not suppress the others of its image
    nms = ev.evaluate_topdown(tmp_path / "gt.json", ids, nan, scores, np.ones(3), areas=np.full(3, 2500.0), nms=True)
    assert nms["AP"] == ap_nan and nms["num_results"] == 3
    # the same values in a results file are an error naming the record
    with pytest.raises(ValueError, match=r"result \[1\] \(image_id 1\): 'keypoints' has a non-finite value nan"):
        ev.evaluate_coco(tmp_path / "gt.json", ev.to_coco_results(ids, nan, scores, np.ones(3)))
