"""Shot size (the paper's Table 3 shot types) from how big the main person is in the frame.

The main person is the largest confirmed face. With ``r = face box height / frame height`` and
the default ``shot_face_ratios = (0.05, 0.12, 0.28, 0.75)``:

==================  ===============  ==================================================
shot type           face height r    why
==================  ===============  ==================================================
wide                r < 0.05         people small in a wide view of the scene
full                0.05 <= r < 0.12 head to toe: a head is about 1/8 of a body
medium              0.12 <= r < 0.28 waist up: face to waist is about 3 to 4 face heights
close_up            0.28 <= r < 0.75 head and shoulders fill the frame
extreme_close_up    r >= 0.75        the face overflows the frame (eyes, mouth)
==================  ===============  ==================================================

No confirmed face: OpenCV's HOG people detector (upright full bodies) is tried; the tallest
person at least ``shot_full_person_ratio`` of the frame high is a ``full`` shot, a smaller one
``wide``. No face and no person: ``None`` with basis ``none``: an empty frame may be an
establishing wide shot or an insert close-up of an object, and guessing would put wrong labels
into the dataset; the VLM's own shot type fills the gap later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from skyscript.config import ShotSizeSettings
from skyscript.models.face_detect import Face
from skyscript.imaging import fit_max_side
from skyscript.schemas.annotations import ShotSizePayload
from skyscript.schemas.vocab import ShotType

Basis = Literal["face", "person", "none"]
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class ShotSizeRules:
    face_ratios: tuple[float, float, float, float] = (0.05, 0.12, 0.28, 0.75)
    full_person_ratio: float = 0.5

    def __post_init__(self) -> None:
        r = self.face_ratios
        if len(r) != 4 or r[0] <= 0 or any(a >= b for a, b in zip(r, r[1:])):
            raise ValueError(f"shot_face_ratios must be 4 increasing positive numbers, got {r}")

    @classmethod
    def from_settings(cls, shot: ShotSizeSettings) -> "ShotSizeRules":
        return cls(face_ratios=tuple(shot.face_ratios), full_person_ratio=shot.full_person_ratio)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ShotSize:
    shot_type: ShotType | None
    basis: Basis
    ratio: float | None  # the height ratio the decision used
    box: Box | None  # the face or person box it measured

    def to_payload(self) -> ShotSizePayload:
        return ShotSizePayload(
            shot_type=self.shot_type,
            basis=self.basis,
            ratio=None if self.ratio is None else round(self.ratio, 4),
            box=None if self.box is None else tuple(round(v, 1) for v in self.box),  # type: ignore[arg-type]
        )


def shot_from_face_ratio(ratio: float, rules: ShotSizeRules) -> ShotType:
    full, medium, close, extreme = rules.face_ratios
    if ratio >= extreme:
        return ShotType.extreme_close_up
    if ratio >= close:
        return ShotType.close_up
    if ratio >= medium:
        return ShotType.medium
    if ratio >= full:
        return ShotType.full
    return ShotType.wide


def shot_from_person_ratio(ratio: float, rules: ShotSizeRules) -> ShotType:
    return ShotType.full if ratio >= rules.full_person_ratio else ShotType.wide


def classify_shot(faces: list[Face], people: list[Box], frame_height: int, rules: ShotSizeRules) -> ShotSize:
    """Shot size from confirmed faces, else from people boxes, else ``None``."""
    confirmed = [f for f in faces if f.confirmed]
    if confirmed:
        main = max(confirmed, key=lambda f: f.area)
        ratio = main.height / frame_height
        return ShotSize(shot_from_face_ratio(ratio, rules), "face", ratio, main.xyxy)
    if people:
        tallest = max(people, key=lambda b: b[3] - b[1])
        ratio = (tallest[3] - tallest[1]) / frame_height
        return ShotSize(shot_from_person_ratio(ratio, rules), "person", ratio, tallest)
    return ShotSize(None, "none", None, None)


class PeopleDetector:
    """OpenCV's HOG + linear SVM pedestrian detector (Dalal-Triggs), shipped with OpenCV."""

    def __init__(self, max_side: int = 640, min_weight: float = 0.5) -> None:
        self.max_side = max_side
        self.min_weight = min_weight
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    @property
    def model_id(self) -> str:
        return f"opencv {cv2.__version__} HOG default people detector"

    def detect(self, img: np.ndarray) -> list[Box]:
        scaled = fit_max_side(img, self.max_side)
        win_w, win_h = self._hog.winSize
        h, w = scaled.image.shape[:2]
        if w < win_w or h < win_h:
            # no window fits (OpenCV 4's detectMultiScale corrupts the heap on such frames,
            # e.g. 16x16 or 100x64: the process aborts)
            return []
        rects, weights = self._hog.detectMultiScale(scaled.image, winStride=(8, 8), padding=(8, 8), scale=1.05)
        out: list[Box] = []
        for (x, y, w, h), wt in zip(np.asarray(rects).reshape(-1, 4), np.asarray(weights).reshape(-1)):
            if float(wt) >= self.min_weight:
                out.append(scaled.to_full((float(x), float(y), float(x + w), float(y + h))))
        return out
