"""The layout on real photographs with the real offline detectors: basketball1.png (OpenCV's
sample data) shows a standing adult from head to feet; his face (dlib) and body (OpenCV's HOG
people detector) place his head 150-190 cm above the floor. The astronaut's close-up is nearer
the camera than he is."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from skyscript.config import LayoutSettings
from skyscript.keyinfo.schema import KeyInfo, Person
from skyscript.schemas.vocab import AgeGroup
from skyscript.steps.layout import layout_keyframe, shot_projection

pytest.importorskip("dlib", reason="the face detector needs dlib-bin")


@pytest.fixture(scope="module")
def detectors():  # type: ignore[no-untyped-def]
    from skyscript.models.faces import OfflineFaceBackend
    from skyscript.video.shot_size import PeopleDetector

    return OfflineFaceBackend(), PeopleDetector()


def _keyinfo(img, detectors) -> KeyInfo:  # type: ignore[no-untyped-def]
    faces, people = detectors
    [face] = faces.detect(img)
    bodies = [b for b in people.detect(img) if b[0] <= face[0] and face[2] <= b[2] and b[1] <= face[1] and face[3] <= b[3]]
    body = tuple(int(v) for v in bodies[0]) if bodies else None
    h, w = img.shape[:2]
    return KeyInfo(origin="offline", width=w, height=h,
                   people=[Person(face_box=face, body_box=body, age=AgeGroup.adult)])


def test_standing_adult_head_height_on_a_real_full_body_photo(sample_media: Path, detectors) -> None:  # type: ignore[no-untyped-def]
    img = cv2.imread(str(sample_media / "basketball1.png"))
    info = _keyinfo(img, detectors)
    assert info.people[0].body_box is not None, "the HOG people detector found no body around the face"
    payload, points = layout_keyframe(info, None, None, LayoutSettings())
    [person] = payload.people
    assert person.scale_cue == "face" and person.path == "geometry"
    assert payload.camera_height_source == "feet"
    x, y, z = person.world_xyz_cm
    assert 150 <= y <= 190, person
    assert 200 < z < 1200 and x < 0  # a few metres away, left of the centre
    proj = shot_projection(points, info, payload.camera_height_cm, LayoutSettings())
    assert proj["source"] == "intrinsics" and proj["points"] == 2 and proj["reprojection_error_px"] < 0.5


def test_close_up_is_nearer_than_the_full_shot(sample_media: Path, detectors) -> None:  # type: ignore[no-untyped-def]
    from skimage import data

    full, _ = layout_keyframe(_keyinfo(cv2.imread(str(sample_media / "basketball1.png")), detectors), None, None, LayoutSettings())
    astro = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    close, _ = layout_keyframe(_keyinfo(astro, detectors), None, None, LayoutSettings())
    assert close.people[0].camera_xyz_cm[2] < full.people[0].camera_xyz_cm[2] / 2
