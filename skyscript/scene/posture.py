"""Posture from COCO-17 keypoints (AlphaPose order), by rule.

* ``lying``: the torso (shoulder centre to hip centre) is closer to horizontal than 30 degrees;
* ``sitting``: torso upright and a thigh (hip to knee) within 35 degrees of horizontal;
* ``standing``: torso upright and a leg (hip to ankle) upright and longer than 1.2 torsos;
* ``walking`` / ``running``: standing in two keyframes of one shot whose hip centre moves at least
  ``walk`` (``run``) person heights per second (a person is about three torso lengths tall);
* ``unknown``: the keypoints needed are not visible.
"""

from __future__ import annotations

import math
from typing import Sequence

Keypoints = Sequence[Sequence[float]]
LSH, RSH, LHIP, RHIP, LKNEE, RKNEE, LANK, RANK = 5, 6, 11, 12, 13, 14, 15, 16


def _mid(kps: Keypoints, a: int, b: int, min_score: float) -> tuple[float, float] | None:
    pts = [kps[i] for i in (a, b) if kps[i][2] >= min_score]
    if not pts:
        return None
    return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))


def _angle_from_vertical(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    return math.degrees(math.atan2(abs(dx), abs(dy) + 1e-9))


def static_posture(kps: Keypoints, min_score: float = 0.3) -> str:
    shoulders, hips = _mid(kps, LSH, RSH, min_score), _mid(kps, LHIP, RHIP, min_score)
    if shoulders is None or hips is None:
        return "unknown"
    torso = math.dist(shoulders, hips)
    if torso < 2:
        return "unknown"
    if _angle_from_vertical(shoulders, hips) > 60:
        return "lying"
    knees, ankles = _mid(kps, LKNEE, RKNEE, min_score), _mid(kps, LANK, RANK, min_score)
    if knees is not None and _angle_from_vertical(hips, knees) > 55:
        return "sitting"
    if ankles is not None and _angle_from_vertical(hips, ankles) < 25 and math.dist(hips, ankles) > 1.2 * torso:
        return "standing"
    return "unknown"


def person_height_px(kps: Keypoints, min_score: float = 0.3) -> float | None:
    """About the person's height in pixels: three torso lengths (shoulders to hips)."""
    shoulders, hips = _mid(kps, LSH, RSH, min_score), _mid(kps, LHIP, RHIP, min_score)
    if shoulders is None or hips is None:
        return None
    return 3.0 * math.dist(shoulders, hips)


def moving_posture(a: Keypoints, b: Keypoints, dt_s: float, walk: float, run: float, min_score: float = 0.3) -> str | None:
    """``walking`` / ``running`` when the hip centre moved fast enough between two keyframes of a
    standing person; None otherwise."""
    if dt_s <= 0:
        return None
    ha, hb = _mid(a, LHIP, RHIP, min_score), _mid(b, LHIP, RHIP, min_score)
    height = person_height_px(a, min_score) or person_height_px(b, min_score)
    if ha is None or hb is None or not height:
        return None
    speed = math.dist(ha, hb) / height / dt_s  # person heights per second
    if speed >= run:
        return "running"
    if speed >= walk:
        return "walking"
    return None
