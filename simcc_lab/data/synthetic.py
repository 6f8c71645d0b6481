"""SynthPose: procedurally rendered people with exact sub-pixel COCO-17 keypoints, written as a
COCO-format keypoint data set.

Each scene is a cluttered background (gradient + smooth noise + distractor shapes) with one to five
people (2.6 on average, like COCO's keypoint images; 5 to 10 in ``crowded`` mode, clustered so they
overlap as in CrowdPose), 30 to 250 px tall at 256x256 (scaled with ``min(W, H) / 256``), posed from
joint angles (``poses.py``) and painted far to near with anti-aliased shapes (``render.py``);
occluders may cover some of them.

Labels (COCO conventions, pixel centres at integer coordinates as in docs/architecture.md):
- keypoints are the exact continuous positions of the rendered joints, rounded to 1e-4 px;
- ``v = 0`` (coordinates 0, 0): outside the image (x not in [-0.5, W-0.5) or y likewise), or the
  whole person is almost hidden (visible area < ``HIDDEN_FRACTION`` of its in-image area: such people
  stay listed with ``num_keypoints = 0``, which COCOeval ignores);
- ``v = 1``: in the image but the pixel under it shows another person, an occluder or another part of
  the same body (e.g. the far wrist behind the torso), or a face feature turned away from the camera;
- ``v = 2``: the pixel under it shows the keypoint's own body part;
- ``bbox`` = [x, y, w, h] tight box, in pixel-edge coordinates, of all pixels the person painted inside
  the image (including those later covered), grown to hold every labelled keypoint;
  ``area`` = the person's visible pixel count in the final image.
People with no pixel inside the image are not listed.

Determinism: image ``i`` of a split is rendered from ``SeedSequence([seed, split_key, crowded, i])``
alone, so the same seed gives identical JSON and PNG bytes whether or not a worker pool is used, and
train (key 0) and val (key 1) never share a scene.
"""
from __future__ import annotations

import io
import json
import multiprocessing as mp
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from ..files import atomic_write, write_json
from ..keypoints import COCO17
from . import poses, render

VERSION = 1  # bump when the renderer changes: cached data sets made by another version are rebuilt
SPLIT_KEYS = {"train": 0, "val": 1}
PART_STRIDE = 32  # owner label of a person's part = (person index + 1) * PART_STRIDE + part id
assert poses.NUM_PARTS <= PART_STRIDE
HIDDEN_FRACTION = 0.1  # people showing less than this share of their in-image pixels get no labels
_MIN_SIZE, _MAX_SIZE = 16, 8192


def default_cache_dir() -> Path:
    """``$SIMCC_LAB_CACHE`` if set, else ``<repo>/data/cache/synthpose`` (git-ignored)."""
    env = os.environ.get("SIMCC_LAB_CACHE")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data" / "cache" / "synthpose"


def _check_size(size) -> tuple[int, int]:
    """``size`` as a validated (W, H) tuple of ints."""
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be a (W, H) pair of ints, got {size!r}") from None
    if not (_MIN_SIZE <= w <= _MAX_SIZE and _MIN_SIZE <= h <= _MAX_SIZE):
        raise ValueError(f"size must have W and H in [{_MIN_SIZE}, {_MAX_SIZE}], got {size!r}")
    return w, h


def _check_int(name: str, value, lo: int) -> int:
    """``value`` as an int >= ``lo``; a ValueError naming ``name`` otherwise (bools and floats rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")
    return int(value)


def _coverage(part: poses.Part, size: tuple[int, int]) -> render.Coverage | None:
    """Rasterise one body part (see ``poses.Part`` for its geometry)."""
    if part.kind == "capsule":
        ends, r0, r1 = part.geom
        return render.capsule_coverage(ends[0], ends[1], r0, r1, size)
    if part.kind == "ellipse":
        return render.ellipse_coverage(*part.geom, size)
    return render.polygon_coverage(part.geom[0], size)


def _occluder(rng: np.random.Generator, person: poses.Person, size) -> render.Coverage | None:
    """A rectangle, blob or pole placed over a random keypoint of ``person``."""
    at = person.keypoints[rng.integers(17)] + rng.normal(0, 0.08 * person.height, 2)
    r = person.height * rng.uniform(0.1, 0.25)
    kind = rng.integers(3)
    if kind == 0:
        c, s = np.cos(t := rng.uniform(0, np.pi)), np.sin(t)
        half = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]]) * (r, r * rng.uniform(0.3, 1.0))
        return render.polygon_coverage(at + half @ np.array([[c, s], [-s, c]]), size)
    if kind == 1:
        return render.ellipse_coverage(at, r, r * rng.uniform(0.4, 1.0), rng.uniform(0, np.pi), size)
    d = rng.normal(0, 1, 2)
    d *= 2.5 * r / max(np.linalg.norm(d), 1e-9)
    return render.capsule_coverage(at - d, at + d, 0.25 * r, 0.25 * r, size)


def _sample_layout(rng, size, crowded, clean=False):
    """Standing heights (n,) px, smallest first so nearer (bigger) people are painted last, and centres (n, 2)."""
    w, h = size
    scale = min(w, h) / 256
    if clean:  # one person, 110-240 px tall at 256x256, near the centre
        return (np.array([rng.uniform(110, 240)]) * scale,
                (0.5 + rng.uniform(-0.1, 0.1, (1, 2))) * (w, h))
    n = int(rng.integers(5, 11)) if crowded else 1 + int(rng.binomial(4, 0.4))
    heights = np.sort(np.exp(rng.uniform(np.log(30), np.log(180 if crowded else 250), n))) * scale
    if crowded:  # one or two tight groups, so that people overlap heavily
        groups = rng.uniform(0.25, 0.75, (int(rng.integers(1, 3)), 2)) * (w, h)
        spread = rng.normal(0, 1, (n, 2)) * heights[:, None] * (0.3, 0.12)
        centres = groups[rng.integers(len(groups), size=n)] + spread
    else:
        centres = rng.uniform((0.05, 0.1), (0.95, 0.9), (n, 2)) * (w, h)
    return heights, centres


def _paint_people(rng: np.random.Generator, canvas, people: list, occluders: dict, size):
    """Paint the people far to near, each followed by its occluders, measuring each before it is covered.

    Args:
        canvas: the :class:`render.Canvas` with the background; painted in place (colour and owner map).
        people: list of :class:`poses.Person`, in painting order; occluders: person index -> coverages.
        size: image (W, H) px.
    Returns:
        boxes: (n, 4) int amodal in-image pixel box x0, y0, x1, y1 (exclusive), zeros when nothing shows.
        full_area: (n,) int pixels the person owned right after it was painted.
    """
    n = len(people)
    boxes = np.zeros((n, 4), int)  # amodal in-image pixel box x0, y0, x1, y1 (exclusive)
    full_area = np.zeros(n, int)
    for i, person in enumerate(people):
        label, box = (i + 1) * PART_STRIDE, None
        for part in person.parts:
            b = canvas.paint(_coverage(part, size), part.color, label + part.part)
            if b is not None:
                box = b if box is None else (*np.minimum(box[:2], b[:2]), *np.maximum(box[2:], b[2:]))
        if box is not None:  # measure the person before anyone else covers it
            mine = canvas.owner[box[1]:box[3], box[0]:box[2]] // PART_STRIDE == i + 1
            cols, rows = np.flatnonzero(mine.any(0)), np.flatnonzero(mine.any(1))
            full_area[i] = np.count_nonzero(mine)
            if full_area[i]:
                boxes[i] = box[0] + cols[0], box[1] + rows[0], box[0] + cols[-1] + 1, box[1] + rows[-1] + 1
        # each occluder's colour is drawn here, as it is painted: moving this draw would change every later byte
        for cov in occluders.get(i, ()):
            canvas.paint(cov, render.random_color(rng), render.OCCLUDER)
    return boxes, full_area


def _label_people(owner: np.ndarray, people: list, boxes: np.ndarray, full_area: np.ndarray, size) -> list[dict]:
    """The label dicts of :func:`render_scene`, visibility from who owns the pixel under each keypoint.

    Args:
        owner: (H, W) int owner labels of the final image; people, boxes (n, 4), full_area (n,) as in
            :func:`_paint_people`; size: (W, H) px.
    Returns:
        One dict per person with a pixel in the image (see :func:`render_scene`).
    """
    w, h = size
    n = len(people)
    # Visibility: who owns the pixel under each keypoint in the final image (vectorised over people).
    # (n, 17, 2); rounded to the 1e-4 px stored in the JSON first, so the labels judge the stored values
    kpts = np.round(np.stack([p.keypoints for p in people]), 4)
    inside = ((kpts >= -0.5) & (kpts < np.array([w - 0.5, h - 0.5]))).all(-1)
    ix = np.clip(np.floor(kpts[..., 0] + 0.5).astype(int), 0, w - 1)
    iy = np.clip(np.floor(kpts[..., 1] + 0.5).astype(int), 0, h - 1)
    own = owner[iy, ix]
    expected = ((np.arange(n) + 1) * PART_STRIDE)[:, None, None] + poses.KEYPOINT_PARTS
    shows = (own[..., None] == expected).any(-1) & ~np.stack([p.self_hidden for p in people])
    visible_area = np.array([np.count_nonzero(owner[y0:y1, x0:x1] // PART_STRIDE == i + 1)
                             for i, (x0, y0, x1, y1) in enumerate(boxes)])
    hidden_person = visible_area < HIDDEN_FRACTION * full_area
    vis = np.where(inside & ~hidden_person[:, None], np.where(shows, 2, 1), 0)

    records = []
    for i, person in enumerate(people):
        if full_area[i] == 0:
            continue
        labelled = vis[i] > 0
        x0, y0, x1, y1 = boxes[i]
        if labelled.any():  # grow the box to the pixels under labelled keypoints
            x0, y0 = min(x0, ix[i, labelled].min()), min(y0, iy[i, labelled].min())
            x1, y1 = max(x1, ix[i, labelled].max() + 1), max(y1, iy[i, labelled].max() + 1)
        records.append(dict(
            keypoints=np.where(labelled[:, None], kpts[i], 0.0), visible=vis[i].astype(int),
            bbox=[float(x0) - 0.5, float(y0) - 0.5, float(x1 - x0), float(y1 - y0)], area=float(visible_area[i]),
            num_keypoints=int(labelled.sum()), family=person.family))
    return records


def render_scene(rng: np.random.Generator, size=(256, 256), crowded: bool = False, clean: bool = False):
    """Render one scene and label its people.

    Args:
        rng: the only source of randomness.
        size: image (W, H) in pixels.
        crowded: many overlapping people (CrowdPose-like) instead of one to five.
        clean: the "clean" variant: one person near the centre, 110-240 px tall (at 256x256), at most two
            distractors and no occluders (for accuracy experiments whose models must learn in CPU minutes).
    Returns:
        image: (H, W, 3) uint8.
        people: list of dicts with ``keypoints`` (17, 2) float64 image px (0 where v = 0), ``visible``
            (17,) int COCO v, ``bbox`` [x, y, w, h] (pixel edges), ``area`` (visible px), ``num_keypoints``,
            ``family`` (pose family). Conventions in the module docstring.
    """
    size = _check_size(size)
    if crowded and clean:
        raise ValueError("a scene is either crowded or clean, not both")
    canvas = render.background(rng, size, distractors=int(rng.integers(0, 3) if clean else rng.integers(2, 12)))
    heights, centres = _sample_layout(rng, size, crowded, clean)
    people = [poses.sample_person(rng, hgt, c) for hgt, c in zip(heights, centres)]
    n = len(people)
    occluders = {}  # person index -> occluders painted right after it (covering it and those before)
    for _ in range(0 if clean else int(rng.binomial(2, 0.2 if crowded else 0.3))):
        occluders.setdefault(int(rng.integers(n)), []).append(_occluder(rng, people[rng.integers(n)], size))

    boxes, full_area = _paint_people(rng, canvas, people, occluders, size)
    records = _label_people(canvas.owner, people, boxes, full_area, size)
    image = canvas.to_uint8(rng, noise=float(rng.uniform(0, 5)) if rng.random() < 0.5 else 0.0)
    return image, records


VARIANTS = ("default", "crowded", "clean")  # position = the variant's key in the image seed


def _image_rng(seed: int, split: str, index: int, variant: str) -> np.random.Generator:
    """The generator of one image: a function of (seed, split, variant, index) only."""
    return np.random.default_rng(np.random.SeedSequence([seed, SPLIT_KEYS[split], VARIANTS.index(variant), index]))


def _variant(crowded: bool, clean: bool) -> str:
    if crowded and clean:
        raise ValueError("a data set is either crowded or clean, not both")
    return "crowded" if crowded else "clean" if clean else "default"


def _make_image(task) -> list[dict]:
    """Worker: render image ``index``, write its PNG whole, return its people (JSON-ready)."""
    index, seed, split, size, variant, path = task
    image, people = render_scene(_image_rng(seed, split, index, variant), size, crowded=variant == "crowded",
                                 clean=variant == "clean")
    buf = io.BytesIO()
    # zlib level 1 with the RLE strategy (compress_type 3): the fastest setting, and here also the smallest.
    Image.fromarray(image).save(buf, format="PNG", compress_level=1, compress_type=3)
    atomic_write(path, lambda f: f.write(buf.getvalue()))
    return [dict(bbox=p["bbox"], area=p["area"], num_keypoints=p["num_keypoints"],
                 keypoints=[c for (x, y), v in zip(p["keypoints"].tolist(), p["visible"].tolist()) for c in (x, y, v)])
            for p in people]


def coco_category() -> dict:
    """The COCO ``person`` category with COCO-17 keypoint names and the 1-based skeleton."""
    return dict(id=1, name="person", supercategory="person", keypoints=list(COCO17.keypoint_names),
                skeleton=[[a + 1, b + 1] for a, b in COCO17.limbs])


def generate(out_dir, num_images: int, seed: int = 0, crowded: bool = False, split: str = "train",
             size=(256, 256), workers: int = 0, progress: bool = True, clean: bool = False) -> Path:
    """Render ``num_images`` scenes and write a COCO keypoint data set.

    Args:
        out_dir: folder; images go to ``out_dir/{split}/images/{index:06d}.png``.
        num_images: >= 1 images (2.5 people each on average, 7.5 in crowded mode).
        seed: >= 0; with ``split`` it fixes every byte written.
        crowded: CrowdPose-like scenes.
        clean: one person per image, few distractors, no occluders (see :func:`render_scene`).
        split: "train" or "val" (different scenes for the same seed).
        size: image (W, H) in pixels.
        workers: 0 renders in this process; W > 0 uses a pool of W processes (same output).
        progress: show a tqdm progress bar.
    Returns:
        Path of the annotation file ``out_dir/{split}.json`` (written last, whole).
    """
    num_images = _check_int("num_images", num_images, 1)
    seed, workers = _check_int("seed", seed, 0), _check_int("workers", workers, 0)
    if split not in SPLIT_KEYS:
        raise ValueError(f"split must be one of {sorted(SPLIT_KEYS)}, got {split!r}")
    size = _check_size(size)
    variant = _variant(crowded, clean)
    out_dir = Path(out_dir)
    image_dir = out_dir / split / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    names = [f"{i:06d}.png" for i in range(num_images)]
    tasks = [(i, seed, split, size, variant, image_dir / names[i]) for i in range(num_images)]
    bar = dict(total=num_images, desc=f"SynthPose {split}", unit="img", disable=not progress)
    if workers > 0:
        # spawn: workers do not inherit the parent's threads or torch state; output order is kept by imap.
        with mp.get_context("spawn").Pool(workers) as pool:
            results = list(tqdm(pool.imap(_make_image, tasks, chunksize=8), **bar))
    else:
        results = [_make_image(t) for t in tqdm(tasks, **bar)]
    images, annotations = [], []
    for i, people in enumerate(results):
        images.append(dict(id=i + 1, file_name=names[i], width=size[0], height=size[1]))
        for p in people:
            annotations.append(dict(id=len(annotations) + 1, image_id=i + 1, category_id=1, iscrowd=0, **p))
    info = dict(description="SynthPose: procedural people with exact sub-pixel COCO-17 keypoints",
                version=VERSION, seed=seed, split=split, crowded=bool(crowded), size=list(size),
                **({"variant": variant} if clean else {}),
                coordinates="pixel centres at integer coordinates")
    return write_json(out_dir / f"{split}.json", dict(info=info, images=images, annotations=annotations,
                                                      categories=[coco_category()]), indent=None)


def generate_splits(out_dir, num_train: int, num_val: int, seed: int = 0, crowded: bool = False,
                    size=(256, 256), workers: int = 0, progress: bool = True,
                    clean: bool = False) -> dict[str, Path]:
    """Write the train and val splits into ``out_dir``; returns {split: annotation JSON path}."""
    _check_int("num_train", num_train, 1), _check_int("num_val", num_val, 1)
    return {split: generate(out_dir, n, seed=seed, crowded=crowded, split=split, size=size, workers=workers,
                            progress=progress, clean=clean)
            for split, n in (("train", num_train), ("val", num_val))}


def ensure_dataset(cache_dir=None, name: str = "default", num_train: int = 1000, num_val: int = 100,
                   seed: int = 0, crowded: bool = False, size=(256, 256), workers: int = 0,
                   progress: bool = True, clean: bool = False) -> dict[str, tuple[Path, Path]]:
    """A cached SynthPose data set, generated only when missing, incomplete or made differently.

    ``cache_dir/name/manifest.json`` (the parameters and ``VERSION``) is written last, so its presence
    with matching parameters marks a complete data set; otherwise the folder's splits are regenerated.
    Two processes must not build the same name at once.

    Returns:
        {"train": (ann_json, image_dir), "val": (ann_json, image_dir)}.
    """
    if not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"name must be a plain folder name, got {name!r}")
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    root = root / name
    params = dict(version=VERSION, num_train=_check_int("num_train", num_train, 1),
                  num_val=_check_int("num_val", num_val, 1), seed=_check_int("seed", seed, 0),
                  crowded=bool(crowded), size=list(_check_size(size)))
    if clean:  # only when set, so that caches of the other variants stay valid
        params["clean"] = True
    out = {s: (root / f"{s}.json", root / s / "images") for s in SPLIT_KEYS}
    manifest = root / "manifest.json"
    if manifest.exists():
        try:
            same = json.loads(manifest.read_text()) == params
        except ValueError:
            same = False
        if same and all(a.exists() and d.is_dir() for a, d in out.values()):
            return out
        manifest.unlink()
    for s in SPLIT_KEYS:  # stale images of a bigger earlier run must not linger
        shutil.rmtree(root / s, ignore_errors=True)
    generate_splits(root, num_train, num_val, seed=seed, crowded=crowded, size=size, workers=workers,
                    progress=progress, clean=clean)
    write_json(manifest, params)
    return out
