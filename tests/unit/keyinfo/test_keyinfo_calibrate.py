"""Calibration of a VLM frame answer: detector confirmation (hallucinations dropped), body and face
matching, face-model conflicts settled by TTA (face model wins) on a real portrait."""

from __future__ import annotations

import numpy as np
import pytest

from skyscript.keyinfo.calibrate import FaceContext, calibrate_frame, grid_to_pixels
from skyscript.keyinfo.schema import AgeGroup, Gender, ShotType, Source, VlmFrame
from skyscript.models.detectors import Detection
from skyscript.video.shot_size import ShotSizeRules

RULES = ShotSizeRules()
NO_FACES = FaceContext(None, None, [], Source.privacy, False)


def frame(**kw: object) -> VlmFrame:
    return VlmFrame.model_validate(kw)


def test_objects_confirmed_by_the_detector_get_its_box_and_the_rest_are_hallucinations() -> None:
    f = frame(objects=[{"type": "cup", "box": [500, 500, 600, 600]}, {"type": "cup"}, {"type": "sofa"},
                       {"type": "lamp", "description": "brass lamp", "shot_type": "close-up"}])
    dets = [Detection("cup", (100, 100, 120, 120), 0.9), Detection("cup", (500, 250, 600, 300), 0.5),
            Detection("lamp", (10, 10, 50, 90), 0.7), Detection("person", (0, 0, 100, 400), 0.8)]
    out = calibrate_frame(f, 1000, 500, dets, NO_FACES, RULES)
    assert [(o.type, o.box, o.verified) for o in out.objects] == [
        ("cup", (500, 250, 600, 300), True),  # the detection overlapping the VLM's rough box
        ("cup", (100, 100, 120, 120), True),
        ("lamp", (10, 10, 50, 90), True),
    ]
    assert out.hallucinated == [(2, "sofa")]
    assert out.counts["objects_confirmed"] == 3 and out.counts["objects_hallucinated"] == 1
    lamp = out.objects[2]
    assert lamp.sources == {"type": Source.vlm, "description": Source.vlm, "shot_type": Source.vlm, "box": Source.detector}
    assert lamp.shot_type is ShotType.close_up


def test_without_a_detector_objects_are_kept_unverified() -> None:
    out = calibrate_frame(frame(objects=[{"type": "sofa", "box": [0, 0, 500, 500]}]), 640, 480, None, NO_FACES, RULES)
    [o] = out.objects
    assert o.verified is False and o.box == (0, 0, 320, 240) and o.sources["box"] is Source.vlm
    assert out.hallucinated == [] and out.counts["objects_unverified"] == 1


def test_people_are_matched_to_detected_bodies_by_their_rough_boxes() -> None:
    f = frame(people=[{"gender": "male", "box": [600, 0, 1000, 1000]}, {"gender": "female", "box": [0, 0, 400, 1000]}])
    dets = [Detection("person", (10, 5, 190, 200), 0.9), Detection("person", (310, 0, 500, 200), 0.8)]
    out = calibrate_frame(f, 500, 200, dets, NO_FACES, RULES)
    assert [(p.gender, p.body_box) for p in out.people] == [
        (Gender.male, (310, 0, 500, 200)), (Gender.female, (10, 5, 190, 200))]
    assert all(p.sources["body_box"] is Source.detector and p.verified for p in out.people)


def test_grid_boxes_scale_to_pixels() -> None:
    assert grid_to_pixels((0, 500, 1000, 1000), 720, 528) == (0, 264, 720, 528)
    assert grid_to_pixels(None, 720, 528) is None


@pytest.fixture(scope="module")
def astronaut_ctx():  # type: ignore[no-untyped-def]
    pytest.importorskip("dlib")
    pytest.importorskip("ai_edge_litert")
    from skimage import data

    from skyscript.models.faces import OfflineFaceBackend

    img = np.ascontiguousarray(data.astronaut())
    backend = OfflineFaceBackend()
    box = (180, 65, 265, 170)
    return img, backend, FaceContext(backend, img, backend.predict(img, [box]), Source.privacy, True)


def test_face_model_wins_conflicts_after_tta_on_a_real_portrait(astronaut_ctx) -> None:  # type: ignore[no-untyped-def]
    img, _, fctx = astronaut_ctx
    f = frame(people=[{"Age": "elderly", "Gender": "male", "Emotion": "crying", "Looks": "white space suit",
                       "Continuous Emotion": {"V": 2, "A": 3, "D": 4}}])
    out = calibrate_frame(f, 512, 512, None, fctx, RULES)
    [p] = out.people
    assert (p.age, p.gender, p.emotion, p.emotion_basic) == (AgeGroup.adult, Gender.female, "happy", "happy")
    assert p.face_box == (180, 65, 265, 170) and p.sources["face_box"] is Source.privacy
    assert {c.field: (c.vlm, c.face_model, c.outcome, c.winner) for c in p.conflicts} == {
        "age": ("elderly", "adult", "adult", "face_model"),
        "gender": ("male", "female", "female", "face_model"),
        "emotion": ("sad", "happy", "happy", "face_model"),
    }
    assert all(sum(c.tta_votes.values()) == 7 for c in p.conflicts)
    assert p.sources["gender"] is Source.age_gender and p.sources["emotion"] is Source.fer
    assert p.looks == "white space suit" and p.sources["looks"] is Source.vlm  # VLM-only fields stay
    assert p.valence == 2 and p.sources["valence"] is Source.vlm
    assert 20 <= (p.age_years or 0) <= 50
    assert p.shot_type is ShotType.medium and p.sources["shot_type"] is Source.face_geometry  # face = 0.21 of height
    assert out.counts["tta_runs"] == 1 and out.counts["conflicts_gender"] == 1


def test_agreement_keeps_vlm_values_and_runs_no_tta(astronaut_ctx) -> None:  # type: ignore[no-untyped-def]
    _, _, fctx = astronaut_ctx
    out = calibrate_frame(frame(people=[{"age": "adult", "gender": "female", "emotion": "smiling", "shot_type": "close_up"}]),
                          512, 512, None, fctx, RULES)
    [p] = out.people
    assert p.conflicts == [] and "tta_runs" not in out.counts
    assert p.emotion == "smiling" and p.sources["emotion"] is Source.vlm and p.emotion_basic == "happy"
    assert p.gender is Gender.female and p.sources["gender"] is Source.vlm
    assert p.shot_type is ShotType.close_up and p.sources["shot_type"] is Source.vlm


def test_a_face_the_vlm_missed_becomes_a_person_of_the_face_model(astronaut_ctx) -> None:  # type: ignore[no-untyped-def]
    _, _, fctx = astronaut_ctx
    out = calibrate_frame(frame(objects=[{"type": "flag"}]), 512, 512, None, fctx, RULES)
    [p] = out.people
    assert p.gender is Gender.female and p.sources["gender"] is Source.age_gender
    assert Source.vlm not in p.sources.values()
    assert out.counts["people_from_face_model"] == 1
