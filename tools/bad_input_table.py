"""Try malformed inputs and faults as a new user would, and write what they see as a table (docs/bad_input.md).

    PYTHONPATH=. python tools/bad_input_table.py --before docs/bad_input_before.json --out docs/bad_input.md

Each case builds its bad input in a temporary folder, runs the command (``simcc_lab.cli.main``, in this process)
or the library call, and records the outcome class:

* **clean error**: exit code 2 (or a ValueError / FileNotFoundError from a library call) with one line that
  names what the case says it must (the file, the field, the flag);
* **unclear**: an error of that kind whose message does not name it, or that takes more than one line;
* **handled**: it runs, and the result is right (a repair, where one is documented, with its notice);
* **traceback**: any other exception;
* **silent**: it runs, and the result is wrong (or an error was due and none came);
* **data loss**: a finished run's files were replaced or mixed.

The script only uses APIs that existed before issue 21, so running it against an older checkout
(``PYTHONPATH=old_checkout``) measures the "before" column.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from simcc_lab.cli import main
from simcc_lab.keypoints import COCO17

CASES = []
CLASSES = ("clean error", "handled", "unclear", "traceback", "silent", "data loss")


def case(group: str, name: str, expect: str = "error", names=()):
    """Register ``build(tmp) -> outcome``; ``expect``: "error" (a refusal that names ``names``) or "handled"."""
    def register(build):
        CASES.append(dict(group=group, name=name, expect=expect, names=tuple(names), build=build))
        return build
    return register


# ---------------------------------------------------------------------------------------------------
# running and classifying
# ---------------------------------------------------------------------------------------------------
def cli(argv):
    """(exit code, stdout, stderr, exception or None) of ``simcc-lab argv`` in this process."""
    out, err = io.StringIO(), io.StringIO()
    exc, code = None, None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:  # argparse: usage + one error line, exit 2
            code = e.code
        except BaseException as e:  # noqa: BLE001 - what escapes is what the user sees as a traceback
            exc = e
    return code, out.getvalue(), err.getvalue(), exc


def call(fn):
    """(result, exception or None) of a library call, its warnings swallowed."""
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            return fn(), None
        except BaseException as e:  # noqa: BLE001
            return None, e


def error_line(err: str) -> list[str]:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    return [ln for ln in lines if "error:" in ln] or lines[-1:]


def from_cli(c, expect, names, ok=None, exit_ok=0):
    """Classify a CLI run. ``ok(stdout)`` says whether a successful run's result is right."""
    code, out, err, exc = c
    if exc is not None or "Traceback" in err:
        return "traceback", f"{type(exc).__name__}: {str(exc).splitlines()[0][:100] if str(exc) else ''}" \
            if exc is not None else err.strip().splitlines()[-1][:120]
    if code == 2:
        lines = error_line(err)
        text = lines[-1] if lines else ""
        if expect == "handled":
            return "unclear", text[:160]  # refused what should have worked
        named = all(n in text for n in names)
        single = len([ln for ln in err.strip().splitlines() if ln.startswith("simcc-lab")]) <= 1
        return ("clean error" if named and single else "unclear"), text[:160]
    if code == exit_ok:
        right = ok(out) if ok else True
        if expect == "handled" and right:
            return "handled", (out.strip().splitlines() or [""])[-1][:120]
        shown = [ln for ln in out.strip().splitlines() if ln.startswith("AP:")] or out.strip().splitlines() or [""]
        return "silent", "exit 0: " + shown[-1][:120]
    return "traceback", f"exit {code}: {err.strip()[-120:]}"


def from_call(r, expect, names, ok=None):
    result, exc = r
    if exc is not None:
        if isinstance(exc, (ValueError, FileNotFoundError)):
            text = str(exc).splitlines()[0] if str(exc) else ""
            if expect == "handled":
                return "unclear", text[:160]
            return ("clean error" if all(n in str(exc) for n in names) else "unclear"), text[:160]
        return "traceback", f"{type(exc).__name__}: {str(exc)[:100]}"
    right = ok(result) if ok else True
    if expect == "handled" and right:
        return "handled", repr(result)[:120]
    return "silent", "returned " + repr(result)[:120]


# ---------------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------------
def ground_truth() -> dict:
    """Two 64x80 images, three people with every keypoint labelled inside their boxes."""
    anns = []
    for i in range(3):
        kpts = [[8 + 2 * j + 10 * (i % 2), 10 + 3 * j, 2] for j in range(17)]
        anns.append(dict(id=i + 1, image_id=1 + i // 2, category_id=1, iscrowd=0, bbox=[4.0, 6.0, 50.0, 70.0],
                         area=2500.0, num_keypoints=17, keypoints=[float(c) for p in kpts for c in p]))
    images = [dict(id=i, file_name=f"{i}.png", width=64, height=80) for i in (1, 2)]
    cat = dict(id=1, name="person", supercategory="person", keypoints=list(COCO17.keypoint_names), skeleton=[])
    return dict(images=images, annotations=anns, categories=[cat])


def results(gt, by=0.0) -> list:
    out = []
    for a in gt["annotations"]:
        kp = [v + by if j % 3 < 2 else 1.0 for j, v in enumerate(a["keypoints"])]
        out.append(dict(image_id=a["image_id"], category_id=1, keypoints=kp, score=1.0))
    return out


def write(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def coco_root(tmp: Path, gt=None, images=None) -> Path:
    """A COCO-layout folder (train = val = ``gt``) with 64x80 PNGs; ``images``: file name -> bytes or image."""
    gt = gt or ground_truth()
    root = tmp / "coco"
    for split in ("train", "val"):
        write(root / "annotations" / f"person_keypoints_{split}2017.json", gt)
        (root / f"{split}2017").mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        for im in gt["images"]:
            if isinstance(im, dict) and isinstance(im.get("file_name"), str) and "/" not in im["file_name"]:
                pixels = rng.integers(60, 200, (80, 64, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / f"{split}2017" / im["file_name"])
        for name, content in (images or {}).items():
            target = root / f"{split}2017" / name
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                content.save(target)
    return root


def train_args(root: Path, out: Path, *extra) -> list:
    return ["train", "--dataset", "coco", "--coco-root", root, "--input-size", "32x32", "--epochs", "1",
            "--batch-size", "2", "--workers", "0", "--progress", "false", "--flip-test", "false", "--device", "cpu",
            "--threads", "1", "--out-dir", out, *extra]


def oracle(tmp, gt, *extra):
    return cli(["oracle", "--data", write(tmp / "gt.json", gt), "--input-size", "64x64", *extra])


def people(n):
    return lambda out: f"num_people: {n}" in out and "AP: 1.0000" in out


def set_(d, path, value):
    node = d
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return d


# ---------------------------------------------------------------------------------------------------
# annotation files (simcc-lab oracle: no images needed; the clean file scores AP 1 on 3 people)
# ---------------------------------------------------------------------------------------------------
GT_ERRORS = [
    ("two annotations share an id", ("annotations", 2, "id"), 1, ("gt.json", "annotations[2]", "'id'")),
    ("annotation id null", ("annotations", 0, "id"), None, ("gt.json", "annotations[0]", "'id'")),
    ("annotation id 2**70", ("annotations", 0, "id"), 2 ** 70, ("gt.json", "annotations[0]", "'id'")),
    ("annotation id a string", ("annotations", 1, "id"), "2", ("gt.json", "annotations[1]", "'id'")),
    ("duplicated image id", ("images", 1, "id"), 1, ("gt.json", "images[1]", "'id'")),
    ("image id a string", ("images", 0, "id"), "1", ("gt.json", "images[0]", "'id'")),
    ("images[0] a list", ("images", 0), [1, "1.png"], ("gt.json", "images[0]")),
    ("file_name an int", ("images", 0, "file_name"), 5, ("gt.json", "images[0]", "file_name")),
    ("absolute file_name", ("images", 0, "file_name"), "/etc/hostname", ("gt.json", "images[0]", "file_name")),
    ("file_name with ..", ("images", 0, "file_name"), "../1.png", ("gt.json", "images[0]", "file_name")),
    ("iscrowd \"0\" (a string)", ("annotations", 0, "iscrowd"), "0", ("gt.json", "annotations[0]", "iscrowd")),
    ("iscrowd 2", ("annotations", 0, "iscrowd"), 2, ("gt.json", "annotations[0]", "iscrowd")),
    ("visibility true", ("annotations", 0, "keypoints", 2), True, ("gt.json", "annotations[0]", "keypoints")),
    ("coordinate true", ("annotations", 1, "keypoints", 0), True, ("gt.json", "annotations[1]", "keypoints")),
    ("area true", ("annotations", 1, "area"), True, ("gt.json", "annotations[1]", "area")),
    ("image_id a list", ("annotations", 0, "image_id"), [1], ("gt.json", "annotations[0]", "image_id")),
    ("NaN keypoint", ("annotations", 1, "keypoints", 9), float("nan"), ("gt.json", "annotations[1]", "keypoints")),
    ("visibility 7", ("annotations", 0, "keypoints", 5), 7, ("gt.json", "annotations[0]", "visibility")),
    ("width a string", ("images", 0, "width"), "abc", ("gt.json", "images[0]", "width")),
    ("no annotations", ("annotations",), [], ("gt.json", "no annotations")),
]
for _name, _path, _value, _names in GT_ERRORS:
    def _build(tmp, path=_path, value=_value, names=_names):
        return from_cli(oracle(tmp, set_(ground_truth(), path, value)), "error", names, people(3))
    case("annotation file", _name, names=_names)(_build)


@case("annotation file", "every annotation id = 1", names=("gt.json", "'id'"))
def _(tmp):
    gt = ground_truth()
    for a in gt["annotations"]:
        a["id"] = 1
    return from_cli(oracle(tmp, gt), "error", ("gt.json", "'id'"), people(3))


@case("annotation file", "a non-person category's annotation", expect="handled")
def _(tmp):
    gt = ground_truth()
    gt["categories"].append(dict(id=2, name="dog"))
    gt["annotations"].append(dict(gt["annotations"][0], id=9, category_id=2))
    return from_cli(oracle(tmp, gt), "handled", (), people(3))


@case("annotation file", "a category id absent from categories", expect="handled")
def _(tmp):
    gt = ground_truth()
    gt["annotations"].append(dict(gt["annotations"][0], id=9, category_id=5))
    return from_cli(oracle(tmp, gt), "handled", (), people(3))


@case("annotation file", "num_keypoints 0 everywhere", expect="handled")
def _(tmp):
    gt = ground_truth()
    for a in gt["annotations"]:
        a["num_keypoints"] = 0
    return from_cli(oracle(tmp, gt), "handled", (), people(3))


@case("annotation file", "0-byte file", names=("gt.json", "empty"))
def _(tmp):
    (tmp / "gt.json").write_bytes(b"")
    return from_cli(cli(["oracle", "--data", tmp / "gt.json", "--input-size", "64x64"]), "error", ("gt.json", "empty"))


@case("annotation file", "truncated JSON", names=("gt.json", "JSON"))
def _(tmp):
    (tmp / "gt.json").write_text(json.dumps(ground_truth())[:200])
    return from_cli(cli(["oracle", "--data", tmp / "gt.json", "--input-size", "64x64"]), "error", ("gt.json", "JSON"))


@case("annotation file", "a JPEG given as --data", names=("photo.jpg", "JSON"))
def _(tmp):
    Image.new("RGB", (8, 8)).save(tmp / "photo.jpg")
    return from_cli(cli(["oracle", "--data", tmp / "photo.jpg", "--input-size", "64x64"]), "error",
                    ("photo.jpg", "JSON"))


@case("annotation file", "JSON nested 200,000 deep", names=("deep.json",))
def _(tmp):
    (tmp / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    return from_cli(cli(["oracle", "--data", tmp / "deep.json", "--input-size", "64x64"]), "error", ("deep.json",))


@case("annotation file", "a folder given as --data", names=("gt",))
def _(tmp):
    (tmp / "gt").mkdir()
    return from_cli(cli(["oracle", "--data", tmp / "gt", "--input-size", "64x64"]), "error", ("gt",))


@case("annotation file", "a missing file", names=("nope.json",))
def _(tmp):
    return from_cli(cli(["oracle", "--data", tmp / "nope.json", "--input-size", "64x64"]), "error", ("nope.json",))


# ---------------------------------------------------------------------------------------------------
# result files (evaluate_coco: the clean results score AP 1)
# ---------------------------------------------------------------------------------------------------
def evaluate(tmp, res, gt=None):
    from simcc_lab.evaluation.cocoeval import evaluate_coco

    gt_path = write(tmp / "gt.json", gt or ground_truth())
    return call(lambda: evaluate_coco(gt_path, write(tmp / "res.json", res)))


def same_as_plain(tmp, by=2.0):
    from simcc_lab.evaluation.cocoeval import evaluate_coco

    plain = evaluate_coco(write(tmp / "plain_gt.json", ground_truth()), results(ground_truth(), by))
    return lambda m: m == plain


RESULT_HANDLED = [("an extra 'bbox'", dict(bbox=[0, 0, 2, 2])), ("a 'segmentation' field", dict(segmentation=[[0, 0, 1, 1, 2, 2]])),
                  ("a 'caption' field", dict(caption="a person")), ("'bbox': \"abc\"", dict(bbox="abc"))]
for _name, _extra in RESULT_HANDLED:
    def _build(tmp, extra=_extra):
        res = [dict(r, **extra) for r in results(ground_truth(), 2.0)]
        return from_call(evaluate(tmp, res), "handled", (), same_as_plain(tmp))
    case("results file", "results with " + _name, expect="handled")(_build)

RESULT_ERRORS = [
    ("score true", lambda r: set_(r, (0, "score"), True), ("res.json", "result [0]", "score")),
    ("score [0.9] everywhere", lambda r: [dict(x, score=[0.9]) for x in r], ("res.json", "score")),
    ("coordinate true", lambda r: set_(r, (1, "keypoints", 0), True), ("res.json", "result [1]", "keypoints")),
    ("first record short", lambda r: set_(r, (0, "keypoints"), [1.0, 2.0, 1.0]), ("res.json", "result [0]")),
    ("image_id a list", lambda r: set_(r, (0, "image_id"), [1]), ("res.json", "result [0]", "image_id")),
    ("NaN score", lambda r: set_(r, (0, "score"), float("nan")), ("res.json", "result [0]", "score")),
    ("results a JSON object", lambda r: dict(results=r), ("res.json", "list")),
]
for _name, _mutate, _names in RESULT_ERRORS:
    def _build(tmp, mutate=_mutate, names=_names):
        return from_call(evaluate(tmp, mutate(results(ground_truth()))), "error", names, lambda m: m["AP"] == 1.0)
    case("results file", _name, names=_names)(_build)


@case("results file", "truncated results file", names=("res.json",))
def _(tmp):
    from simcc_lab.evaluation.cocoeval import evaluate_coco

    gt_path = write(tmp / "gt.json", ground_truth())
    (tmp / "res.json").write_text(json.dumps(results(ground_truth()))[:100])
    return from_call(call(lambda: evaluate_coco(gt_path, tmp / "res.json")), "error", ("res.json",))


# ---------------------------------------------------------------------------------------------------
# detection files (TopDownDataset with bbox_file: the boxes of an evaluation)
# ---------------------------------------------------------------------------------------------------
def detections(tmp, dets):
    from simcc_lab.data.topdown import TopDownDataset

    root = coco_root(tmp)
    det = write(tmp / "det.json", dets)
    return call(lambda: len(TopDownDataset(root / "annotations" / "person_keypoints_val2017.json", root / "val2017",
                                           (64, 64), None, bbox_file=det)))


DET_ERRORS = [
    ("every box of another category", [dict(image_id=1, bbox=[0, 0, 10, 10], score=0.9, category_id=2)]),
    ("every box 0x0", [dict(image_id=1, bbox=[5, 5, 0, 0], score=0.9)]),
    ("an empty detection file", []),
    ("image_id a string", [dict(image_id="1", bbox=[0, 0, 10, 10], score=0.9)]),
    ("a box with true", [dict(image_id=1, bbox=[0, 0, True, 10], score=0.9)]),
]
for _name, _dets in DET_ERRORS:
    def _build(tmp, dets=_dets):
        return from_call(detections(tmp, dets), "error", ("det.json",), lambda n: n > 0)
    case("detection file", _name, names=("det.json",))(_build)


# ---------------------------------------------------------------------------------------------------
# images (simcc-lab train on a COCO-layout folder; the 16-bit case reads a crop)
# ---------------------------------------------------------------------------------------------------
def _png_bytes(cut=None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (80, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    raw = buf.getvalue()
    return raw[:cut if cut is not None else len(raw)]


IMAGE_ERRORS = [
    ("a 0-byte image", b"", ()), ("a truncated image", _png_bytes(6000), ()),
    ("random bytes as an image", bytes(range(256)) * 20, ()),
    ("a 0-byte image, --crop-cache", b"", ("--crop-cache",)),
    ("a 1x1 image whose record says 64x80", Image.new("RGB", (1, 1)), ()),
    ("a 640x425 image whose record says 64x80", Image.new("RGB", (640, 425)), ()),
]
for _name, _content, _flags in IMAGE_ERRORS:
    def _build(tmp, content=_content, flags=_flags):
        root = coco_root(tmp, images={"1.png": content})
        return from_cli(cli(train_args(root, tmp / "run", *flags)), "error", ("1.png",))
    case("image", _name, names=("1.png",))(_build)


def _unreadable(tmp):
    root = coco_root(tmp)
    for split in ("train", "val"):
        os.chmod(root / f"{split}2017" / "1.png", 0)
    return from_cli(cli(train_args(root, tmp / "run")), "error", ("1.png",))


if os.name == "posix" and os.geteuid() != 0:  # root reads the file whatever its permissions: nothing to show
    case("image", "an unreadable image (chmod 000)", names=("1.png",))(_unreadable)


@case("image", "a 16-bit grayscale PNG", expect="handled")
def _(tmp):
    from simcc_lab.data.topdown import TopDownDataset, denormalize

    root = coco_root(tmp, images={"1.png": Image.fromarray(np.full((80, 64), 46_400, np.uint16))})
    ds = TopDownDataset(root / "annotations" / "person_keypoints_val2017.json", root / "val2017", (64, 64), None)
    return from_call(call(lambda: float(denormalize(ds[0]["image"])[20:40, 20:40].mean())), "handled", (),
                     lambda mean: abs(mean - 180.5) < 2)


# ---------------------------------------------------------------------------------------------------
# flags (each stops before any work) and output paths (checked before the work)
# ---------------------------------------------------------------------------------------------------
FLAGS = [(["--lr", "inf"], "--lr"), (["--weight-decay", "inf"], "--weight-decay"),
         (["--rotation-factor", "nan"], "--rotation-factor"), (["--rotation-factor", "inf"], "--rotation-factor"),
         (["--device", "bogus"], "--device"), (["--eval-epochs", "100"], "--eval-epochs"),
         (["--flip-prob", "2"], "--flip-prob"), (["--scale-factor", "1.5"], "--scale-factor")]
for _flags, _named in FLAGS:
    def _build(tmp, flags=_flags, named=_named):
        return from_cli(cli(train_args(coco_root(tmp), tmp / "run", *flags)), "error", (named,))
    case("flag", "train " + " ".join(_flags), names=(_named,))(_build)


@case("flag", "train --input-size 100000x100000 (not run before: it allocates ~100 GB)", names=("--input-size",))
def _(tmp):
    if not NEW:
        return "traceback", "(not run: the issue reports an allocation error)"
    return from_cli(cli(train_args(coco_root(tmp), tmp / "run", "--input-size", "100000x100000")), "error",
                    ("--input-size",))


@case("flag", "quantization --seed -1", names=("--seed",))
def _(tmp):
    return from_cli(cli(["quantization", "--seed", "-1", "--samples", "10", "--out", tmp / "q"]), "error", ("--seed",))


@case("output path", "train --out-dir an existing file", names=("afile",))
def _(tmp):
    (tmp / "afile").write_text("x")
    return from_cli(cli(train_args(coco_root(tmp), tmp / "afile")), "error", ("afile",))


@case("output path", "synth --out an existing file", names=("afile",))
def _(tmp):
    (tmp / "afile").write_text("x")
    return from_cli(cli(["synth", "--out", tmp / "afile", "--num-images", "2", "--size", "64x64"]), "error",
                    ("afile",))


@case("output path", "oracle --out a folder", names=("--out",))
def _(tmp):
    (tmp / "folder").mkdir()
    return from_cli(oracle(tmp, ground_truth(), "--out", tmp / "folder"), "error", ("folder",))


def trained(tmp) -> tuple[Path, Path]:
    """(COCO root, run folder) of a finished one-epoch run."""
    root = coco_root(tmp)
    c = cli(train_args(root, tmp / "run"))
    assert c[0] == 0, c
    return root, tmp / "run"


for _flag in ("--out-json", "--results-json"):
    def _build(tmp, flag=_flag):
        root, run = trained(tmp)
        (tmp / "folder").mkdir()
        return from_cli(cli(["eval", "--checkpoint", run / "last.pt", "--coco-root", root, "--flip-test", "false",
                             flag, tmp / "folder"]), "error", ("folder",))
    case("output path", f"eval {_flag} a folder", names=("folder",))(_build)


@case("flags", "eval --refinement dark on a SimCC model", names=("refinement", "heatmap"))
def _(tmp):
    root, run = trained(tmp)
    return from_cli(cli(["eval", "--checkpoint", run / "last.pt", "--coco-root", root, "--flip-test", "false",
                         "--refinement", "dark"]), "error", ("refinement", "heatmap"))


@case("flags", "reproduce --seeds a", names=("--seeds",))
def _(tmp):
    return from_cli(cli(["reproduce", "--mode", "tiny", "--seeds", "a", "--out", tmp / "rep"]), "error", ("--seeds",))


@case("flags", "epochs=2.5 from Python", names=("epochs", "whole"))
def _(tmp):
    from simcc_lab.training.config import config_from_preset

    return from_call(call(lambda: config_from_preset(None, epochs=2.5).epochs), "error", ("epochs", "whole"))


@case("library call", "flip_outputs with a flip index of the wrong length", names=("flip_index",))
def _(tmp):
    from simcc_lab.codecs import build_codec

    codec = build_codec("simcc", (64, 64))
    out = codec.encode(np.full((1, 17, 2), 20.0, np.float32)).targets
    return from_call(call(lambda: codec.flip_outputs(out, list(range(16)))), "error", ("flip_index",))


# ---------------------------------------------------------------------------------------------------
# checkpoints and run folders
# ---------------------------------------------------------------------------------------------------
for _name, _flags, _named in (("--resume with another codec", ["--codec", "heatmap"], "codec"),
                              ("--resume with another input size", ["--input-size", "48x48"], "input_size"),
                              ("--resume with another k", ["--k", "3"], "k ")):
    def _build(tmp, flags=_flags, named=_named):
        root, run = trained(tmp)
        args = train_args(root, run, "--resume", "--epochs", "2")
        return from_cli(cli(args + flags), "error", ("last.pt", named))
    case("checkpoint", _name, names=("last.pt", _named))(_build)


@case("checkpoint", "--resume from an exported model", names=("exported.pt",))
def _(tmp):
    from simcc_lab.training.checkpoint import export_model

    root, run = trained(tmp)
    export_model(run / "last.pt", tmp / "exported.pt")
    return from_cli(cli(train_args(root, tmp / "run2", "--resume", tmp / "exported.pt", "--epochs", "2")), "error",
                    ("exported.pt",))


@case("checkpoint", "eval of a file that is not a checkpoint", names=("x.pt",))
def _(tmp):
    (tmp / "x.pt").write_bytes(b"not a checkpoint")
    return from_cli(cli(["eval", "--checkpoint", tmp / "x.pt"]), "error", ("x.pt",))


def _run_bytes(run: Path) -> dict:
    return {p.name: p.read_bytes() for p in run.iterdir() if p.name in ("last.pt", "best.pt", "history.json")}


@case("run folder", "train again into a finished run without --resume", names=("--resume", "--overwrite"))
def _(tmp):
    root, run = trained(tmp)
    before = _run_bytes(run)
    outcome = from_cli(cli(train_args(root, run, "--seed", "1")), "error", ("--resume", "--overwrite"))
    if _run_bytes(run) != before:
        return "data loss", "the finished run's last.pt / best.pt / history were replaced"
    return outcome


@case("run folder", "train --overwrite into a finished run", expect="handled")
def _(tmp):
    root, run = trained(tmp)
    if not NEW:
        return "handled", "(no --overwrite flag before: training over a run was the default)"
    return from_cli(cli(train_args(root, run, "--seed", "1", "--overwrite")), "handled", ())


def _tiny_fit(out_dir, seed=0, on_epoch_end=None, resume=False, epochs=2, val=False):
    """engine.fit with stand-ins (a linear model on noise): fractions of a second."""
    import torch

    from simcc_lab.training import engine
    from simcc_lab.training.config import TrainConfig

    class Data(torch.utils.data.Dataset):
        spec = None

        def __len__(self):
            return 16

        def __getitem__(self, i):
            x = torch.randn(3, 4, 4, generator=torch.Generator().manual_seed(i))
            return dict(image=x, targets=(x.mean().repeat(2),), weights=torch.ones(1), meta=dict(index=i))

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 2)

        def forward(self, x):
            return (self.fc(x.mean(dim=(2, 3))),)

    cfg = TrainConfig(epochs=epochs, batch_size=8, workers=0, progress=False, flip_test=False, device="cpu",
                      out_dir=str(out_dir), seed=seed, resume=resume)
    torch.manual_seed(seed)
    with contextlib.redirect_stderr(io.StringIO()):
        return engine.fit(cfg, model=Net(), train_set=Data(), val_set=Data() if val else None,
                          loss=lambda o, t, w: ((o[0] - t[0]) ** 2).mean(), on_epoch_end=on_epoch_end)


@case("run folder", "two runs into one folder at once", names=("in use",))
def _(tmp):
    from simcc_lab.training.checkpoint import load_checkpoint

    second = {}

    def start_second(epoch, record):  # a second run started while the first is between epochs
        if epoch == 1:
            second["outcome"] = call(lambda: _tiny_fit(tmp / "run", seed=1, epochs=3))

    _tiny_fit(tmp / "run", seed=0, on_epoch_end=start_second)
    result, exc = second["outcome"]
    if exc is None:
        cfg = json.loads((tmp / "run" / "config.json").read_text())
        last = load_checkpoint(tmp / "run" / "last.pt")["config"]
        return "data loss", f"both exit 0: config.json of seed {cfg['seed']}, last.pt of seed {last['seed']}"
    return from_call((result, exc), "error", ("in use",))


@case("run folder", "a kill between writing last.pt and best.pt, then --resume", expect="handled")
def _(tmp):
    from simcc_lab.training import engine
    from simcc_lab.training.checkpoint import load_checkpoint

    aps, real_copy = iter([0.2, 0.5, 0.5, 0.4]), engine.copy_file
    # the engine's validation step: validate() -> {decoding: metrics} since issue 18, _validate() -> metrics before
    hook = "validate" if hasattr(engine, "validate") else "_validate"
    real_validate = getattr(engine, hook)

    class Killed(Exception):
        pass

    def kill_at_2(src, dst):
        if load_checkpoint(src)["epoch"] == 2:
            raise Killed
        real_copy(src, dst)

    fake = (lambda *a, **k: {"default": dict(AP=next(aps))}) if hook == "validate" else \
        (lambda *a, **k: dict(AP=next(aps)))
    setattr(engine, hook, fake)
    try:
        engine.copy_file = kill_at_2
        call(lambda: _tiny_fit(tmp / "run", epochs=3, val=True))
        engine.copy_file = real_copy
        _tiny_fit(tmp / "run", epochs=3, val=True, resume=True)
    finally:
        engine.copy_file = real_copy
        setattr(engine, hook, real_validate)
    best = tmp / "run" / "best.pt"
    if not best.exists() or load_checkpoint(best)["epoch"] != 2:
        return "data loss", "best.pt is not the best epoch's (2) after --resume"
    return "handled", "best.pt holds epoch 2 (AP 0.5)"


@case("run folder", "orphan .tmp files left by a kill", expect="handled")
def _(tmp):
    _tiny_fit(tmp / "run")
    (tmp / "run" / ".last.pt.abcd.tmp").write_bytes(b"\0" * 1000)
    _tiny_fit(tmp / "run", resume=True)
    if (tmp / "run" / ".last.pt.abcd.tmp").exists():
        return "silent", "the .tmp file is still there after the next start"
    return "handled", "removed on the next start"


# ---------------------------------------------------------------------------------------------------
NEW = False


def run_all(only=None) -> list[dict]:
    rows = []
    for c in CASES:
        if only and only not in c["name"]:
            continue
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            try:
                outcome, detail = c["build"](Path(d))
            except BaseException as e:  # noqa: BLE001 - the case's own set-up failed
                outcome, detail = "traceback", f"{type(e).__name__}: {str(e)[:100]} (in the case's set-up)"
            finally:
                for p in Path(d).rglob("*"):  # chmod 000 cases: let the folder be removed
                    with contextlib.suppress(OSError):
                        p.chmod(0o755 if p.is_dir() else 0o644)
        detail = detail.replace(str(Path(d).resolve()), "<tmp>").replace(d, "<tmp>")
        rows.append(dict(group=c["group"], name=c["name"], outcome=outcome, detail=detail,
                         seconds=time.perf_counter() - t0))
        print(f"{outcome:12s} {c['group']}: {c['name']}", file=sys.stderr)
    return rows


def markdown(rows, before=None) -> str:
    counts = Counter(r["outcome"] for r in rows)
    old = {r["name"]: r["outcome"] for r in before or []}
    head = ["# Bad inputs: what a user sees", "",
            "Generated by `PYTHONPATH=. python tools/bad_input_table.py --before docs/bad_input_before.json --out "
            "docs/bad_input.md` (issue 21; the before column: the same script with `PYTHONPATH` on a checkout of "
            "commit f116005, `--json docs/bad_input_before.json`). Each row "
            "builds a malformed input or a fault in a temporary folder and runs the command or library call a user "
            "would. Classes: **clean error** (exit code 2 / a ValueError, one line naming the file, record, field "
            "or flag), **handled** (runs and gives the right result, with a notice where it repairs), **unclear**, "
            "**traceback**, **silent** (runs, wrong result), **data loss**.", ""]
    if before is not None:
        bc = Counter(r["outcome"] for r in before)
        head += ["| class | before (commit f116005) | now |", "|---|---:|---:|"]
        head += [f"| {k} | {bc.get(k, 0)} | {counts.get(k, 0)} |" for k in CLASSES]
    else:
        head += ["| class | count |", "|---|---:|"] + [f"| {k} | {counts.get(k, 0)} |" for k in CLASSES]
    head += ["", f"{len(rows)} cases.", "", "| group | input | " + ("before | " if before else "") + "now | what the user sees |",
             "|---|---|" + ("---|" if before else "") + "---|---|"]
    for r in rows:
        detail = r["detail"].replace("|", "\\|").replace("\n", " ")
        mid = f"{old.get(r['name'], '')} | " if before else ""
        head.append(f"| {r['group']} | {r['name']} | {mid}{r['outcome']} | {detail} |")
    return "\n".join(head) + "\n"


def cli_main(argv=None) -> int:
    global NEW
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=None, help="write the markdown table here (default: print it)")
    p.add_argument("--json", default=None, help="also write the rows as JSON (e.g. to compare with a later run)")
    p.add_argument("--before", default=None, help="rows JSON of an older checkout, for a before/after column")
    p.add_argument("--only", default=None, help="only the cases whose name contains this text")
    args = p.parse_args(argv)
    try:
        from simcc_lab.files import UserError  # noqa: F401 - present since issue 21
        NEW = True
    except ImportError:
        NEW = False
    os.environ.setdefault("SIMCC_LAB_CACHE", tempfile.mkdtemp())
    rows = run_all(args.only)
    before = json.loads(Path(args.before).read_text()) if args.before else None
    md = markdown(rows, before)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.out:
        Path(args.out).write_text(md)
    else:
        print(md)
    print(dict(Counter(r["outcome"] for r in rows)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(cli_main())
