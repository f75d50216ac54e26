"""Calibrating a VLM's frame answer with the detector and the face models (paper 3.3 and 3.4).

* Objects: each VLM object needs its own detection of the same type (vocabulary = the frame's
  VLM object types + ``person``); a confirmed object gets the detector's box, an unconfirmed one is
  a hallucination and dropped. Without a detector nothing can be confirmed: objects are kept with
  ``verified=False`` and the VLM's rough box.
* People: a VLM person is matched to a detected person box (by IoU with the VLM's rough box, or
  one-to-one), then to a face (face centre inside the body box, or one-to-one). Where the face
  model and the VLM disagree on age group, gender or basic emotion, the face model runs under
  test-time augmentation, its majority wins, and the conflict is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from skyscript.keyinfo.schema import (
    VLM_GRID,
    AgeGroup,
    Conflict,
    Gender,
    KeyObject,
    Person,
    ShotType,
    Source,
    VlmFrame,
    VlmPerson,
    basic_emotion,
)
from skyscript.models.detectors import Detection
from skyscript.models.faces import FaceBackend, FacePrediction, tta_vote

IntBox = tuple[int, int, int, int]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def grid_to_pixels(box: Sequence[float] | None, width: int, height: int) -> IntBox | None:
    if box is None:
        return None
    x1, y1, x2, y2 = box
    return (
        int(round(x1 * width / VLM_GRID)), int(round(y1 * height / VLM_GRID)),
        int(round(x2 * width / VLM_GRID)), int(round(y2 * height / VLM_GRID)),
    )


def _contains_center(outer: Sequence[float], inner: Sequence[float]) -> bool:
    cx, cy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]


@dataclass
class FaceContext:
    """What the face side of calibration needs for one frame."""

    backend: FaceBackend | None
    image: np.ndarray | None  # RGB, unmasked
    predictions: list[FacePrediction]
    box_source: Source  # privacy (the privacy step's boxes) or the backend's detector
    tta: bool = True


@dataclass
class Calibrated:
    objects: list[KeyObject] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    hallucinated: list[tuple[int, str]] = field(default_factory=list)  # (index in VLM answer, type)
    counts: dict[str, int] = field(default_factory=dict)


def _bump(counts: dict[str, int], key: str, n: int = 1) -> None:
    counts[key] = counts.get(key, 0) + n


def confirm_objects(
    frame: VlmFrame, width: int, height: int, detections: list[Detection] | None, out: Calibrated
) -> None:
    pool: dict[str, list[Detection]] = {}
    for d in detections or []:
        if d.label != "person":
            pool.setdefault(d.label, []).append(d)
    for lst in pool.values():
        lst.sort(key=lambda d: -d.score)
    for i, obj in enumerate(frame.objects):
        sources = {"type": Source.vlm}
        if obj.description:
            sources["description"] = Source.vlm
        if obj.shot_type:
            sources["shot_type"] = Source.vlm
        if detections is None:
            box = grid_to_pixels(obj.box, width, height)
            if box:
                sources["box"] = Source.vlm
            out.objects.append(KeyObject(type=obj.type, description=obj.description, shot_type=obj.shot_type,
                                         box=box, verified=False, sources=sources))
            _bump(out.counts, "objects_unverified")
            continue
        candidates = pool.get(obj.type, [])
        if not candidates:
            out.hallucinated.append((i, obj.type))
            _bump(out.counts, "objects_hallucinated")
            continue
        hint = grid_to_pixels(obj.box, width, height)
        pick = max(candidates, key=lambda d: (iou(d.box, hint) if hint else 0.0, d.score))
        candidates.remove(pick)
        sources["box"] = Source.detector
        out.objects.append(KeyObject(type=obj.type, description=obj.description, shot_type=obj.shot_type,
                                     box=pick.box, score=round(pick.score, 4), verified=True, sources=sources))
        _bump(out.counts, "objects_confirmed")


def _vlm_person(p: VlmPerson, width: int, height: int) -> Person:
    person = Person(
        age=p.age, gender=p.gender, looks=p.looks, emotion=p.emotion, emotion_basic=basic_emotion(p.emotion),
        valence=p.continuous_emotion.valence if p.continuous_emotion else None,
        arousal=p.continuous_emotion.arousal if p.continuous_emotion else None,
        dominance=p.continuous_emotion.dominance if p.continuous_emotion else None,
        temperament=p.temperament, attractiveness=p.attractiveness, shot_type=p.shot_type,
    )
    for name in ("age", "gender", "looks", "emotion", "valence", "arousal", "dominance", "temperament",
                 "attractiveness", "shot_type"):
        if getattr(person, name) is not None:
            person.sources[name] = Source.vlm
    if person.emotion_basic is not None:
        person.sources["emotion_basic"] = Source.vlm
    return person


def _match_bodies(vlm_people: list[VlmPerson], person_dets: list[Detection], width: int, height: int) -> dict[int, Detection]:
    matches: dict[int, Detection] = {}
    hints = {i: grid_to_pixels(p.box, width, height) for i, p in enumerate(vlm_people)}
    pairs = sorted(
        ((iou(hints[i], d.box), i, j) for i in hints if hints[i] for j, d in enumerate(person_dets)), reverse=True
    )
    used: set[int] = set()
    for score, i, j in pairs:
        if score < 0.3 or i in matches or j in used:
            continue
        matches[i] = person_dets[j]
        used.add(j)
    if not matches and len(vlm_people) == 1 and len(person_dets) == 1:
        matches[0] = person_dets[0]
    return matches


def face_field_source(pred: FacePrediction, name: str) -> Source:
    return Source(pred.sources.get(name, "deepface"))


def apply_face(person: Person, pred: FacePrediction, fctx: FaceContext, out: Calibrated) -> None:
    """Fill the person from a face prediction; on disagreement with the VLM, TTA decides."""
    person.face_box = pred.box
    person.sources["face_box"] = fctx.box_source
    person.verified = True
    if pred.age_years is not None:
        person.age_years = round(pred.age_years, 1)
        person.sources["age_years"] = face_field_source(pred, "age")
    if pred.race:
        person.race = pred.race
        person.sources["race"] = face_field_source(pred, "race")
    face_values = {"age": pred.age_group, "gender": pred.gender, "emotion": pred.emotion}
    vlm_values = {
        "age": person.age.value if person.age else None,
        "gender": person.gender.value if person.gender else None,
        "emotion": person.emotion_basic,
    }
    conflicts = [f for f in ("age", "gender", "emotion")
                 if vlm_values[f] is not None and face_values[f] is not None and vlm_values[f] != face_values[f]]
    winners: dict[str, str | None] = dict(face_values)
    votes: dict[str, dict[str, int]] = {}
    if conflicts and fctx.tta and fctx.backend is not None and fctx.image is not None:
        tta = tta_vote(fctx.backend, fctx.image, pred.box)
        winners.update({f: tta.winners.get(f) or face_values[f] for f in conflicts})
        votes = tta.votes
        _bump(out.counts, "tta_runs")
    for f in ("age", "gender", "emotion"):
        value = winners[f]
        if value is None:
            continue
        if f in conflicts:
            person.conflicts.append(Conflict(field=f, vlm=vlm_values[f], face_model=face_values[f],
                                             tta_votes=votes.get(f, {}), outcome=value, winner="face_model"))
            _bump(out.counts, f"conflicts_{f}")
        if f in conflicts or vlm_values[f] is None:
            src = face_field_source(pred, f)
            if f == "age":
                person.age = AgeGroup(value)
                person.sources["age"] = src
            elif f == "gender":
                person.gender = Gender(value)
                person.sources["gender"] = src
            else:
                person.emotion_basic = value
                person.sources["emotion_basic"] = src
                if f in conflicts or person.emotion is None:
                    person.emotion = value
                    person.sources["emotion"] = src


def face_shot_type(face_box: Sequence[float], height: int, rules: Any) -> ShotType:
    from skyscript.video.shot_size import shot_from_face_ratio

    return ShotType(shot_from_face_ratio((face_box[3] - face_box[1]) / float(height), rules))


def calibrate_frame(
    frame: VlmFrame,
    width: int,
    height: int,
    detections: list[Detection] | None,
    fctx: FaceContext,
    shot_rules: Any,
) -> Calibrated:
    out = Calibrated()
    confirm_objects(frame, width, height, detections, out)
    person_dets = sorted((d for d in detections or [] if d.label == "person"), key=lambda d: -d.score)
    bodies = _match_bodies(frame.people, person_dets, width, height)
    people = [_vlm_person(p, width, height) for p in frame.people]
    for i, person in enumerate(people):
        if i in bodies:
            person.body_box = bodies[i].box
            person.sources["body_box"] = Source.detector
            person.verified = True
        else:
            hint = grid_to_pixels(frame.people[i].box, width, height)
            if hint:
                person.body_box = hint
                person.sources["body_box"] = Source.vlm
    # faces -> people: face centre inside a body box (smallest box first), else one-to-one
    faces = list(fctx.predictions)
    assigned: dict[int, FacePrediction] = {}
    for pred in sorted(faces, key=lambda p: -(p.box[2] - p.box[0]) * (p.box[3] - p.box[1])):
        holders = [i for i, p in enumerate(people)
                   if i not in assigned and p.body_box is not None and _contains_center(p.body_box, pred.box)]
        if holders:
            i = min(holders, key=lambda k: (people[k].body_box[2] - people[k].body_box[0])  # type: ignore[index]
                    * (people[k].body_box[3] - people[k].body_box[1]))  # type: ignore[index]
            assigned[i] = pred
    if not assigned and len(people) == 1 and len(faces) == 1:
        assigned[0] = faces[0]
    for i, pred in assigned.items():
        apply_face(people[i], pred, fctx, out)
    used = {id(p) for p in assigned.values()}
    extra = [p for p in faces if id(p) not in used]
    if len(faces) > len(people):  # faces the VLM missed become people of the face model's own
        for pred in extra[: len(faces) - len(people)]:
            person = Person()
            apply_face(person, pred, fctx, out)
            person.shot_type = face_shot_type(pred.box, height, shot_rules)
            person.sources["shot_type"] = Source.face_geometry
            people.append(person)
            _bump(out.counts, "people_from_face_model")
    for person in people:
        if person.shot_type is None and person.face_box is not None:
            person.shot_type = face_shot_type(person.face_box, height, shot_rules)
            person.sources["shot_type"] = Source.face_geometry
    out.people = people
    _bump(out.counts, "people", len(people))
    _bump(out.counts, "people_with_face", sum(1 for p in people if p.face_box is not None))
    return out
