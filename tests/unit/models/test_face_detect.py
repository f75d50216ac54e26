from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from skyscript.models.face_detect import (
    Face,
    FaceDetector,
    cluster_boxes,
    faces_from_payload,
    intersection_over_smaller,
    is_low_chroma,
    skin_share,
)
from skyscript.errors import MissingWeights
from skyscript.schemas.annotations import FaceEntry, FacesPayload


@pytest.fixture(scope="module")
def astronaut(astronaut: np.ndarray) -> np.ndarray:
    """The detector works on OpenCV's BGR images; the model tests' photos are RGB."""
    return cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def messi(messi: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(messi, cv2.COLOR_RGB2BGR)


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_astronaut_face_is_found_where_it_is(face_detector: FaceDetector, astronaut: np.ndarray, astronaut_face) -> None:
    res = face_detector.detect(astronaut)
    assert res.count == 1
    [face] = res.confirmed
    assert iou(face.xyxy, astronaut_face) > 0.5
    assert face.skin > 0.8
    # every raw detection is kept for masking and at least one covers the face
    assert max(iou(d, astronaut_face) for d in res.mask_regions()) > 0.5
    payload = res.to_payload()
    assert payload.count == 1 and payload.width == 512 and payload.height == 512
    assert faces_from_payload(payload)[0].xyxy == tuple(round(v, 1) for v in face.xyxy)


def test_mirrored_image_gives_the_mirrored_box(face_detector: FaceDetector, astronaut: np.ndarray) -> None:
    [face] = face_detector.detect(astronaut).confirmed
    [flipped] = face_detector.detect(cv2.flip(astronaut, 1)).confirmed
    w = astronaut.shape[1]
    mirrored = (w - face.xyxy[2], face.xyxy[1], w - face.xyxy[0], face.xyxy[3])
    assert iou(flipped.xyxy, mirrored) > 0.8


def test_detection_on_a_downscaled_copy_maps_back(astronaut: np.ndarray, astronaut_face) -> None:
    big = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    res = FaceDetector(max_side=512).detect(big)
    [face] = res.confirmed
    assert iou(face.xyxy, tuple(2 * v for v in astronaut_face)) > 0.5


def test_messi_jersey_detection_is_masked_but_not_counted(face_detector: FaceDetector, messi: np.ndarray, messi_face) -> None:
    res = face_detector.detect(messi)
    assert res.count == 1
    [face] = res.confirmed
    assert iou(face.xyxy, messi_face) > 0.5
    # the cascades also fire on the shirt and hair next to his face: masked, not counted
    assert len(res.detections) > 1
    assert any(iou(d.xyxy, messi_face) < 0.3 for d in res.detections)


def test_no_faces_in_a_frame_without_people() -> None:
    ramp = np.tile(np.linspace(0, 255, 640, dtype=np.uint8), (480, 1))
    img = cv2.merge([ramp, np.full_like(ramp, 90), ramp[:, ::-1]])
    res = FaceDetector().detect(img)
    assert res.count == 0 and res.faces == [] and res.detections == []


def test_box_geometry() -> None:
    a = (0.0, 0.0, 10.0, 10.0)
    assert intersection_over_smaller(a, (5.0, 5.0, 15.0, 15.0)) == pytest.approx(0.25)
    assert intersection_over_smaller(a, (2.0, 2.0, 4.0, 4.0)) == pytest.approx(1.0)
    assert intersection_over_smaller(a, (20.0, 20.0, 30.0, 30.0)) == 0.0
    boxes = [a, (2.0, 2.0, 12.0, 12.0), (50.0, 50.0, 60.0, 60.0), (9.0, 9.0, 11.5, 11.5)]
    # 0 and 1 overlap heavily, 3 lies inside 1, 2 is alone
    assert cluster_boxes(boxes) == [[0, 1, 3], [2]]


def test_skin_share_and_chroma() -> None:
    skin = np.zeros((60, 60, 3), np.uint8)
    skin[:] = (120, 150, 210)  # BGR of a light skin tone
    blue = np.zeros((60, 60, 3), np.uint8)
    blue[:] = (200, 60, 30)
    assert skin_share(skin, (0, 0, 60, 60)) == 1.0
    assert skin_share(blue, (0, 0, 60, 60)) == 0.0
    assert is_low_chroma(cv2.cvtColor(cv2.cvtColor(skin, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR))
    assert not is_low_chroma(blue)


def test_grey_frames_skip_the_skin_test(face_detector: FaceDetector, astronaut: np.ndarray) -> None:
    grey = cv2.cvtColor(cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    res = face_detector.detect(grey)
    assert res.count >= 1  # no colour: faces are confirmed without the skin test


def test_missing_cascade_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MissingWeights, match="haarcascade_frontalface_alt2.xml"):
        FaceDetector(folder=tmp_path)


def test_face_payload_round_trip() -> None:
    f = Face((1.0, 2.0, 30.0, 40.0), "haar-frontal", 5.0, 0.9, True, 2)
    [back] = faces_from_payload(FacesPayload(width=64, height=64, count=1, faces=[FaceEntry.model_validate(f.to_dict())]))
    assert back == f


def test_single_cascade_hits_are_masked_not_counted(face_detector: FaceDetector, sample_media: Path) -> None:
    """Megamind decode frame 49: one face, and one cascade also fires on her hair against the
    warm wall (skin-toned, so only the second pass requirement rejects it)."""
    cap = cv2.VideoCapture(str(sample_media / "Megamind.avi"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 49)
    ok, frame = cap.read()
    cap.release()
    assert ok
    res = face_detector.detect(frame)
    assert res.count == 1
    [face] = res.confirmed
    assert face.support >= 2
    assert 0.3 < face.height / frame.shape[0] < 0.4
    lone = [f for f in res.faces if not f.confirmed]
    assert lone and all(f.support == 1 for f in lone)
    # every detection, counted or not, is still masked
    assert len(res.mask_regions()) == len(res.detections) >= 3


# The woman's face in Megamind decode frame 198 (brow to chin, cheek to cheek), measured by eye:
# lit and frontal, but no Haar cascade fires on it.
MEGAMIND_198_FACE = (275.0, 195.0, 440.0, 370.0)


def test_dlib_finds_the_frontal_face_the_cascades_miss(face_detector: FaceDetector, megamind_at) -> None:  # type: ignore[no-untyped-def]
    frame = megamind_at(198)
    res = face_detector.detect(frame)
    assert not [d for d in res.detections if d.detector != "dlib-hog" and iou(d.xyxy, MEGAMIND_198_FACE) > 0.1]
    [face] = res.confirmed
    assert face.detector == "dlib-hog" and face.support == 1
    assert face.weight >= face_detector.dlib_confirm  # a confident HOG score counts without a second pass
    assert iou(face.xyxy, MEGAMIND_198_FACE) > 0.6
    [mask] = [b for b in res.mask_regions() if iou(b, face.xyxy) > 0.5]  # it is masked, forehead included:
    h = face.xyxy[3] - face.xyxy[1]
    assert mask[1] == pytest.approx(face.xyxy[1] - 0.25 * h) and mask[1] < MEGAMIND_198_FACE[1] - 30
    assert (mask[0], mask[2], mask[3]) == (face.xyxy[0], face.xyxy[2], face.xyxy[3])
    # without the HOG pass's say-so the same face is masked but not counted
    strict = FaceDetector(dlib_confirm=float("inf"), search="exhaustive", neural="none").detect(frame)
    assert strict.count == 0 and max(iou(b, MEGAMIND_198_FACE) for b in strict.mask_regions()) > 0.6


def test_cascade_box_on_the_hair_above_a_dlib_face_is_not_another_face(face_detector: FaceDetector, megamind_at) -> None:  # type: ignore[no-untyped-def]
    """Megamind decode frame 114: two frontal cascades agree on a box over his hair and
    forehead, dlib places his face below it (eyes to chin)."""
    frame = megamind_at(114)
    res = face_detector.detect(frame)
    [face] = res.confirmed
    assert face.detector == "dlib-hog"
    assert 170 < face.xyxy[1] < 200 and 330 < face.xyxy[3] < 350  # eyebrows to chin
    hair = [f for f in res.faces if not f.confirmed]
    assert len(hair) == 1 and hair[0].support >= 2 and hair[0].xyxy[1] < 80  # both cascades: not enough
    assert any(iou(b, hair[0].xyxy) > 0.9 for b in res.mask_regions())  # still masked


def test_detector_lineage_names_both_detectors(face_detector: FaceDetector) -> None:
    assert "haar" in face_detector.model_id and "dlib" in face_detector.model_id
    assert face_detector.source.startswith("opencv-haar-") and "+dlib-hog-" in face_detector.source
    p = face_detector.params()
    assert (p["dlib_min_score"], p["dlib_confirm"], p["dlib_upsample"]) == (0.15, 0.25, 1)
    assert face_detector.weights_digest().startswith("sha256:")


# --- the proposal search (what the privacy step runs) -------------------------------------------


@pytest.fixture(scope="module")
def proposals() -> FaceDetector:
    return FaceDetector(search="proposals", neural="full")


def test_proposal_search_finds_the_portrait_and_messi(proposals: FaceDetector, astronaut: np.ndarray, astronaut_face,
                                                      messi: np.ndarray, messi_face) -> None:  # type: ignore[no-untyped-def]
    [face] = proposals.detect(astronaut).confirmed
    assert iou(face.xyxy, astronaut_face) > 0.5 and face.support >= 2
    res = proposals.detect(messi)
    assert res.count == 1 and iou(res.confirmed[0].xyxy, messi_face) > 0.4
    # the classic passes ran only around the proposals: nothing on the jersey or the crowd far off
    assert all(intersection_over_smaller(d.xyxy, messi_face) > 0 for d in res.detections)
    assert proposals.params()["face_search"] == "proposals"


def test_proposal_search_counts_the_man_behind_her(proposals: FaceDetector, megamind_at) -> None:  # type: ignore[no-untyped-def]
    """Megamind decode frame 49: the exhaustive search counts her face only (and a cascade box on
    her hair); searched around BlazeFace's proposals the cascades and dlib also find the man at
    the table behind her, and nothing on the hair."""
    frame = megamind_at(49)
    res = proposals.detect(frame)
    assert res.count == 2
    her, him = res.confirmed
    assert 0.3 < her.height / frame.shape[0] < 0.4 and her.xyxy[2] < 420
    assert him.xyxy[0] > 440 and 60 < him.height < 100
    assert [f for f in res.faces if not f.confirmed] == []


def test_exhaustive_search_masks_the_blurred_face_in_the_background(face_detector: FaceDetector, megamind_at) -> None:  # type: ignore[no-untyped-def]
    """Megamind decode frame 123 at 720p: a blurred face, about 86 px high, at the right edge.
    BlazeFace does not propose it (scores under 0.2 even on a crop), so only the exhaustive search
    (both frontal cascades over the whole 800 px frame) masks it: the reason to choose
    ``faces.search = "exhaustive"`` where background faces matter more than CPU."""
    frame = cv2.resize(megamind_at(123), (1280, 720))
    background = (984.0, 270.0, 1070.0, 357.0)
    res = face_detector.detect(frame)
    assert max(intersection_over_smaller(background, b) for b in res.mask_regions()) > 0.8


def test_proposal_search_needs_the_neural_pass() -> None:
    with pytest.raises(ValueError, match="neural"):
        FaceDetector(search="proposals", neural="none")
    with pytest.raises(ValueError, match="exhaustive"):
        FaceDetector(search="everything")
