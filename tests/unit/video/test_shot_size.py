from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from skyscript.config import ShotSizeSettings
from skyscript.models.face_detect import Face, FaceDetector
from skyscript.video.shot_size import (
    PeopleDetector,
    ShotSizeRules,
    classify_shot,
    shot_from_face_ratio,
    shot_from_person_ratio,
)

RULES = ShotSizeRules()


def face(h: float, confirmed: bool = True, x: float = 0.0) -> Face:
    return Face((x, 10.0, x + h, 10.0 + h), "haar-frontal", 5.0, 0.9 if confirmed else 0.05, confirmed, 1)


def shot_of(img: np.ndarray, detector: FaceDetector) -> tuple[str | None, str, float | None]:
    faces = detector.detect(img).faces
    people = [] if any(f.confirmed for f in faces) else PeopleDetector().detect(img)
    res = classify_shot(faces, people, img.shape[0], RULES)
    return res.shot_type, res.basis, res.ratio


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (0.01, "wide"),
        (0.0499, "wide"),
        (0.05, "full"),
        (0.11, "full"),
        (0.12, "medium"),
        (0.27, "medium"),
        (0.28, "close_up"),
        (0.74, "close_up"),
        (0.75, "extreme_close_up"),
        (1.3, "extreme_close_up"),
    ],
)
def test_face_ratio_mapping(ratio: float, expected: str) -> None:
    assert shot_from_face_ratio(ratio, RULES) == expected


def test_person_ratio_mapping() -> None:
    assert shot_from_person_ratio(0.8, RULES) == "full"
    assert shot_from_person_ratio(0.5, RULES) == "full"
    assert shot_from_person_ratio(0.3, RULES) == "wide"


def test_main_face_is_the_largest_confirmed_one() -> None:
    # a big unconfirmed detection (a jersey) must not decide the shot size
    res = classify_shot([face(300, confirmed=False), face(60, x=400), face(30, x=600)], [], 600, RULES)
    assert (res.shot_type, res.basis, res.ratio) == ("full", "face", pytest.approx(0.1))
    assert res.box == (400.0, 10.0, 460.0, 70.0)


def test_person_fallback_and_no_subject() -> None:
    res = classify_shot([face(300, confirmed=False)], [(0, 0, 50, 100), (100, 50, 180, 400)], 600, RULES)
    assert (res.shot_type, res.basis) == ("full", "person")
    assert res.ratio == pytest.approx(350 / 600)
    res = classify_shot([], [(0, 0, 50, 100)], 600, RULES)
    assert (res.shot_type, res.basis) == ("wide", "person")
    res = classify_shot([], [], 600, RULES)
    assert (res.shot_type, res.basis, res.ratio, res.box) == (None, "none", None, None)
    assert res.to_payload().model_dump() == {"shot_type": None, "basis": "none", "ratio": None, "box": None}


def test_rules_come_from_settings_and_are_checked() -> None:
    rules = ShotSizeRules.from_settings(ShotSizeSettings(face_ratios=(0.1, 0.2, 0.3, 0.9), full_person_ratio=0.7))
    assert rules.face_ratios == (0.1, 0.2, 0.3, 0.9) and rules.full_person_ratio == 0.7
    assert shot_from_face_ratio(0.85, rules) == "close_up"
    with pytest.raises(ValueError, match="increasing"):
        ShotSizeRules(face_ratios=(0.1, 0.3, 0.2, 0.9))


# --- real images -----------------------------------------------------------------------------


def test_whole_astronaut_portrait_is_a_medium_shot(face_detector: FaceDetector, astronaut: np.ndarray) -> None:
    shot, basis, ratio = shot_of(astronaut, face_detector)
    assert (shot, basis) == ("medium", "face")
    assert 0.12 <= ratio < 0.28  # type: ignore[operator]


def test_tight_face_crop_is_a_close_up(face_detector: FaceDetector, astronaut: np.ndarray, astronaut_face) -> None:
    x0, y0, x1, y1 = (int(v) for v in astronaut_face)
    crop = astronaut[max(0, y0 - 30) : y1 + 25, max(0, x0 - 30) : x1 + 30]
    shot, basis, _ = shot_of(crop, face_detector)
    assert basis == "face"
    assert shot in ("close_up", "extreme_close_up")


def test_messi_is_a_full_or_wide_shot(face_detector: FaceDetector, messi: np.ndarray) -> None:
    shot, basis, _ = shot_of(messi, face_detector)
    assert basis == "face"
    assert shot in ("full", "wide")


def test_film_close_up(face_detector: FaceDetector, sample_media: Path) -> None:
    """Megamind's last shot (decode frames 200-269) frames one face from brow to chin."""
    cap = cv2.VideoCapture(str(sample_media / "Megamind.avi"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 230)
    ok, frame = cap.read()
    cap.release()
    assert ok
    shot, basis, ratio = shot_of(frame, face_detector)
    assert (shot, basis) == ("close_up", "face")
    assert ratio > 0.5  # type: ignore[operator]


def test_pedestrians_without_faces_are_a_wide_shot(sample_media: Path) -> None:
    cap = cv2.VideoCapture(str(sample_media / "vtest.avi"))
    ok, frame = cap.read()
    cap.release()
    assert ok
    people = PeopleDetector().detect(frame)
    assert len(people) >= 1
    res = classify_shot([], people, frame.shape[0], RULES)
    assert (res.shot_type, res.basis) == ("wide", "person")
    assert res.ratio < 0.5  # type: ignore[operator]


@pytest.mark.parametrize("size", [(16, 16), (100, 64), (63, 127)])
def test_people_detector_on_frames_smaller_than_its_window(sample_media: Path, size: tuple[int, int]) -> None:
    """OpenCV's HOG detectMultiScale aborts the process (heap corruption) on 16x16 and 100x64
    frames: no 64x128 window fits, so there is nothing to detect."""
    cap = cv2.VideoCapture(str(sample_media / "vtest.avi"))
    ok, frame = cap.read()
    cap.release()
    assert ok
    assert PeopleDetector().detect(cv2.resize(frame, size, interpolation=cv2.INTER_AREA)) == []
    assert len(PeopleDetector().detect(frame)) >= 1  # the same pedestrians at full size
