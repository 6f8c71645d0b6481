"""SynthPose: sub-pixel exact rendering, COCO labelling rules, determinism, caching and the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

from simcc_lab.data import poses, render, synthetic
from simcc_lab.data.synthetic import ensure_dataset, generate, generate_splits, render_scene

SIZE = (128, 96)  # small, non-square: catches W/H mix-ups and keeps the tests fast


def _centroid(cov: render.Coverage) -> np.ndarray:
    """Intensity centroid (x, y) in image pixels of a coverage patch."""
    h, w = cov.alpha.shape
    total = cov.alpha.sum(dtype=np.float64)
    x = (cov.alpha.sum(0, dtype=np.float64) * np.arange(cov.x0, cov.x0 + w)).sum() / total
    y = (cov.alpha.sum(1, dtype=np.float64) * np.arange(cov.y0, cov.y0 + h)).sum() / total
    return np.array([x, y])


SUBPIXEL = [(20.0, 30.0), (20.25, 30.5), (20.37, 29.81), (20.5, 30.13), (19.93, 30.71)]


@pytest.mark.parametrize("centre", SUBPIXEL)
@pytest.mark.parametrize("radius", [1.5, 3.0, 4.6])
def test_disc_centroid_is_the_continuous_centre(centre, radius):
    cov = render.capsule_coverage(centre, centre, radius, radius, (64, 64))
    assert np.abs(_centroid(cov) - centre).max() < 0.02


@pytest.mark.parametrize("centre", SUBPIXEL)
def test_capsule_ellipse_polygon_centroids_are_sub_pixel_exact(centre):
    c = np.array(centre)
    d = np.array([7.3, -4.1])
    shapes = {
        "capsule": render.capsule_coverage(c - d, c + d, 2.7, 2.7, (64, 64)),
        "ellipse": render.ellipse_coverage(c, 9.0, 4.2, 0.6, (64, 64)),
        "polygon": render.polygon_coverage(c + np.array([[6, 2], [-2, 6], [-6, -2], [2, -6]]) * 1.3, (64, 64)),
    }
    for name, cov in shapes.items():
        assert np.abs(_centroid(cov) - c).max() < 0.02, name


def test_rendered_uint8_disc_centroid_and_half_pixel_shift_is_detected():
    """Through the canvas and uint8 rounding the truth survives; a 0.5-px convention slip would not."""
    centre = np.array([31.3, 17.62])
    canvas = render.Canvas(np.zeros((48, 64, 3), np.float32))
    canvas.paint(render.capsule_coverage(centre, centre, 5.0, 5.0, canvas.size), (255, 255, 255), label=7)
    img = canvas.to_uint8()[..., 0].astype(float)
    ys, xs = np.mgrid[:48, :64]
    got = np.array([(img * xs).sum(), (img * ys).sum()]) / img.sum()
    assert np.abs(got - centre).max() < 0.02
    # the owner map marks exactly the pixel centres inside the disc
    inside = np.hypot(xs - centre[0], ys - centre[1]) <= 5.0
    assert np.array_equal(canvas.owner == 7, inside)


def test_shapes_outside_the_image_give_none():
    assert render.capsule_coverage((-30, -30), (-20, -25), 2, 2, (32, 32)) is None
    assert render.ellipse_coverage((100, 5), 3, 2, 0.0, (32, 32)) is None
    assert render.polygon_coverage([(40, 40), (50, 40), (45, 50)], (32, 32)) is None


def test_left_right_and_face_follow_the_facing_direction():
    rng = np.random.default_rng(3)

    def people(yaw):
        return [poses.sample_person(rng, 200, (128, 128), rotation=0.0, family="standing", yaw=yaw) for _ in range(30)]

    front, back, profile = people(0.0), people(np.pi), people(np.pi / 2)
    # facing the camera, the person's left (COCO "left_*") is on the image right; from behind, on the left
    for a, b in ((5, 6), (11, 12), (1, 2)):
        assert all(p.keypoints[a, 0] > p.keypoints[b, 0] for p in front)
        assert all(p.keypoints[a, 0] < p.keypoints[b, 0] for p in back)
    # the head turns up to +-60 deg on the body, so the face rules hold for most people, not all
    assert np.mean([not p.self_hidden[:3].any() for p in front]) > 0.9
    assert np.mean([p.self_hidden[:3].all() for p in back]) > 0.9  # eyes and nose turned away
    assert np.mean([p.self_hidden[1] != p.self_hidden[2] and p.self_hidden[3] != p.self_hidden[4]
                    for p in profile]) > 0.6  # in profile the far eye and ear are hidden
    assert not any(p.self_hidden[5:].any() for p in front + back + profile)  # only the face self-hides
    front = front[0]
    # joints lie on the axis ends of the capsules that meet there (the keypoints are the rendered joints)
    ends = {q.part: q.geom[0] for q in front.parts if q.kind == "capsule"}
    assert np.allclose(ends[poses.L_UPPER_ARM][1], front.keypoints[7])
    assert np.allclose(ends[poses.L_FOREARM][0], front.keypoints[7])
    assert np.allclose(ends[poses.R_SHIN][1], front.keypoints[16])
    assert np.allclose(ends[poses.NOSE][0], front.keypoints[0])


@pytest.fixture(scope="module")
def scenes():
    return {crowded: [render_scene(np.random.default_rng(i), SIZE, crowded) for i in range(24)]
            for crowded in (False, True)}


def test_scene_labels_follow_coco_rules(scenes):
    w, h = SIZE
    counts = np.zeros(3, int)
    for image, people in scenes[False] + scenes[True]:
        assert image.shape == (h, w, 3) and image.dtype == np.uint8
        for p in people:
            kp, v = p["keypoints"], p["visible"]
            assert kp.shape == (17, 2) and v.shape == (17,) and set(np.unique(v)) <= {0, 1, 2}
            counts += np.bincount(v, minlength=3)
            assert np.all(kp[v == 0] == 0)
            lab = kp[v > 0]
            assert np.all((lab >= -0.5) & (lab < (w - 0.5, h - 0.5)))
            assert p["num_keypoints"] == int((v > 0).sum())
            x, y, bw, bh = p["bbox"]
            assert bw > 0 and bh > 0 and x >= -0.5 and y >= -0.5 and x + bw <= w - 0.5 and y + bh <= h - 0.5
            assert 0 <= p["area"] <= bw * bh
            assert np.all((lab >= (x, y)) & (lab <= (x + bw, y + bh)))
            if p["num_keypoints"]:
                assert p["area"] > 0
    # all three labels occur: frame edges (0), occlusion (1), visible (2)
    assert counts.min() > 20, counts


def test_crowded_scenes_have_more_people(scenes):
    mean = {c: np.mean([len(p) for _, p in scenes[c]]) for c in scenes}
    assert mean[True] > 1.8 * mean[False]
    assert mean[False] >= 1.5


def test_render_scene_is_deterministic_by_rng():
    a_img, a = render_scene(np.random.default_rng(11), SIZE)
    b_img, b = render_scene(np.random.default_rng(11), SIZE)
    c_img, _ = render_scene(np.random.default_rng(12), SIZE)
    assert np.array_equal(a_img, b_img) and not np.array_equal(a_img, c_img)
    assert all(np.array_equal(p["keypoints"], q["keypoints"]) for p, q in zip(a, b))


def test_generate_writes_a_coco_file_pycocotools_loads(tmp_path):
    from PIL import Image
    from pycocotools.coco import COCO

    ann = generate(tmp_path, 5, seed=3, size=SIZE, progress=False)
    assert ann == tmp_path / "train.json"
    coco = COCO(str(ann))
    assert sorted(coco.getImgIds()) == [1, 2, 3, 4, 5]
    cat = coco.loadCats(1)[0]
    assert cat["keypoints"][0] == "nose" and len(cat["keypoints"]) == 17 and [16, 14] in cat["skeleton"]
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) >= 5 and len({a["id"] for a in anns}) == len(anns)
    for a in anns:
        kp = np.array(a["keypoints"]).reshape(17, 3)
        assert a["num_keypoints"] == int((kp[:, 2] > 0).sum()) and a["iscrowd"] == 0 and a["category_id"] == 1
        assert np.all(kp[kp[:, 2] == 0, :2] == 0)
    for img in coco.loadImgs(coco.getImgIds()):
        with Image.open(tmp_path / "train" / "images" / img["file_name"]) as im:
            assert im.size == (img["width"], img["height"]) == SIZE


def test_ground_truth_scores_perfect_ap_with_cocoeval(tmp_path, capsys):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    coco = COCO(str(generate(tmp_path, 4, seed=5, size=SIZE, progress=False)))
    results = [dict(image_id=a["image_id"], category_id=1, keypoints=a["keypoints"], score=1.0)
               for a in coco.loadAnns(coco.getAnnIds()) if a["num_keypoints"] > 0]
    ev = COCOeval(coco, coco.loadRes(results), "keypoints")
    ev.evaluate(), ev.accumulate(), ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_same_seed_same_bytes_other_seed_or_split_differs(tmp_path):
    a = generate(tmp_path / "a", 3, seed=1, size=SIZE, progress=False)
    b = generate(tmp_path / "b", 3, seed=1, size=SIZE, progress=False)
    c = generate(tmp_path / "c", 3, seed=2, size=SIZE, progress=False)
    v = generate(tmp_path / "a", 3, seed=1, split="val", size=SIZE, progress=False)
    assert a.read_bytes() == b.read_bytes()
    for name in ("000000.png", "000002.png"):
        assert (tmp_path / "a/train/images" / name).read_bytes() == (tmp_path / "b/train/images" / name).read_bytes()
    strip = lambda p: json.dumps(json.loads(p.read_text())["annotations"])  # noqa: E731
    assert strip(a) != strip(c) and strip(a) != strip(v)


def test_worker_pool_gives_identical_output(tmp_path):
    a = generate(tmp_path / "a", 4, seed=9, size=SIZE, workers=2, progress=False)
    b = generate(tmp_path / "b", 4, seed=9, size=SIZE, workers=0, progress=False)
    assert a.read_bytes() == b.read_bytes()
    name = "train/images/000003.png"
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_ensure_dataset_reuses_complete_and_rebuilds_incomplete(tmp_path, monkeypatch):
    kw = dict(num_train=3, num_val=2, seed=0, crowded=False, size=SIZE, progress=False)
    out = ensure_dataset(tmp_path, "tiny", **kw)
    assert set(out) == {"train", "val"}
    for ann, images in out.values():
        assert ann.exists() and images.is_dir()
    assert len(json.loads(out["val"][0].read_text())["images"]) == 2

    calls = []
    real = synthetic.generate_splits
    monkeypatch.setattr(synthetic, "generate_splits", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert ensure_dataset(tmp_path, "tiny", **kw) == out and calls == []  # complete: reused
    (tmp_path / "tiny" / "manifest.json").unlink()  # as if interrupted before the manifest
    ensure_dataset(tmp_path, "tiny", **kw)
    assert calls == [1]
    ensure_dataset(tmp_path, "tiny", **dict(kw, num_train=2))  # other parameters: rebuilt
    assert calls == [1, 1] and sorted(p.name for p in out["train"][1].iterdir()) == ["000000.png", "000001.png"]


def test_default_cache_dir_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SIMCC_LAB_CACHE", str(tmp_path))
    assert synthetic.default_cache_dir() == tmp_path
    monkeypatch.delenv("SIMCC_LAB_CACHE")
    assert synthetic.default_cache_dir().parts[-3:] == ("data", "cache", "synthpose")


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_images=0), "num_images"), (dict(seed=-1), "seed"), (dict(split="test"), "split"),
    (dict(size=(8, 64)), "size"), (dict(size=(64,)), "size"), (dict(workers=-1), "workers"),
    (dict(num_images=2.5), "num_images"),
])
def test_generate_rejects_bad_arguments(tmp_path, kwargs, match):
    args = dict(out_dir=tmp_path, num_images=2, progress=False) | kwargs
    with pytest.raises(ValueError, match=match):
        generate(**args)


def test_other_entry_points_reject_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="size"):
        render_scene(np.random.default_rng(0), (0, 64))
    with pytest.raises(ValueError, match="name"):
        ensure_dataset(tmp_path, "../escape", 2, 2, 0, False, SIZE)
    with pytest.raises(ValueError, match="num_val"):
        generate_splits(tmp_path, 2, 0, size=SIZE, progress=False)
    with pytest.raises(ValueError, match="height"):
        poses.sample_person(np.random.default_rng(0), 0.0, (10, 10))
    with pytest.raises(ValueError, match="family"):
        poses.sample_person(np.random.default_rng(0), 50.0, (10, 10), family="flying")


def test_cli_synth_both_splits(tmp_path, capsys):
    from simcc_lab.cli import build_parser

    args = build_parser().parse_args(["synth", "--out", str(tmp_path), "--num-images", "3", "--seed", "4",
                              "--split", "both", "--size", "96x64", "--crowded"])
    assert args.func(args) == 0
    train = json.loads((tmp_path / "train.json").read_text())
    val = json.loads((tmp_path / "val.json").read_text())
    assert len(train["images"]) == 3 and len(val["images"]) == 1  # val defaults to N // 10, at least 1
    assert train["images"][0]["width"] == 96 and train["info"]["crowded"] is True
