"""Key information without a VLM: the embedded default (``settings.vlm.url`` is None).

People come from the face models alone: the face box (the privacy step's ``faces`` annotation
when there is one, else the face backend's own detector), age, gender and emotion from the
offline face models, the shot type from the face's size (the ``shot_size`` step's mapping).
Objects come only from a configured detector with weights, over a fixed vocabulary. Every field
names its producer in ``sources`` and the payload says ``origin: offline``: none of it is VLM output.
Looks, temperament, continuous emotion and attractiveness need a VLM and stay empty.
"""

from __future__ import annotations

from typing import Any, Sequence

from skyscript.losses import LossRecord
from skyscript.keyinfo.calibrate import face_shot_type
from skyscript.config import KeyInfoSettings
from skyscript.keyinfo.extract import EpisodeResult, FaceStage, FrameInput, FrameResult
from skyscript.keyinfo.schema import AgeGroup, Gender, KeyInfo, KeyObject, Person, Source
from skyscript.models.detectors import OpenVocabDetector
from skyscript.models.faces import FacePrediction, read_rgb


def person_from_face(pred: FacePrediction, box_source: Source, height: int, shot_rules: Any) -> Person:
    p = Person(face_box=pred.box, verified=True, sources={"face_box": box_source})
    if pred.age_years is not None:
        p.age_years = round(pred.age_years, 1)
        p.age = AgeGroup(pred.age_group)
        p.sources["age"] = p.sources["age_years"] = Source(pred.sources.get("age", "deepface"))
    if pred.gender is not None:
        p.gender = Gender(pred.gender)
        p.sources["gender"] = Source(pred.sources.get("gender", "deepface"))
    if pred.emotion is not None:
        p.emotion = p.emotion_basic = pred.emotion
        p.sources["emotion"] = p.sources["emotion_basic"] = Source(pred.sources.get("emotion", "deepface"))
    if pred.race:
        p.race = pred.race
        p.sources["race"] = Source(pred.sources.get("race", "deepface"))
    p.shot_type = face_shot_type(pred.box, height, shot_rules)
    p.sources["shot_type"] = Source.face_geometry
    return p


class OfflineExtractor:
    def __init__(self, params: KeyInfoSettings, detector: OpenVocabDetector | None, faces: FaceStage, shot_rules: Any) -> None:
        self.params, self.detector, self.faces, self.shot_rules = params, detector, faces, shot_rules

    def run(self, episode_id: str, frames: Sequence[FrameInput]) -> EpisodeResult:
        result = EpisodeResult()
        for f in sorted(frames, key=lambda f: f.frame_index):
            try:
                image = read_rgb(f.private_jpeg)
            except ValueError as exc:
                result.losses.append(LossRecord("keyframe", f.keyframe_id, "frame_unreadable", str(exc)))
                result.bump("unreadable_frames")
                continue
            h, w = image.shape[:2]
            fctx = self.faces.context(image, f.face_boxes)
            people = [person_from_face(p, fctx.box_source, h, self.shot_rules) for p in fctx.predictions]
            objects: list[KeyObject] = []
            if self.detector is not None:
                det_image = read_rgb(f.public_jpeg) if f.public_jpeg else image
                for d in self.detector.detect(det_image, list(self.params.offline_vocabulary) + ["person"]):
                    if d.label == "person":
                        continue
                    objects.append(KeyObject(type=d.label, box=d.box, score=round(d.score, 4), verified=True,
                                             sources={"type": Source.detector, "box": Source.detector}))
            info = KeyInfo(origin="offline", width=w, height=h, objects=objects, people=people)
            result.frames.append(FrameResult(f.keyframe_id, f.frame_index, info))
            result.bump("keyframes_annotated")
            result.bump("people", len(people))
            result.bump("people_with_face", len(people))
            result.bump("objects_detected", len(objects))
        return result
