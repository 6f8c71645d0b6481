"""The SynthPose body model: a 3-D articulated figure with the COCO-17 joints, posed by joint angles
and projected orthographically into the image.

Body frame (unit standing height): x = the person's left, y = down, z = backward (away from a camera
the person faces), pelvis at the origin. ``yaw`` turns the body about the vertical axis (0 = facing the
camera, +-90 deg = profile, 180 deg = back view); the image keeps x and y and uses z only as depth.
Because left/right, the face and the painter's depth order all come from the same 3-D figure, they
stay consistent with the facing direction: in profile the far eye, ear and limbs are behind the head
and torso, facing away the eyes and nose are turned away (``self_hidden``).

A :class:`Person` carries the exact image-pixel keypoints and the drawable parts; every joint lies on
the axis end of the capsules that meet there and every face feature is the centre of its own disc,
so the rendered pixels are symmetric about the labelled coordinates.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

POSE_FAMILIES = ("standing", "walking", "running", "arms_raised", "crouching", "bending", "sitting")
_FAMILY_P = np.array([0.2, 0.2, 0.12, 0.14, 0.11, 0.11, 0.12])

# Part ids: the owner map stores person_label + part, so visibility can tell which part covers a pixel.
(TORSO, NECK, HEAD, L_UPPER_ARM, R_UPPER_ARM, L_FOREARM, R_FOREARM, L_HAND, R_HAND, L_THIGH, R_THIGH,
 L_SHIN, R_SHIN, L_FOOT, R_FOOT, NOSE, L_EYE, R_EYE, L_EAR, R_EAR) = range(20)
NUM_PARTS = 20
# The two parts a COCO-17 keypoint belongs to: it is visible when the pixel under it shows one of them.
KEYPOINT_PARTS = np.array([
    (HEAD, NOSE), (HEAD, L_EYE), (HEAD, R_EYE), (HEAD, L_EAR), (HEAD, R_EAR),
    (TORSO, L_UPPER_ARM), (TORSO, R_UPPER_ARM), (L_UPPER_ARM, L_FOREARM), (R_UPPER_ARM, R_FOREARM),
    (L_FOREARM, L_HAND), (R_FOREARM, R_HAND), (TORSO, L_THIGH), (TORSO, R_THIGH),
    (L_THIGH, L_SHIN), (R_THIGH, R_SHIN), (L_SHIN, L_FOOT), (R_SHIN, R_FOOT),
])
_SIDE = np.array([1.0, -1.0])  # left, right along body x
# Face features on the unit head sphere (head frame = body frame axes): direction, and the largest
# camera-facing z of the surface normal at which the feature still shows (ears and nose stick out).
_FACE_DIRS = np.array([(0.0, 0.15, -1.05), (0.42, -0.12, -0.9), (-0.42, -0.12, -0.9),
                       (1.0, 0.05, 0.12), (-1.0, 0.05, 0.12)])
_FACE_SHOW = np.array([0.3, 0.05, 0.05, 0.35, 0.35])
_SKIN = np.array([(255, 224, 196), (234, 192, 160), (198, 140, 100), (141, 85, 54), (90, 56, 37)], np.float32)
_HAIR = np.array([(20, 15, 10), (70, 45, 25), (150, 110, 60), (220, 190, 120), (120, 120, 120)], np.float32)


class Part(NamedTuple):
    """One drawable shape of a person.

    Attributes:
        order: painter's key (larger = nearer the camera, drawn later).
        part: part id (``TORSO`` ... ``R_EAR``).
        kind: "capsule" (geom = (ends (2, 2), r0, r1); equal ends give a disc), "ellipse"
            (geom = (centre (2,), r_along, r_across, angle rad)) or "polygon" (geom = (points (M, 2),)
            whose convex hull is drawn); positions and radii in image pixels.
        color: (3,) float32 RGB 0..255.
    """

    order: float
    part: int
    kind: str
    geom: tuple
    color: np.ndarray


class Person(NamedTuple):
    """A posed, projected person.

    Attributes:
        keypoints: (17, 2) float64 COCO-17 joints in image pixels (integer pixel centres).
        self_hidden: (17,) bool, face features turned away from the camera (labelled v=1 if in frame).
        parts: list of :class:`Part` in drawing order (far to near).
        height: standing height in pixels.
        family: the pose family it was sampled from.
    """

    keypoints: np.ndarray
    self_hidden: np.ndarray
    parts: list
    height: float
    family: str


def _rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def limb_dir(flex, abduct) -> np.ndarray:
    """Unit directions (2, 3) of a left and right limb hanging from their joints.

    Args:
        flex: (2,) radians, swing forward (toward -z); negative swings backward.
        abduct: (2,) radians, swing outward (left limb to +x, right limb to -x).
    """
    flex, abduct = np.asarray(flex, float), np.asarray(abduct, float)
    return np.stack([_SIDE * np.sin(abduct), np.cos(abduct) * np.cos(flex), -np.cos(abduct) * np.sin(flex)], -1)


def sample_proportions(rng: np.random.Generator) -> dict[str, float]:
    """Body proportions (lengths and radii) as fractions of the standing height (head top to soles = 1)."""
    u = rng.uniform
    p = dict(head_ry=u(0.058, 0.08), torso=u(0.27, 0.33), neck=u(0.02, 0.045), shoulder_w=u(0.19, 0.27),
             hip_w=u(0.12, 0.19), upper_arm=u(0.15, 0.19), forearm=u(0.13, 0.17), thigh=u(0.22, 0.27),
             shin=u(0.21, 0.26), foot=u(0.07, 0.1), r_arm=u(0.022, 0.04), r_thigh=u(0.036, 0.06),
             depth=u(0.09, 0.15), r_neck=u(0.02, 0.032), r_hand=u(0.018, 0.028))
    p["head_rx"] = p["head_ry"] * u(0.76, 0.9)
    standing = p["shin"] + p["thigh"] + p["torso"] + p["neck"] + 2 * p["head_ry"] + 0.5 * p["r_thigh"]
    return {k: v / standing for k, v in p.items()}


def sample_angles(rng: np.random.Generator, family: str) -> dict[str, np.ndarray | float]:
    """Joint angles (radians) of a pose family, within human ranges.

    Keys: ``pitch`` (torso forward lean), ``lean`` (sideways), ``arm_flex``, ``arm_abd``, ``elbow``,
    ``hip_flex``, ``hip_abd``, ``knee`` (each (2,) left/right; limbs measured from the world vertical),
    ``head_yaw``, ``head_nod``, ``head_tilt``.
    """
    u, n = rng.uniform, rng.normal
    a = dict(pitch=n(0, 4), lean=n(0, 3), arm_flex=n(0, 12, 2), arm_abd=u(3, 20, 2), elbow=u(0, 25, 2),
             hip_flex=n(0, 5, 2), hip_abd=u(0, 8, 2), knee=u(0, 10, 2))
    if family in ("walking", "running"):
        run = family == "running"
        phase = u(0, 2 * np.pi)
        amp = u(30, 50) if run else u(15, 30)
        hip = np.array([1.0, -1.0]) * amp * np.sin(phase) + (10 if run else 0)
        # the knee of the leg behind the body (hip extended) bends most; arms swing against the legs
        knee = (u(20, 40, 2) if run else u(5, 15, 2)) + np.maximum(0, -hip) * (1.5 if run else 1.2)
        a.update(hip_flex=hip, hip_abd=u(0, 6, 2), arm_flex=-0.9 * hip + n(0, 5, 2), knee=np.minimum(knee, 120),
                 elbow=u(70, 100, 2) if run else u(10, 35, 2), pitch=u(5, 20) if run else n(3, 3))
    elif family == "arms_raised":
        sideways = rng.random(2) < 0.5
        a.update(arm_flex=np.where(sideways, u(-10, 20, 2), u(90, 180, 2)),
                 arm_abd=np.where(sideways, u(70, 170, 2), u(0, 25, 2)), elbow=u(0, 70, 2))
        down = rng.random(2) < np.array([0.2, 0.2])
        a["arm_flex"] = np.where(down, n(0, 10, 2), a["arm_flex"])
        a["arm_abd"] = np.where(down, u(3, 20, 2), a["arm_abd"])
    elif family == "crouching":
        a.update(pitch=u(20, 50), hip_flex=u(70, 120, 2), knee=u(90, 140, 2), hip_abd=u(5, 25, 2),
                 arm_flex=u(20, 70, 2), elbow=u(10, 60, 2))
    elif family == "bending":
        a.update(pitch=u(45, 90), hip_flex=u(-5, 10, 2), knee=u(0, 25, 2), arm_flex=u(-20, 40, 2),
                 elbow=u(0, 30, 2), arm_abd=u(0, 15, 2))
    elif family == "sitting":
        a.update(pitch=u(-10, 15), hip_flex=u(75, 100, 2), knee=u(70, 100, 2), arm_flex=u(10, 50, 2),
                 elbow=u(20, 80, 2), arm_abd=u(0, 20, 2))
    elif family != "standing":
        raise ValueError(f"family must be one of {POSE_FAMILIES}, got {family!r}")
    a.update(head_yaw=np.clip(n(0, 15), -60, 60), head_nod=n(0, 10), head_tilt=n(0, 8))
    return {k: np.deg2rad(v) for k, v in a.items()}


def sample_yaw(rng: np.random.Generator) -> float:
    """Body yaw (radians): mostly frontal, then profile, back and any direction."""
    r = rng.random()
    if r < 0.4:
        deg = rng.normal(0, 25)
    elif r < 0.65:
        deg = rng.choice([-90.0, 90.0]) + rng.normal(0, 15)
    elif r < 0.8:
        deg = 180 + rng.normal(0, 25)
    else:
        deg = rng.uniform(0, 360)
    return float(np.deg2rad(deg))


def sample_rotation(rng: np.random.Generator) -> float:
    """In-plane rotation (radians): mostly near upright, sometimes strongly tilted or upside down."""
    r = rng.random()
    deg = rng.normal(0, 10) if r < 0.85 else rng.normal(0, 35) if r < 0.95 else rng.uniform(-180, 180)
    return float(np.deg2rad(deg))


def _appearance(rng: np.random.Generator) -> dict[str, np.ndarray | None]:
    """Colours (3,) float32 of skin, clothes, shoes and hair (None = bald)."""
    skin = _SKIN[rng.integers(len(_SKIN))] * rng.uniform(0.9, 1.05)
    shirt, pants = rng.uniform(0, 255, 3), rng.uniform(0, 230, 3)
    return dict(skin=skin, shirt=shirt, sleeve=shirt if rng.random() < 0.5 else skin, pants=pants,
                shin=pants if rng.random() < 0.75 else skin, shoes=rng.uniform(0, 120, 3),
                hair=None if rng.random() < 0.15 else _HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.8, 1.2))


def sample_person(rng: np.random.Generator, height: float, centre, rotation: float | None = None,
                  family: str | None = None, yaw: float | None = None) -> Person:
    """Sample proportions, a pose, facing and colours; pose and project one person.

    Args:
        height: standing height in image pixels (> 0).
        centre: (2,) image position of the centre of the keypoints' bounding box.
        rotation: in-plane rotation in radians, clockwise on screen (sampled when None).
        family: one of ``POSE_FAMILIES`` (sampled when None).
        yaw: body yaw in radians, 0 = facing the camera (sampled when None).
    """
    if not height > 0:
        raise ValueError(f"height must be > 0 pixels, got {height}")
    if family is not None and family not in POSE_FAMILIES:
        raise ValueError(f"family must be one of {POSE_FAMILIES}, got {family!r}")
    # The order of the draws below fixes every SynthPose byte: keep it. The geometry helpers draw nothing;
    # the colour jitter is the last draw.
    family = family or POSE_FAMILIES[rng.choice(len(POSE_FAMILIES), p=_FAMILY_P / _FAMILY_P.sum())]
    p, a = sample_proportions(rng), sample_angles(rng, family)
    yaw = sample_yaw(rng) if yaw is None else float(yaw)
    rotation = sample_rotation(rng) if rotation is None else rotation
    look = _appearance(rng)

    pts3, head_r = _body_points(p, a)
    img, z, normals_z = _project(pts3, head_r, yaw, rotation, height, centre)
    keypoints = img[:17]
    self_hidden = np.zeros(17, bool)
    self_hidden[:5] = normals_z > _FACE_SHOW

    specs = _limb_specs(img, z, p, look, height) + _head_specs(img, z, p, look, height, normals_z)
    colors = np.array([q[4] for q in specs], np.float32) + rng.normal(0, 6, (len(specs), 3)).astype(np.float32)
    np.clip(colors, 0, 255, out=colors)
    parts = [Part(float(q[0]), q[1], q[2], q[3], col) for q, col in zip(specs, colors)]
    parts.sort(key=lambda q: q.order)
    return Person(keypoints, self_hidden, parts, float(height), family)


def _body_points(p: dict, a: dict) -> tuple[np.ndarray, np.ndarray]:
    """The 3-D points of a posed body in the body frame (unit height).

    Args:
        p: proportions (:func:`sample_proportions`); a: joint angles in radians (:func:`sample_angles`).
    Returns:
        pts3: (33, 3) rows 0-16 COCO-17 joints, 17-18 hands, 19-20 toes, 21 neck, 22 neck top, 23 head
            centre, 24 hair centre, 25-32 torso box corners.
        head_r: (3, 3) rotation of the head frame (face normals turn with it).
    """
    torso_r = _rot_z(a["lean"]) @ _rot_x(a["pitch"])
    up, lateral, forward = torso_r @ (0, -1, 0), torso_r @ (1, 0, 0), torso_r @ (0, 0, -1)
    hips = np.outer(_SIDE, (p["hip_w"] / 2, 0, 0))
    neck = p["torso"] * up
    shoulders = neck + np.outer(_SIDE, lateral) * p["shoulder_w"] / 2
    d_upper = limb_dir(a["arm_flex"], a["arm_abd"])
    # The elbow bends the forearm forward when the arm hangs and upward when it is raised sideways.
    d_fore = limb_dir(a["arm_flex"] + a["elbow"] * np.cos(a["arm_abd"]),
                      a["arm_abd"] + a["elbow"] * np.sin(a["arm_abd"]))
    elbows = shoulders + d_upper * p["upper_arm"]
    wrists = elbows + d_fore * p["forearm"]
    knees = hips + limb_dir(a["hip_flex"], a["hip_abd"]) * p["thigh"]
    d_shin = limb_dir(a["hip_flex"] - a["knee"], a["hip_abd"])
    ankles = knees + d_shin * p["shin"]
    toes = ankles + np.array([0.0, 0.3, -0.95]) * p["foot"]
    hands = wrists + d_fore * p["r_hand"]
    head_r = torso_r @ _rot_y(a["head_yaw"]) @ _rot_x(a["head_nod"]) @ _rot_z(a["head_tilt"])
    head_up = head_r @ (0, -1, 0)
    head_c = neck + head_up * (p["neck"] + p["head_ry"])
    face = head_c + (_FACE_DIRS * (p["head_rx"], p["head_ry"], p["head_rx"])) @ head_r.T
    half_depth = forward * p["depth"] / 2
    # the torso is the hull of a box through shoulders and hips, as thick as the chest is deep
    torso_box = np.concatenate([s + np.outer(_SIDE, lateral) * w + d
                                for s, w in ((shoulders, 0.5 * p["r_arm"]), (hips, 0.6 * p["r_thigh"]))
                                for d in (half_depth, -half_depth)])

    back = head_r @ (0, 0, 1)
    hair3 = head_c + head_up * p["head_ry"] * 0.14 + back * p["head_rx"] * 0.15
    neck_top = head_c - head_up * 0.7 * p["head_ry"]
    pts3 = np.concatenate([face, shoulders, elbows, wrists, hips, knees, ankles, hands, toes,
                           [neck, neck_top, head_c, hair3], torso_box])
    return pts3, head_r


def _project(pts3: np.ndarray, head_r: np.ndarray, yaw: float, rotation: float, height: float,
             centre) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project everything at once: yaw, drop z (kept as depth), in-plane rotation, scale.

    Args:
        pts3: (33, 3) body-frame points (:func:`_body_points`); head_r: (3, 3) head rotation.
        yaw, rotation: radians; height: standing height in px; centre: (2,) px, where the joints'
            box centre goes.
    Returns:
        img: (33, 2) image px; z: (33,) camera depth (larger = farther, unit height); normals_z: (5,)
        camera-facing z of the face features' surface normals (larger = turned away).
    """
    cam = pts3 @ _rot_y(yaw).T
    mid = (cam[:17, :2].min(0) + cam[:17, :2].max(0)) / 2  # the joints' box centre goes to ``centre``
    c, s = np.cos(rotation), np.sin(rotation)
    rot2 = np.array([[c, -s], [s, c]]) * height
    img = (cam[:, :2] - mid) @ rot2.T + np.asarray(centre, float)
    z = cam[:, 2]
    face_normal = _FACE_DIRS / np.linalg.norm(_FACE_DIRS, axis=1, keepdims=True)
    normals_z = (face_normal @ head_r.T @ _rot_y(yaw).T)[:, 2]
    return img, z, normals_z


def _limb_specs(img: np.ndarray, z: np.ndarray, p: dict, look: dict, height: float) -> list[tuple]:
    """Torso, neck and limb shapes as (painter's key, part, kind, geom, colour before jitter).

    The painter's key is nearness (-z) plus a small bias that puts a child over its parent. ``img`` (33, 2)
    px and ``z`` (33,) are the projected points of :func:`_project`; radii are ``p``'s fractions x ``height`` px.
    """
    specs = []

    def capsule(part, a, b, bias, color, r0, r1):
        specs.append((-(z[a] + z[b]) / 2 + bias, part, "capsule", (img[[a, b]], r0, r1), color))

    specs.append((-z[25:].mean(), TORSO, "polygon", (img[25:],), look["shirt"]))
    capsule(NECK, 21, 22, 0.005, look["skin"], p["r_neck"] * height, p["r_neck"] * height)
    r_arm, r_leg, r_hand = p["r_arm"] * height, p["r_thigh"] * height, p["r_hand"] * height
    for i in (0, 1):
        capsule(L_UPPER_ARM + i, 5 + i, 7 + i, 0.02, look["shirt"], r_arm, 0.85 * r_arm)
        capsule(L_FOREARM + i, 7 + i, 9 + i, 0.03, look["sleeve"], 0.85 * r_arm, 0.7 * r_arm)
        capsule(L_HAND + i, 17 + i, 17 + i, 0.04, look["skin"], r_hand, r_hand)
        capsule(L_THIGH + i, 11 + i, 13 + i, 0.01, look["pants"], r_leg, 0.8 * r_leg)
        capsule(L_SHIN + i, 13 + i, 15 + i, 0.015, look["shin"], 0.8 * r_leg, 0.6 * r_leg)
        capsule(L_FOOT + i, 15 + i, 19 + i, 0.02, look["shoes"], 0.55 * r_leg, 0.45 * r_leg)
    return specs


def _head_specs(img: np.ndarray, z: np.ndarray, p: dict, look: dict, height: float,
                normals_z: np.ndarray) -> list[tuple]:
    """Head, hair and face shapes, as in :func:`_limb_specs`.

    ``normals_z`` (5,): camera-facing z of the face features' normals (:func:`_project`); a feature turned
    away (the test of ``Person.self_hidden``) gets no shape.
    """
    specs = []
    hidden = normals_z > _FACE_SHOW  # (5,) bool, = Person.self_hidden[:5]
    # Head, hair and face share one depth key so they stay together. Hair sits toward the crown and the
    # back of the head, behind the head ellipse, or over the face when the face is turned away.
    up2 = (img[23] - img[22])  # neck top -> head centre: the head's up direction in the image
    angle = float(np.arctan2(up2[1], up2[0]))
    rx, ry = p["head_rx"] * height, p["head_ry"] * height
    key = float(-z[23] + 0.03)
    if look["hair"] is not None:
        back_view = normals_z[0] > 0.3
        hair_c = img[23] + (img[24] - img[23]) * (0.5 if back_view else 1.0)
        specs.append((key + (1e-4 if back_view else -1e-4), HEAD, "ellipse", (hair_c, ry * 1.02, rx * 1.02, angle),
                      look["hair"]))
    specs.append((key, HEAD, "ellipse", (img[23], ry, rx, angle), look["skin"]))
    if rx >= 2.0:  # face features of smaller heads are below a pixel: the head ellipse stands for them
        eye_r, nose_r = max(0.13 * rx, 0.45), 0.17 * rx
        features = [(NOSE, "capsule", (img[[0, 0]], nose_r, nose_r), look["skin"] * 0.8),
                    (L_EYE, "capsule", (img[[1, 1]], eye_r, eye_r), (25, 25, 35)),
                    (R_EYE, "capsule", (img[[2, 2]], eye_r, eye_r), (25, 25, 35)),
                    (L_EAR, "ellipse", (img[3], 0.3 * ry, 0.18 * rx, angle), look["skin"] * 0.9),
                    (R_EAR, "ellipse", (img[4], 0.3 * ry, 0.18 * rx, angle), look["skin"] * 0.9)]
        specs += [(key + 2e-4,) + f for j, f in enumerate(features) if not hidden[j]]
    return specs
