"""Camera geometry of a keyframe (paper 5.2, equation 1): pinhole intrinsics from the frame size
and a field of view, people placed in 3D from a size prior, the 3x4 projection matrix by DLT.

Conventions: image pixels (u right, v down); camera frame in centimetres with x right, y up,
z forward (the camera looks along +z); world frame (the script's layout, Table 1): the camera
stands on the floor at the origin, y is the height above the floor, x and z as the camera's.

Scale cues, best first, for a person whose box is ``h`` pixels tall at depth ``z``
(``z = f * size_cm / h``):

* ``keypoints``: an eye (or the nose) and an ankle are visible; eye to ankle is 0.897 of stature
  (eye height 93.6 %, ankle height 3.9 % of stature: Drillis & Contini's body-segment ratios);
* ``face``: the face box (a frontal detector's box, brow to chin with its margin, about 15 cm on
  an adult);
* ``body_box``: the whole body box with head and feet inside the frame, against the body-height prior.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

EYE_FRACTION = 0.936  # eye height / stature
ANKLE_FRACTION = 0.039  # ankle height / stature
HEAD_ABOVE_FACE_BOX = 0.3  # head top sits this share of the face box's height above the box
NOSE, LEYE, REYE, LANKLE, RANKLE = 0, 1, 2, 15, 16

Cue = Literal["keypoints", "face", "body_box", "object_prior"]


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    focal_px: float

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float) -> "Camera":
        return cls(width, height, (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0))

    @property
    def cx(self) -> float:
        return self.width / 2.0

    @property
    def cy(self) -> float:
        return self.height / 2.0

    def backproject(self, u: float, v: float, z: float) -> tuple[float, float, float]:
        """The camera-frame point (cm) at depth ``z`` seen at pixel (u, v)."""
        return ((u - self.cx) * z / self.focal_px, -(v - self.cy) * z / self.focal_px, z)

    def project(self, xyz: Sequence[float]) -> tuple[float, float]:
        x, y, z = xyz
        return (self.cx + self.focal_px * x / z, self.cy - self.focal_px * y / z)

    def matrix(self, camera_height_cm: float = 0.0) -> np.ndarray:
        """Equation 1's 3x4 matrix for world points (y up from the floor; the camera
        ``camera_height_cm`` above the floor, looking along +z) from the assumed intrinsics."""
        k = np.array([[self.focal_px, 0.0, self.cx], [0.0, -self.focal_px, self.cy], [0.0, 0.0, 1.0]])
        rt = np.hstack([np.eye(3), np.array([[0.0], [-camera_height_cm], [0.0]])])
        return k @ rt


@dataclass(frozen=True)
class Placement:
    """Where one person is: the head top in camera and world coordinates, and how we know."""

    camera_xyz: tuple[float, float, float]
    image_xy: tuple[float, float]  # head top pixel
    z_cm: float
    cue: Cue
    feet_v: float | None  # pixel row of the feet when they are in frame


def _visible(kps: Sequence[Sequence[float]] | None, i: int, min_score: float) -> bool:
    return kps is not None and len(kps) > i and kps[i][2] >= min_score


def place_person(
    cam: Camera,
    face_box: Sequence[float] | None,
    body_box: Sequence[float] | None,
    keypoints: Sequence[Sequence[float]] | None,
    stature_cm: float,
    face_height_cm: float,
    min_score: float = 0.3,
) -> Placement | None:
    """Place a person from the best cue available; None when there is none."""
    margin = 0.01 * cam.height
    eye = next((i for i in (LEYE, REYE, NOSE) if _visible(keypoints, i, min_score)), None)
    ankle = next((i for i in (LANKLE, RANKLE) if _visible(keypoints, i, min_score)), None)
    feet_v: float | None = None
    if keypoints is not None and eye is not None and ankle is not None:
        kp = np.asarray(keypoints, dtype=float)
        eye_v = float(kp[[i for i in (LEYE, REYE, NOSE) if _visible(keypoints, i, min_score)], 1].mean())
        ankle_v = float(kp[[i for i in (LANKLE, RANKLE) if _visible(keypoints, i, min_score)], 1].mean())
        span = ankle_v - eye_v
        if span > 4:
            span_cm = (EYE_FRACTION - ANKLE_FRACTION) * stature_cm
            z = cam.focal_px * span_cm / span
            px_per_cm = span / span_cm
            top_v = eye_v - (1.0 - EYE_FRACTION) * stature_cm * px_per_cm
            feet_v = ankle_v + ANKLE_FRACTION * stature_cm * px_per_cm
            u = float(kp[[i for i in (LEYE, REYE, NOSE) if _visible(keypoints, i, min_score)], 0].mean())
            return Placement(cam.backproject(u, top_v, z), (u, top_v), z, "keypoints", feet_v)
    body_whole = (
        body_box is not None and body_box[1] > margin and body_box[3] < cam.height - margin and body_box[3] - body_box[1] > 4
    )
    if body_box is not None and body_box[3] < cam.height - margin:
        feet_v = float(body_box[3])
    if face_box is not None and face_box[3] - face_box[1] > 4:
        fh = float(face_box[3] - face_box[1])
        z = cam.focal_px * face_height_cm / fh
        u = float(face_box[0] + face_box[2]) / 2.0
        top_v = float(face_box[1]) - HEAD_ABOVE_FACE_BOX * fh
        return Placement(cam.backproject(u, top_v, z), (u, top_v), z, "face", feet_v)
    if body_box is not None and body_whole:
        bh = float(body_box[3] - body_box[1])
        z = cam.focal_px * stature_cm / bh
        u = float(body_box[0] + body_box[2]) / 2.0
        return Placement(cam.backproject(u, float(body_box[1]), z), (u, float(body_box[1])), z, "body_box", feet_v)
    return None


def place_object(cam: Camera, box: Sequence[float], size_cm: float) -> tuple[tuple[float, float, float], tuple[float, float], float]:
    """An object's box centre at the depth its assumed size gives (its longer side = ``size_cm``)."""
    side = max(float(box[2] - box[0]), float(box[3] - box[1]), 1.0)
    z = cam.focal_px * size_cm / side
    u, v = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
    return cam.backproject(u, v, z), (float(u), float(v)), z


def feet_height(cam: Camera, feet_v: float, z: float) -> float:
    """The camera-frame y (cm) of a floor point seen at row ``feet_v`` at depth ``z``: minus the
    camera's height above the floor."""
    return -(feet_v - cam.cy) * z / cam.focal_px


def depth_scale(z_geometry: Sequence[float], inverse_depth: Sequence[float]) -> float | None:
    """The factor ``a`` of ``z = a / d`` that best fits relative inverse depths ``d`` (Depth
    Anything's output) to the geometric depths of the same people (median of ``z * d``)."""
    pairs = [(z, d) for z, d in zip(z_geometry, inverse_depth) if z > 0 and d > 0]
    if not pairs:
        return None
    return float(np.median([z * d for z, d in pairs]))


# --- DLT ----------------------------------------------------------------------------------------


def _normaliser(points: np.ndarray) -> np.ndarray:
    """Hartley's similarity: centroid to the origin, mean distance sqrt(dim)."""
    dim = points.shape[1]
    c = points.mean(axis=0)
    d = np.sqrt(((points - c) ** 2).sum(axis=1)).mean()
    s = math.sqrt(dim) / d if d > 0 else 1.0
    t = np.eye(dim + 1)
    t[:dim, :dim] *= s
    t[:dim, dim] = -s * c
    return t


def dlt(world: Sequence[Sequence[float]], image: Sequence[Sequence[float]]) -> np.ndarray:
    """The 3x4 projection matrix P with ``image ~ P @ [world, 1]`` from at least six 2D-3D
    correspondences (normalised DLT, Hartley & Zisserman algorithm 7.1). ``ValueError`` for
    fewer points or a degenerate (e.g. coplanar) set."""
    x3 = np.asarray(world, dtype=float)
    x2 = np.asarray(image, dtype=float)
    if x3.shape[0] < 6 or x3.shape[0] != x2.shape[0]:
        raise ValueError(f"DLT needs at least 6 matching 2D-3D points, got {x3.shape[0]} and {x2.shape[0]}")
    t3, t2 = _normaliser(x3), _normaliser(x2)
    h3 = (t3 @ np.hstack([x3, np.ones((len(x3), 1))]).T).T
    h2 = (t2 @ np.hstack([x2, np.ones((len(x2), 1))]).T).T
    rows = []
    for xw, (u, v, w) in zip(h3, h2):
        rows.append(np.concatenate([np.zeros(4), -w * xw, v * xw]))
        rows.append(np.concatenate([w * xw, np.zeros(4), -u * xw]))
    a = np.asarray(rows)
    _, s, vt = np.linalg.svd(a)
    if s[-2] < 1e-9 * s[0]:
        raise ValueError("the 2D-3D points are degenerate (coplanar or collinear): no unique projection matrix")
    p = vt[-1].reshape(3, 4)
    p = np.linalg.inv(t2) @ p @ t3
    return p / np.linalg.norm(p[2, :3]) * (1 if p[2, :3] @ np.array([0, 0, 1.0]) >= 0 else -1)


def reprojection_error(p: np.ndarray, world: Sequence[Sequence[float]], image: Sequence[Sequence[float]]) -> float:
    """Root mean square pixel distance between ``image`` and the projections of ``world``."""
    x3 = np.hstack([np.asarray(world, dtype=float), np.ones((len(world), 1))])
    proj = (p @ x3.T).T
    uv = proj[:, :2] / proj[:, 2:3]
    return float(np.sqrt(((uv - np.asarray(image, dtype=float)) ** 2).sum(axis=1).mean()))
