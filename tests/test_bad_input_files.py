"""The validation layer (issue 21): ids, categories, flags, booleans, file names, result shapes, detection files,
reading, and images checked when read. Each case either refuses with a message naming the file, the record
and the field, or repairs with a counted notice and then gives the right numbers."""
from __future__ import annotations

import copy
import json
import logging
import os

import numpy as np
import pytest
from PIL import Image

from simcc_lab.cli import main, user_message
from simcc_lab.data.coco import load_annotations, load_detections
from simcc_lab.data.images import read_rgb
from simcc_lab.data.topdown import TopDownDataset
from simcc_lab.files import ImageError, UserError
from simcc_lab.evaluation import cocoeval as ev
from simcc_lab.keypoints import COCO17


def _gt() -> dict:
    """Two 64x80 images, three people with every keypoint labelled inside their boxes."""
    anns = []
    for i in range(3):
        kpts = [[8 + 2 * j + 10 * (i % 2), 10 + 3 * j, 2] for j in range(17)]
        anns.append(dict(id=i + 1, image_id=1 + i // 2, category_id=1, iscrowd=0, bbox=[4.0, 6.0, 50.0, 70.0],
                         area=2500.0, num_keypoints=17, keypoints=[float(c) for p in kpts for c in p]))
    images = [dict(id=i, file_name=f"{i}.png", width=64, height=80) for i in (1, 2)]
    cat = dict(id=1, name="person", keypoints=list(COCO17.keypoint_names), skeleton=[])
    return dict(images=images, annotations=anns, categories=[cat])


def _results(gt: dict) -> list:
    return [dict(image_id=a["image_id"], category_id=1, keypoints=list(a["keypoints"]), score=1.0)
            for a in gt["annotations"]]


def _shifted(gt: dict, by: float) -> list:
    """Results a few px off (AP < 1), for checks that a repair changes nothing."""
    res = _results(gt)
    for r in res:
        r["keypoints"] = [v + by if j % 3 < 2 else v for j, v in enumerate(r["keypoints"])]
    return res


def _write(tmp_path, obj, name="gt.json"):
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return path


def _set(path, value):
    def apply(d):
        node = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return d
    return apply


def _both(f, g):
    return lambda d: g(f(d))


REFUSED = [
    ("two annotations share an id", _set(("annotations", 2, "id"), 1),
     r"annotations\[2\] \(id 1, image_id 2\): 'id' 1 repeats that of record \[0\]"),
    ("every annotation id is 1", _both(_set(("annotations", 1, "id"), 1), _set(("annotations", 2, "id"), 1)),
     r"annotations\[1\] .*'id' 1 repeats"),
    ("two images share an id", _set(("images", 1, "id"), 1), r"images\[1\] \(id 1\): 'id' 1 repeats"),
    ("annotation id null", _set(("annotations", 0, "id"), None), r"annotations\[0\] .*'id' must be an integer, got None"),
    ("annotation id 2**70", _set(("annotations", 0, "id"), 2 ** 70), r"'id' 1180591620717411303424 is beyond the 64-bit"),
    ("annotation id a string", _set(("annotations", 1, "id"), "2"), r"annotations\[1\] .*'id' must be an integer, got '2'"),
    ("annotation id a bool", _set(("annotations", 1, "id"), True), r"'id' must be an integer, got True"),
    ("image id a string", _set(("images", 0, "id"), "1"), r"images\[0\] .*'id' must be an integer, got '1'"),
    ("image_id a list", _set(("annotations", 0, "image_id"), [1]), r"'image_id' must be an integer, got \[1\]"),
    ("images[0] a list", _set(("images", 0), [1, "a.png"]), r"images\[0\] is a list, not a record"),
    ("file_name an int", _set(("images", 0, "file_name"), 5), r"images\[0\] \(id 1\): 'file_name' must be a file name"),
    ("absolute file_name", _set(("images", 0, "file_name"), "/etc/passwd"), r"'file_name' '/etc/passwd' must be a "
                                                                            r"path relative to the image folder"),
    ("file_name escaping the folder", _set(("images", 1, "file_name"), "../x.png"), r"'file_name' '../x.png' must"),
    ("iscrowd a string", _set(("annotations", 0, "iscrowd"), "0"), r"annotations\[0\] .*'iscrowd' must be 0 or 1, got '0'"),
    ("iscrowd 2", _set(("annotations", 1, "iscrowd"), 2), r"'iscrowd' must be 0 or 1, got 2"),
    ("iscrowd a bool", _set(("annotations", 1, "iscrowd"), True), r"'iscrowd' must be 0 or 1, got True"),
    ("visibility true", _set(("annotations", 0, "keypoints", 2), True),
     r"annotations\[0\] .*'keypoints' has a non-numeric value True at keypoint 0 \(nose\) v"),
    ("coordinate true", _set(("annotations", 1, "keypoints", 3), True), r"non-numeric value True at keypoint 1"),
    ("area true", _set(("annotations", 1, "area"), True), r"'area' has a non-numeric value True"),
    ("no annotations", _set(("annotations",), []), r"gt\.json: no annotations: no person to train on"),
    ("only another category", _set(("annotations",), [dict(id=9, image_id=1, category_id=2, bbox=[0, 0, 5, 5])]),
     r"no annotations of the keypoint category 1"),
]


@pytest.mark.parametrize("name,mutate,match", REFUSED, ids=[c[0] for c in REFUSED])
def test_malformed_ground_truth_is_refused_and_named(tmp_path, capsys, name, mutate, match):
    gt = _gt()
    path = _write(tmp_path, mutate(copy.deepcopy(gt)))
    with pytest.raises(UserError, match=match) as err:
        load_annotations(path)
    assert "gt.json" in str(err.value)
    with pytest.raises(UserError, match=match):
        ev.evaluate_coco(path, _results(gt))
    assert main(["oracle", "--data", str(path), "--input-size", "64x64"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("simcc-lab oracle: error: ") and "gt.json" in lines[0]


def _warned(caplog, text):
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and text in r.getMessage()]


def test_other_categories_are_skipped_with_a_counted_warning(tmp_path, caplog):
    gt = _gt()
    res = _shifted(gt, 2.0)
    plain = ev.evaluate_coco(_write(tmp_path, gt, "plain.json"), res)
    gt["categories"].append(dict(id=2, name="dog"))
    dog = dict(gt["annotations"][0], id=10, category_id=2)
    lost = dict(gt["annotations"][1], id=11, category_id=7)
    gt["annotations"] += [dog, lost]
    path = _write(tmp_path, gt)
    caplog.set_level(logging.WARNING)
    assert len(load_annotations(path)) == 3  # not 5: the dog and the unknown category are not people
    assert ev.evaluate_coco(path, res) == plain
    msg = _warned(caplog, "skipped 2 of 5 annotations")
    assert msg and "1 of category 2 ('dog') (e.g. annotations[3] (id 10))" in msg[0]
    assert "1 of category id 7 absent from 'categories'" in msg[0]


def test_num_keypoints_that_contradict_the_flags_are_recomputed(tmp_path, caplog):
    gt = _gt()
    res = _shifted(gt, 1.5)
    plain = ev.evaluate_coco(_write(tmp_path, gt, "plain.json"), res)
    for a in gt["annotations"]:
        a["num_keypoints"] = 0  # COCOeval would ignore everyone: AP -1
    path = _write(tmp_path, gt)
    caplog.set_level(logging.WARNING)
    fixed = ev.evaluate_coco(path, res)
    assert fixed == plain and 0 < fixed["AP"] < 1
    assert _warned(caplog, "3 of 3 annotations have a 'num_keypoints' that disagrees")
    assert gt["annotations"][0]["num_keypoints"] == 0  # the caller's dict is not edited


def test_extra_result_fields_are_stripped_and_change_nothing(tmp_path, caplog):
    gt = _gt()
    path = _write(tmp_path, gt)
    res = _shifted(gt, 2.0)
    plain = ev.evaluate_coco(path, res)
    caplog.set_level(logging.WARNING)
    for extra in (dict(bbox=[0, 0, 2, 2]), dict(segmentation=[[0, 0, 1, 1, 2, 2]]), dict(caption="a person"),
                  dict(bbox="abc"), dict(area=7.0, id=3)):
        tagged = [dict(r, **extra) for r in res]
        assert ev.evaluate_coco(path, tagged) == plain, extra
    assert _warned(caplog, "results carry fields a keypoint result does not have: 'bbox' (3)")


RESULTS_REFUSED = [
    ("score a list", _set((0, "score"), [0.9]), r"result \[0\] \(image_id 1\): 'score' has a non-numeric value \[0.9\]"),
    ("every score a list", lambda r: [dict(x, score=[0.9]) for x in r], r"'score' has a non-numeric value \[0.9\]"),
    ("score true", _set((1, "score"), True), r"result \[1\] .*'score' has a non-numeric value True"),
    ("coordinate true", _set((2, "keypoints", 0), True), r"result \[2\] .*non-numeric value True at keypoint 0 x"),
    ("first record short", _set((0, "keypoints"), [1.0, 2.0, 1.0]), r"result \[0\] .*expected 3 x 17 numbers"),
    ("image_id a list", _set((0, "image_id"), [1]), r"result \[0\]: 'image_id' must be an integer"),
    ("category_id a string", _set((1, "category_id"), "1"), r"result \[1\] .*'category_id' must be an integer"),
]


@pytest.mark.parametrize("name,mutate,match", RESULTS_REFUSED, ids=[c[0] for c in RESULTS_REFUSED])
def test_malformed_results_are_refused_and_named(tmp_path, name, mutate, match):
    gt = _gt()
    gt_path = _write(tmp_path, gt)
    res_path = _write(tmp_path, mutate(_results(gt)), "res.json")
    with pytest.raises(UserError, match=match) as err:
        ev.evaluate_coco(gt_path, res_path)
    assert "res.json" in str(err.value)


@pytest.mark.parametrize("dets,match", [
    ([dict(image_id=1, bbox=[0, 0, 10, 10], score=0.9, category_id=2)], r"no usable person box \(1 other_category\)"),
    ([dict(image_id=1, bbox=[0, 0, 0, 0], score=0.9)], r"no usable person box \(1 empty_box\)"),
    ([], r"no usable person box \(the file is an empty list\)"),
    ([dict(image_id="1", bbox=[0, 0, 10, 10], score=0.9)], r"record \[0\]: 'image_id' must be an integer"),
    ([dict(image_id=1, bbox=[0, 0, True, 10], score=0.9)], r"'bbox' has a non-numeric value True"),
], ids=["another category", "0x0 boxes", "empty list", "image_id a string", "box with a bool"])
def test_detection_files_that_leave_nobody_or_are_malformed_are_refused(tmp_path, dets, match):
    gt = load_annotations(_write(tmp_path, _gt()))
    with pytest.raises(UserError, match=match) as err:
        load_detections(_write(tmp_path, dets, "det.json"), gt)
    assert "det.json" in str(err.value)


def test_unreadable_json_files_are_named(tmp_path, capsys):
    cases = {"empty.json": (b"", r"empty.json is empty \(0 bytes\)"),
             "photo.jpg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x80\x81", r"photo.jpg is not JSON text \(it looks "
                                                                          r"like an image\)"),
             "deep.json": (b"[" * 200_000 + b"]" * 200_000, r"deep.json: JSON nested too deeply"),
             "cut.json": (json.dumps(_gt()).encode()[:300], r"cut.json: not valid JSON .* may be truncated")}
    for name, (raw, match) in cases.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(UserError, match=match):
            load_annotations(tmp_path / name)
        assert main(["oracle", "--data", str(tmp_path / name), "--input-size", "64x64"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and name in err[0], err
    with pytest.raises(UserError, match=r"annotation file .* is a folder"):
        load_annotations(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_a_file_without_read_permission_is_named(tmp_path):
    path = _write(tmp_path, _gt())
    path.chmod(0)
    with pytest.raises(UserError, match=r"gt.json cannot be read \(permission denied\)"):
        load_annotations(path)


# ---------------------------------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------------------------------
def _images(tmp_path, gt=None, **override):
    """The ground truth's images as 64x80 grey PNGs (``override``: file name -> bytes or a PIL image)."""
    gt = gt or _gt()
    for im in gt["images"]:
        Image.new("RGB", (64, 80), (90, 120, 150)).save(tmp_path / im["file_name"])
    for name, content in override.items():
        if isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            content.save(tmp_path / name)
    return _write(tmp_path, gt)


@pytest.mark.parametrize("content,match", [
    (Image.new("RGB", (1, 1)), r"image .*1.png \(image id 1\) is 1x1 px but its record says 64x80"),
    (Image.new("RGB", (640, 425)), r"is 640x425 px but its record says 64x80"),
    (b"", r"cannot read image .*1.png \(image id 1\): UnidentifiedImageError"),
    (bytes(range(256)) * 8, r"cannot read image .*1.png \(image id 1\)"),
], ids=["1x1 file", "larger file", "0-byte file", "random bytes"])
def test_images_of_another_size_or_not_images_are_refused_before_any_work(tmp_path, content, match):
    path = _images(tmp_path, **{"1.png": content})
    with pytest.raises(ImageError, match=match):
        TopDownDataset(path, tmp_path, (64, 64), None)


def test_a_truncated_image_is_named_when_read(tmp_path):
    import io

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (80, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    path = _images(tmp_path, **{"1.png": buf.getvalue()[:len(buf.getvalue()) // 2]})
    ds = TopDownDataset(path, tmp_path, (64, 64), None)  # the header is whole
    with pytest.raises(ImageError, match=r"cannot read image .*1.png \(image id 1\): OSError: image file is truncated"):
        ds[0]
    # through a DataLoader worker the message comes wrapped in the worker's traceback: the CLI shows its last line
    wrapped = ImageError("Caught ImageError in DataLoader worker process 0.\nOriginal Traceback (most recent call "
                         "last):\n  File \"x.py\", line 1\nsimcc_lab.files.ImageError: cannot read image a.png "
                         "(image id 1): truncated")
    assert user_message(wrapped) == "cannot read image a.png (image id 1): truncated"


def test_a_decompression_bomb_is_a_one_line_error(tmp_path, monkeypatch):
    path = _images(tmp_path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 64x80 is then over twice PIL's limit
    with pytest.raises(ImageError, match=r"cannot read image .*1.png \(image id 1\): DecompressionBombError"):
        TopDownDataset(path, tmp_path, (64, 64), None)


def test_sixteen_bit_grayscale_is_scaled_not_saturated(tmp_path):
    grey = np.full((80, 64), 46_400, dtype=np.uint16)  # 46400 / 257 = 180.5
    Image.fromarray(grey).save(tmp_path / "g16.png")
    with Image.open(tmp_path / "g16.png") as im:
        assert im.mode.startswith("I")  # a 16-bit mode: convert("RGB") would clip it to 255
    rgb = read_rgb(tmp_path / "g16.png", 1, (64, 80))
    assert rgb.shape == (80, 64, 3) and rgb.dtype == np.uint8 and np.all(rgb == 181)
    Image.fromarray(np.full((80, 64), 181, np.uint8)).save(tmp_path / "g8.png")
    assert np.array_equal(read_rgb(tmp_path / "g8.png", 1), rgb)  # the same picture in 8 bits


def test_the_bad_input_table_command_classifies_outcomes(tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("bad_input_table",
                                                  Path(__file__).resolve().parents[1] / "tools" / "bad_input_table.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.cli_main(["--only", "share an id", "--out", str(tmp_path / "t.md"), "--json", str(tmp_path / "t.json")]) == 0
    rows = json.loads((tmp_path / "t.json").read_text())
    assert [r["outcome"] for r in rows] == ["clean error"] and "repeats that of record [0]" in rows[0]["detail"]
    assert "| clean error | 1 |" in (tmp_path / "t.md").read_text()
    # the classifier itself: a run that exits 0 where an error was due is silent, an escaped exception a traceback
    assert tool.from_cli((0, "AP: 0.8\n", "", None), "error", ())[0] == "silent"
    assert tool.from_cli((None, "", "", KeyError("x")), "error", ())[0] == "traceback"
    assert tool.from_cli((2, "", "simcc-lab x: error: a.json: bad\n", None), "error", ("b.json",))[0] == "unclear"
