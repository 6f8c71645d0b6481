"""data/coco.py: TopDownDataset on the real COCO sample, detection boxes, malformed files, DataLoader."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch

from simcc_lab.data.coco import coco_paths, load_annotations
from simcc_lab.data.topdown import TopDownDataset, denormalize
from simcc_lab.keypoints import COCO17, CROWDPOSE14
from simcc_lab.data.transforms import NO_AUGMENT, AugmentConfig, inverse_keypoints

SHARED = Path(os.environ.get("SIMCC_LAB_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SAMPLE = SHARED / "data" / "coco_val2017_sample"
needs_sample = pytest.mark.skipif(not (SAMPLE / "test_coco.json").exists(),
                                  reason=f"real COCO sample {SAMPLE} is absent (set SIMCC_LAB_SHARED)")
GT, DETS = SAMPLE / "test_coco.json", SAMPLE / "test_coco_det_AP_H_56.json"


class _Targets(NamedTuple):
    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray

    @property
    def targets(self):  # the codec protocol: targets by name (simcc_lab.codecs.base.Codec)
        return (self.x, self.y)


class StubCodec:
    """A minimal codec (one-hot bins at k=1): the dataset must work with any encode()."""

    def __init__(self, input_size):
        self.input_size = input_size

    def encode(self, keypoints, visible):
        w, h = self.input_size
        ix, iy = np.rint(keypoints[..., 0]).astype(int), np.rint(keypoints[..., 1]).astype(int)
        inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h) & (visible > 0)
        x = (np.arange(w) == ix[..., None]) & inside[..., None]
        y = (np.arange(h) == iy[..., None]) & inside[..., None]
        return _Targets(x.astype(np.float32), y.astype(np.float32), inside.astype(np.float32))


def _dataset(input_size=(192, 256), **kw):
    return TopDownDataset(GT, SAMPLE, input_size, StubCodec(input_size), **kw)


def _gt_keypoints():
    anns = [a for a in json.loads(GT.read_text())["annotations"] if a["num_keypoints"] > 0]
    return {a["id"]: np.array(a["keypoints"], float).reshape(-1, 3) for a in anns}


@needs_sample
def test_sample_loads_with_spec_and_skips_counted():
    ds = _dataset()
    assert len(ds) == 12 and ds.skipped == {"no_keypoints": 2}
    assert ds.spec.keypoint_names == COCO17.keypoint_names and ds.spec.sigmas == COCO17.sigmas
    s = ds[0]
    assert s["image"].shape == (3, 256, 192) and s["image"].dtype == torch.float32
    assert [t.shape for t in s["targets"]] == [(17, 192), (17, 256)] and s["weights"].shape == (17,)
    # ImageNet-normalised: roughly zero-mean, and undone exactly by denormalize
    assert -2.2 < float(s["image"].min()) and float(s["image"].max()) < 2.7
    assert denormalize(s["image"]).shape == (256, 192, 3)
    bare = TopDownDataset(GT, SAMPLE, (192, 256), codec=None)[0]  # crops only, for looking at
    assert bare["targets"] == () and bare["weights"].tolist() == (s["meta"]["visible"] > 0).tolist()
    torch.testing.assert_close(bare["image"], s["image"])


@needs_sample
@pytest.mark.parametrize("input_size", [(64, 64), (128, 128), (96, 128), (192, 256), (288, 384)])
@pytest.mark.parametrize("augment", [NO_AUGMENT, AugmentConfig(rotation_prob=1.0, flip_prob=0.5, half_body_prob=0.5)])
def test_crop_then_inverse_returns_every_keypoint(input_size, augment):
    ds = _dataset(input_size, train=augment is not NO_AUGMENT, augment=augment, seed=3)
    truth = _gt_keypoints()
    rotations = []
    for i in range(len(ds)):
        m = ds[i]["meta"]
        kpts, vis = m["kpts_input"], m["visible"]
        if m["flip"]:  # back to the file's slot order before mapping back
            kpts, vis = kpts[COCO17.flip_index], vis[COCO17.flip_index]
        back = inverse_keypoints(kpts[None], m["centre"][None], m["scale"][None], input_size,
                                 rotation=m["rotation"], flip=m["flip"])[0]
        gt = truth[m["ann_id"]]
        np.testing.assert_array_equal(vis, gt[:, 2])
        lab = gt[:, 2] > 0
        assert np.abs(back[lab] - gt[lab, :2]).max() < 1e-3
        rotations.append(m["rotation"])
    if augment is not NO_AUGMENT:
        assert np.count_nonzero(rotations) >= len(ds) - 2  # rotation really was exercised


@needs_sample
def test_flipped_crop_swaps_left_and_right():
    size = (192, 256)
    plain = _dataset(size)[0]
    flipped = _dataset(size, train=True, augment=AugmentConfig(flip_prob=1.0, scale_factor=0.0,
                                                               rotation_prob=0.0, half_body_prob=0.0))[0]
    assert flipped["meta"]["flip"]
    left_wrist, right_wrist = COCO17.keypoint_names.index("left_wrist"), COCO17.keypoint_names.index("right_wrist")
    p, f = plain["meta"]["kpts_input"], flipped["meta"]["kpts_input"]
    np.testing.assert_allclose(f[right_wrist], [size[0] - 1 - p[left_wrist, 0], p[left_wrist, 1]], atol=1e-9)
    np.testing.assert_allclose(f[:, 0], size[0] - 1 - p[COCO17.flip_index, 0], atol=1e-9)
    # the pixels are mirrored too, and the target of the right slot is the mirrored left one
    diff = np.abs(denormalize(flipped["image"]).astype(int) - denormalize(plain["image"])[:, ::-1].astype(int))
    assert diff.max() <= 1
    torch.testing.assert_close(flipped["targets"][0][right_wrist], plain["targets"][0][left_wrist].flip(0))


@needs_sample
def test_detection_boxes_load_with_threshold():
    ds = _dataset(bbox_file=DETS)
    assert len(ds) == 118
    s = ds[5]["meta"]
    assert s["ann_id"] == -1 and 0 < s["score"] <= 1 and s["area"] > 0
    strict = _dataset(bbox_file=DETS, det_score_thr=0.5)
    scores = np.array([d["score"] for d in json.loads(DETS.read_text())])
    assert len(strict) == int((scores >= 0.5).sum()) < 118 and strict.skipped == {"below_score": 118 - len(strict)}
    with pytest.raises(ValueError, match="evaluation"):
        _dataset(bbox_file=DETS, train=True)


@needs_sample
def test_same_seed_same_sample_and_epochs_differ():
    ds = _dataset((64, 64), train=True, seed=7)
    a, b = ds.crop_params(4), ds.crop_params(4)
    np.testing.assert_array_equal(a[1], b[1])
    ds.set_epoch(1)
    assert ds.crop_params(4)[1][0] != a[1][0]


@needs_sample
def test_dataloader_two_workers_matches_one_process():
    ds = _dataset((64, 64), train=True, seed=1)
    batches = {}
    for workers in (0, 2):
        loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=workers, shuffle=False)
        batches[workers] = list(loader)
    assert len(batches[2]) == 3
    b0, b2 = batches[0][1], batches[2][1]
    assert b2["image"].shape == (4, 3, 64, 64) and b2["meta"]["centre"].shape == (4, 2)
    assert b2["meta"]["kpts_input"].dtype == torch.float64
    for a, b in zip(batches[0], batches[2]):  # per-sample generators: worker count changes nothing
        torch.testing.assert_close(a["image"], b["image"])
        torch.testing.assert_close(a["meta"]["kpts_input"], b["meta"]["kpts_input"])
    assert not torch.equal(b0["image"], batches[0][0]["image"])


# ---------------------------------------------------------------------------------------------------
# Malformed files: clear errors naming the file and the record, or counted skips
# ---------------------------------------------------------------------------------------------------
def _person(ann_id, image_id=1, kpts=None, **kw):
    kpts = kpts if kpts is not None else [[10 + i, 20 + 2 * i, 2] for i in range(17)]
    a = dict(id=ann_id, image_id=image_id, category_id=1, iscrowd=0, bbox=[5.0, 10.0, 30.0, 50.0], area=900.0,
             num_keypoints=sum(v > 0 for _, _, v in kpts), keypoints=[float(c) for k in kpts for c in k])
    a.update(kw)
    return a


def _write(tmp_path, annotations, categories=None, images=None, make_image=True):
    cats = categories if categories is not None else [dict(id=1, name="person", keypoints=list(COCO17.keypoint_names),
                                                           skeleton=[])]
    images = images if images is not None else [dict(id=1, file_name="a.png", width=64, height=80)]
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(dict(images=images, annotations=annotations, categories=cats)))
    if make_image:
        from PIL import Image

        Image.new("RGB", (64, 80), (90, 120, 150)).save(tmp_path / "a.png")
    return path


def test_missing_image_names_file_and_record(tmp_path):
    path = _write(tmp_path, [_person(41)], make_image=False)
    with pytest.raises(FileNotFoundError, match=r"a\.png.*image id 1, record 41"):
        TopDownDataset(path, tmp_path, (64, 64), StubCodec((64, 64)))


@pytest.mark.parametrize("drop,match", [("keypoints", "lacks.*keypoints"), ("bbox", "lacks.*bbox"),
                                        ("image_id", "lacks.*image_id"), ("id", "lacks.*'id'")])
def test_missing_fields_name_the_record(tmp_path, drop, match):
    bad = _person(7)
    del bad[drop]
    path = _write(tmp_path, [_person(3), bad])
    ids = f"id {bad.get('id')}, image_id {bad.get('image_id')}"
    with pytest.raises(ValueError, match=rf"ann\.json: annotations\[1\] \({ids}\) {match}"):
        load_annotations(path)


def test_wrong_keypoint_count_and_unknown_image(tmp_path):
    with pytest.raises(ValueError, match=r"annotations\[0\] \(id 5.*30 keypoint values, expected 3 x 17"):
        load_annotations(_write(tmp_path, [_person(5, kpts=[[1, 1, 2]] * 10)]))
    with pytest.raises(ValueError, match=r"id 6, image_id 9.*missing from 'images'"):
        load_annotations(_write(tmp_path, [_person(6, image_id=9)]))
    with pytest.raises(ValueError, match="no category with 'keypoints'"):
        load_annotations(_write(tmp_path, [_person(6)], categories=[dict(id=1, name="person")]))
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"x\.json: not valid JSON"):
        load_annotations(tmp_path / "x.json")


def test_unusable_people_are_skipped_and_counted(tmp_path, caplog):
    outside = [[10 + i, 20, 2] for i in range(17)]
    outside[4] = [200, 20, 2]  # the image is 64 px wide
    people = [_person(1), _person(2, kpts=[[0, 0, 0]] * 17), _person(3, bbox=[10, 10, 0, 40]),
              _person(4, kpts=outside), _person(5, iscrowd=1), _person(6, bbox=[100, 100, 20, 20])]
    ds = TopDownDataset(_write(tmp_path, people), tmp_path, (64, 64), StubCodec((64, 64)))
    assert ds.records.ann_ids.tolist() == [1]
    assert ds.skipped == {"no_keypoints": 1, "empty_box": 2, "keypoint_outside_image": 1, "iscrowd": 1}
    assert ds[0]["weights"].sum() > 0
    assert "1 keypoint_outside_image (e.g. annotation id 4)" in caplog.text  # reported, not silent


def test_detection_file_errors(tmp_path):
    path = _write(tmp_path, [_person(1)])
    gt = load_annotations(path)
    (tmp_path / "det.json").write_text(json.dumps([dict(image_id=3, bbox=[0, 0, 10, 10], score=0.9)]))
    with pytest.raises(ValueError, match=r"det\.json: record \[0\] refers to image id 3"):
        TopDownDataset(path, tmp_path, (64, 64), StubCodec((64, 64)), bbox_file=tmp_path / "det.json")
    (tmp_path / "det.json").write_text(json.dumps([dict(image_id=1, bbox=[0, 0, 10, 10])]))
    with pytest.raises(ValueError, match=r"record \[0\] lacks \['score'\]"):
        TopDownDataset(path, tmp_path, (64, 64), StubCodec((64, 64)), bbox_file=tmp_path / "det.json")
    assert len(gt) == 1


def test_other_skeleton_from_file(tmp_path):
    cat = dict(id=1, name="person", keypoints=list(CROWDPOSE14.keypoint_names), skeleton=[[13, 14]])
    kpts = [[10 + 2 * i, 20 + 3 * i, 2] for i in range(14)]
    path = _write(tmp_path, [_person(1, kpts=kpts)], categories=[cat])
    ds = TopDownDataset(path, tmp_path, (48, 64), StubCodec((48, 64)), train=True,
                        augment=AugmentConfig(flip_prob=1.0))
    assert ds.spec.num_keypoints == 14 and ds.spec.sigmas == CROWDPOSE14.sigmas
    s = ds[0]
    assert s["targets"][0].shape == (14, 48) and s["meta"]["kpts_input"].shape == (14, 2)
    # unknown names without sigmas: a clear error; with sigmas in the category: fine
    cat["keypoints"] = [f"kp{i}" for i in range(14)]
    with pytest.raises(ValueError, match="ann.json: category 1: no OKS sigmas"):
        load_annotations(_write(tmp_path, [_person(1, kpts=kpts)], categories=[cat]))
    cat["sigmas"] = [0.05] * 14
    assert load_annotations(_write(tmp_path, [_person(1, kpts=kpts)], categories=[cat])).spec.num_keypoints == 14
    with pytest.raises(ValueError, match="spec 'coco17' has 17"):
        load_annotations(path, spec="coco17")


def test_coco_paths(tmp_path, monkeypatch):
    monkeypatch.delenv("SIMCC_LAB_COCO", raising=False)
    with pytest.raises(FileNotFoundError, match="SIMCC_LAB_COCO"):
        coco_paths()
    with pytest.raises(FileNotFoundError, match="person_keypoints_val2017.json"):
        coco_paths(tmp_path)
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "person_keypoints_train2017.json").write_text("{}")
    (tmp_path / "train2017").mkdir()
    monkeypatch.setenv("SIMCC_LAB_COCO", str(tmp_path))
    assert coco_paths(split="train") == (tmp_path / "annotations" / "person_keypoints_train2017.json",
                                         tmp_path / "train2017")


@needs_sample
def test_real_codecs_make_targets():
    codecs = pytest.importorskip("simcc_lab.codecs")
    size = (96, 128)
    s = TopDownDataset(GT, SAMPLE, size, codecs.SimCCCodec(input_size=size, k=2.0))[0]
    assert [tuple(t.shape) for t in s["targets"]] == [(17, 192), (17, 256)]
    assert all(t.dtype == torch.float32 for t in s["targets"])
    h = TopDownDataset(GT, SAMPLE, size, codecs.HeatmapCodec(input_size=size, stride=4))[0]
    assert [tuple(t.shape) for t in h["targets"]] == [(17, 32, 24)]
    # the decoded targets give back the keypoints (to the codec's quantisation)
    x, y = (t[None].numpy() for t in s["targets"])
    kp, _ = codecs.SimCCCodec(input_size=size, k=2.0).decode(x, y)
    w = s["weights"].numpy() > 0
    assert np.abs(kp[0][w] - s["meta"]["kpts_input"][w]).max() <= 0.25 + 1e-6
