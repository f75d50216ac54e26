"""Camera movement from global motion between frames.

Pairwise: corners (Shi-Tomasi) in the earlier frame, tracked with pyramidal Lucas-Kanade into
the later one, and a similarity transform (``cv2.estimateAffinePartial2D``, RANSAC) fitted to
the tracks: the background dominates the inliers, so people walking in a static shot do not
move the camera.

Per shot: the pairs inside the shot give the trend (mean velocity) and the shake (spread of
the velocities around the trend). Naming convention, the camera's point of view:

* ``pan_right``: the camera turns right, so the picture content moves left;
* ``tilt_up``: the camera tilts up, so the content moves down;
* ``zoom_in``: the content expands.

Speeds are in frame widths per second (pans), frame heights per second (tilts) or natural-log
scale per second (zooms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

MOVEMENTS = ("static", "pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out", "handheld", "complex")


@dataclass(frozen=True)
class MotionSample:
    """The similarity transform from frame ``a`` to frame ``b`` (b > a), in analysis pixels."""

    a: int
    b: int
    dx: float  # content displacement, + right
    dy: float  # + down
    scale: float  # > 1: content expands
    rotation: float  # radians
    inliers: int
    tracked: int

    @property
    def reliable(self) -> bool:
        return self.inliers >= 8 and self.inliers >= 0.3 * self.tracked


@dataclass
class CameraMovement:
    label: str | None  # one of MOVEMENTS; None when no reliable pair lies inside the shot
    speed: float | None  # of the dominant movement (see module doc)
    pan: float = 0.0  # camera turn, frame widths per second, + right
    tilt: float = 0.0  # frame heights per second, + up
    zoom: float = 0.0  # log scale per second, + in
    shake: float = 0.0  # frame sizes per second around the trend
    pairs: int = 0
    detail: dict[str, float] = field(default_factory=dict)

    def as_extra(self) -> dict[str, float | int | str | None]:
        return {
            "camera_pan": round(self.pan, 4),
            "camera_tilt": round(self.tilt, 4),
            "camera_zoom": round(self.zoom, 4),
            "camera_shake": round(self.shake, 4),
            "camera_pairs": self.pairs,
        }


class GlobalMotion:
    """Estimates the similarity transform between two grey analysis frames."""

    def __init__(
        self, max_corners: int = 80, quality: float = 0.01, min_distance: int = 7, window: int = 15, levels: int = 2
    ) -> None:
        self.max_corners = max_corners
        self.quality = quality
        self.min_distance = min_distance
        self.window = window  # LK search window (analysis pixels); with ``levels`` pyramid levels it
        self.levels = levels  # follows moves up to about window * 2**levels / 2 pixels between samples
        # the inlier tracks of the last pair, in its later frame: the next pair that starts
        # there follows them on instead of finding new corners, while enough survive
        # (at least 12, and 60 % of the corners last found)
        self._carry: tuple[int, np.ndarray] | None = None
        self._found = 0

    def _corners(self, prev: np.ndarray, a: int) -> np.ndarray | None:
        import cv2

        if self._carry is not None and self._carry[0] == a and len(self._carry[1]) >= max(12, 0.6 * self._found):
            return self._carry[1]
        pts = cv2.goodFeaturesToTrack(prev, self.max_corners, self.quality, self.min_distance, blockSize=7)
        self._found = 0 if pts is None else len(pts)
        return pts

    def estimate(self, prev: np.ndarray, cur: np.ndarray, a: int, b: int) -> MotionSample:
        import cv2

        none = MotionSample(a, b, 0.0, 0.0, 1.0, 0.0, 0, 0)
        pts = self._corners(prev, a)
        self._carry = None
        if pts is None or len(pts) < 8:
            return none
        nxt, status, _err = cv2.calcOpticalFlowPyrLK(
            prev, cur, pts, None, winSize=(self.window, self.window), maxLevel=self.levels,
            criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03),
        )
        ok = status.reshape(-1) == 1
        if ok.sum() < 8:
            return MotionSample(a, b, 0.0, 0.0, 1.0, 0.0, 0, int(ok.sum()))
        src, dst = pts.reshape(-1, 2)[ok], nxt.reshape(-1, 2)[ok]
        m, inl = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.5)
        if m is None:
            return MotionSample(a, b, 0.0, 0.0, 1.0, 0.0, 0, len(src))
        keep = inl.reshape(-1) == 1
        self._carry = (b, dst[keep].reshape(-1, 1, 2).astype(np.float32))
        s = math.hypot(m[0, 0], m[1, 0])
        rot = math.atan2(m[1, 0], m[0, 0])
        # displacement of the frame centre (zoom about the centre moves nothing there)
        h, w = prev.shape[:2]
        cx, cy = w / 2.0, h / 2.0
        dx = m[0, 0] * cx + m[0, 1] * cy + m[0, 2] - cx
        dy = m[1, 0] * cx + m[1, 1] * cy + m[1, 2] - cy
        return MotionSample(a, b, float(dx), float(dy), float(s), float(rot), int(inl.sum()), len(src))


def classify(
    samples: Sequence[MotionSample],
    fps: float,
    width: int,
    height: int,
    *,
    min_speed: float,
    min_zoom: float,
    jitter: float,
    times: np.ndarray | None = None,
) -> CameraMovement:
    """Name the camera movement of one shot from the motion samples inside it. ``times``: each
    frame's time in seconds (variable frame rates); without it a pair lasts ``(b - a) / fps``."""
    good = [s for s in samples if s.reliable and s.b > s.a]
    if not good:
        return CameraMovement(label=None, speed=None, pairs=0)
    if times is not None:
        dt = np.array([float(times[s.b] - times[s.a]) for s in good])
    else:
        dt = np.array([(s.b - s.a) / fps for s in good])
    # per-pair camera velocities: content moving left means the camera pans right
    pan = np.array([-s.dx / width for s in good]) / dt
    tilt = np.array([s.dy / height for s in good]) / dt
    zoom = np.array([math.log(max(s.scale, 1e-6)) for s in good]) / dt
    w = dt / dt.sum()
    pan_m, tilt_m, zoom_m = float((pan * w).sum()), float((tilt * w).sum()), float((zoom * w).sum())
    shake = float(np.sqrt((((pan - pan_m) ** 2 + (tilt - tilt_m) ** 2) * w).sum()))
    # comparable magnitudes: a zoom moves the frame's edges by about half the log scale
    mags = {"pan": abs(pan_m) / max(min_speed, 1e-9), "tilt": abs(tilt_m) / max(min_speed, 1e-9),
            "zoom": abs(zoom_m) / max(min_zoom, 1e-9)}
    strong = {k: v for k, v in mags.items() if v >= 1.0}
    out = CameraMovement(label="static", speed=0.0, pan=pan_m, tilt=tilt_m, zoom=zoom_m, shake=shake, pairs=len(good))
    if not strong:
        if shake >= jitter:
            out.label, out.speed = "handheld", shake
        return out
    # a trend that is small next to the shake around it is shake, not a move
    ordered = sorted(strong.items(), key=lambda kv: -kv[1])
    top, top_v = ordered[0]
    if len(ordered) > 1 and ordered[1][1] >= 0.5 * top_v:
        out.label = "complex"
        out.speed = float(math.hypot(pan_m, tilt_m) + abs(zoom_m) / 2)
        return out
    if top == "pan":
        out.label, out.speed = ("pan_right" if pan_m > 0 else "pan_left"), abs(pan_m)
    elif top == "tilt":
        out.label, out.speed = ("tilt_up" if tilt_m > 0 else "tilt_down"), abs(tilt_m)
    else:
        out.label, out.speed = ("zoom_in" if zoom_m > 0 else "zoom_out"), abs(zoom_m)
    if shake >= max(jitter, abs(out.speed)):
        out.detail["handheld"] = 1.0
    return out
