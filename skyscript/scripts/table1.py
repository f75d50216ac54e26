"""Build one refined shooting script (paper Table 1) from a scene's shots, keyframes and the
annotations present on them.

Inputs are plain snapshots (:class:`ShotIn`, :class:`KeyframeIn`) so the builder is testable
without a database. Each annotation kind of the scene-understanding steps (``characters``,
``depth``, ``pose``, ``layout``, ``emotion``, ``highlight``) is read when present; when absent every
field it would feed is ``missing`` with the reason. Payloads are read as plain dicts with the keys
the scene interface documents, so a payload model's extra fields never break the builder.

Rules used (each recorded as ``source="rule"`` with ``by`` naming it):

* **focus**: the person with the largest box on the shot's keyframe, else the largest object;
* **main subject**: the characters on screen, largest first;
* **camera angle** (``geometry``): the camera height against the subject's head height from the
  ``layout`` step: more than 30 cm above is *High Angle*, more than 30 cm below is *Low Angle*,
  else *Eye Level*;
* **camera position**: "Stationary" or "Moving (<movement>)", the angle when known, and what the
  frame holds (the shot size's framing);
* **event**: consecutive shots with the same cast make one event (Event Number 001, 002, ...); the
  event text names the cast, their postures when pose ran, and the place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from skyscript.schemas.script import (
    CameraDetail,
    CharacterDetail,
    KeyObjectDetail,
    SceneHeading,
    SceneInfo,
    ShootingScript,
    ShotScript,
    Valued,
    valued,
)

SCENE_KINDS = ("characters", "depth", "pose", "layout", "emotion", "highlight")

NOT_RUN = {
    "keyinfo": "keyinfo step has not run on this keyframe (or lost it)",
    "characters": "characters step has not run",
    "depth": "depth step has not run (or no depth weights)",
    "pose": "pose step has not run (or no pose backend)",
    "layout": "layout step has not run",
    "emotion": "emotion step has not run",
    "highlight": "highlight step has not run",
}

SHOT_SIZE_WORDS = {
    "wide": "WIDE SHOT", "full": "FULL SHOT", "medium": "MEDIUM SHOT", "close_up": "CLOSE-UP",
    "extreme_close_up": "EXTREME CLOSE-UP",
}
FRAMING = {
    "wide": "capturing the whole setting", "full": "framing the figures head to toe",
    "medium": "framing from the waist up", "close_up": "tight on the face", "extreme_close_up": "on a detail",
}
MOVEMENT_WORDS = {
    "static": "Static", "pan_left": "Pan left", "pan_right": "Pan right", "tilt_up": "Tilt up",
    "tilt_down": "Tilt down", "zoom_in": "Slow zoom in", "zoom_out": "Slow zoom out", "handheld": "Handheld",
    "complex": "Complex move",
}
POSTURE_VERBS = {"standing": "standing", "sitting": "sitting", "lying": "lying down", "walking": "walking",
                 "running": "running"}
ANGLE_MARGIN_CM = 30.0
EMOTION_ADJ = {"fear": "afraid", "surprise": "surprised", "disgust": "disgusted", "anger": "angry", "sadness": "sad"}


@dataclass
class KeyframeIn:
    id: str
    frame_index: int
    valid: bool
    shot_type: str | None
    shot_type_human: bool = False
    keyinfo: Mapping[str, Any] | None = None  # the current keyinfo payload as a dict
    keyinfo_human: bool = False
    kinds: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # scene kinds present on this keyframe
    human: dict[str, bool] = field(default_factory=dict)  # kind -> an annotator wrote the current version


@dataclass
class ShotIn:
    id: str
    shot_index: int
    start_s: float
    end_s: float
    camera_movement: str | None
    transition_in: str | None
    extra: Mapping[str, Any]
    keyframes: list[KeyframeIn]


def _people(payload: Mapping[str, Any] | None, key: str = "person") -> dict[int, Mapping[str, Any]]:
    if not payload:
        return {}
    return {int(p[key]): p for p in payload.get("people" if key == "person" else "objects", []) if key in p}


def _objects(payload: Mapping[str, Any] | None) -> dict[int, Mapping[str, Any]]:
    return _people(payload, "object")


def _box_area(box: Any) -> float:
    if not box:
        return 0.0
    x1, y1, x2, y2 = box
    return max(0.0, float(x2) - float(x1)) * max(0.0, float(y2) - float(y1))


def _cat(src: Any) -> str:
    """A keyinfo field source (vlm, deepface, fer, ...) as a script source category."""
    s = str(getattr(src, "value", src) or "")
    return "vlm" if s == "vlm" else "model"


def _xyz(entry: Mapping[str, Any] | None) -> list[float] | None:
    if not entry:
        return None
    xyz = entry.get("world_xyz_cm")
    return [round(float(v), 1) for v in xyz] if xyz is not None else None


def representative(shot: ShotIn) -> KeyframeIn | None:
    """The keyframe a shot's script describes: the valid one with key information and the most
    people, else the first valid one, else the first."""
    valid = [k for k in shot.keyframes if k.valid]
    with_info = [k for k in valid if k.keyinfo is not None]
    if with_info:
        return max(with_info, key=lambda k: (len(k.keyinfo.get("people", [])), -k.frame_index))  # type: ignore[union-attr]
    return (valid or shot.keyframes or [None])[0]


class ScriptBuilder:
    """Builds the scripts of one episode's scenes, numbering shots through the episode."""

    def __init__(self, drama_id: str, episode_id: str) -> None:
        self.drama_id = drama_id
        self.episode_id = episode_id

    # --- characters --------------------------------------------------------------------------

    def _characters(self, kf: KeyframeIn, layout: dict[int, Mapping[str, Any]]) -> list[CharacterDetail]:
        info = kf.keyinfo or {}
        chars = _people(kf.kinds.get("characters"))
        pose = _people(kf.kinds.get("pose"))
        emo = _people(kf.kinds.get("emotion"))
        has = {k: k in kf.kinds for k in SCENE_KINDS}
        out: list[CharacterDetail] = []
        for i, p in enumerate(info.get("people", [])):
            srcs = p.get("sources", {}) or {}
            human_ki = kf.keyinfo_human
            c = chars.get(i)
            if c is not None:
                name, name_source = str(c.get("name")), str(c.get("name_source", "characters"))
                cid = Valued.of(c.get("character_id"), "human" if kf.human.get("characters") else "model", "characters")
            else:
                name, name_source = f"PERSON {i + 1}", "rule"
                cid = Valued.gap(NOT_RUN["characters"] + ": people are numbered per shot" if not has["characters"]
                                 else "the characters step could not assign this person")

            def ki(fieldname: str, value: Any) -> Valued:
                if human_ki:
                    return valued(value, "human", "keyinfo correction", f"keyinfo has no {fieldname} for this person")
                return valued(value, _cat(srcs.get(fieldname, "vlm")), f"keyinfo:{getattr(srcs.get(fieldname), 'value', srcs.get(fieldname)) or 'vlm'}",
                              f"keyinfo has no {fieldname} for this person")

            e = emo.get(i)
            if e is not None:
                src = "human" if kf.human.get("emotion") else ("vlm" if e.get("source") == "vlm" else "rule")
                vad = [Valued.of(int(e[k]), src, f"emotion:{e.get('source', '')}") for k in ("valence", "arousal", "dominance")]
            else:
                vad = [ki(k, p.get(k)) if p.get(k) is not None else Valued.gap(
                    (NOT_RUN["emotion"] if not has["emotion"] else "the emotion step rated no V/A/D for this person")
                    + f"; keyinfo has no {k}") for k in ("valence", "arousal", "dominance")]
            po = pose.get(i)
            if po is not None and po.get("posture") not in (None, "unknown"):
                pose_v = Valued.of(po["posture"], "human" if kf.human.get("pose") else "model",
                                   f"pose:{kf.kinds['pose'].get('backend', '')}")
            elif po is not None:
                pose_v = Valued.gap("pose found the person but could not tell the posture")
            else:
                reason = kf.kinds["pose"].get("reason") if has["pose"] else None
                pose_v = Valued.gap(reason or (NOT_RUN["pose"] if not has["pose"] else "pose found no skeleton for this person"))
            lo = layout.get(i)
            loc = (Valued.of(_xyz(lo), "human" if kf.human.get("layout") else "geometry", f"layout:{lo.get('path', 'geometry')}")
                   if lo is not None and _xyz(lo) is not None
                   else Valued.gap(NOT_RUN["layout"] if not has["layout"] else "layout placed no 3D position for this person"))
            age = p.get("age")
            if p.get("age_years") is not None and age:
                age = f"{age} (~{round(float(p['age_years']))})"
            out.append(CharacterDetail(
                name=name, name_source=name_source, character_id=cid, person_index=i, keyframe_id=kf.id,
                age=ki("age", age), gender=ki("gender", p.get("gender")), looks=ki("looks", p.get("looks")),
                emotion=ki("emotion", p.get("emotion") or p.get("emotion_basic")),
                valence=vad[0], arousal=vad[1], dominance=vad[2],
                temperament=ki("temperament", p.get("temperament")),
                attractiveness=ki("attractiveness", p.get("attractiveness")),
                pose=pose_v, location_3d_cm=loc,
            ))
        return out

    def _objects(self, kf: KeyframeIn, layout_objects: dict[int, Mapping[str, Any]]) -> list[KeyObjectDetail]:
        info = kf.keyinfo or {}
        has_layout = "layout" in kf.kinds
        out = []
        for i, o in enumerate(info.get("objects", [])):
            srcs = o.get("sources", {}) or {}
            lo = layout_objects.get(i)
            out.append(KeyObjectDetail(
                type=str(o.get("type")), object_index=i, keyframe_id=kf.id,
                description=valued(o.get("description"), _cat(srcs.get("description", "vlm")), "keyinfo",
                                   "keyinfo has no description for this object"),
                shot_size=valued(o.get("shot_type"), _cat(srcs.get("shot_type", "vlm")), "keyinfo",
                                 "keyinfo has no shot type for this object"),
                location_3d_cm=(Valued.of(_xyz(lo), "geometry", f"layout:{lo.get('path', 'geometry')}")
                                if lo is not None and _xyz(lo) is not None
                                else Valued.gap(NOT_RUN["layout"] if not has_layout else "layout placed no 3D position for this object")),
            ))
        return out

    # --- one shot ----------------------------------------------------------------------------

    def _shot(self, number: int, shot: ShotIn, location: Valued) -> tuple[ShotScript, tuple[str, ...]]:
        kf = representative(shot)
        kinds = kf.kinds if kf else {}
        layout_payload = kinds.get("layout")
        chars = self._characters(kf, _people(layout_payload)) if kf and kf.keyinfo else []
        objs = self._objects(kf, _objects(layout_payload)) if kf and kf.keyinfo else []
        no_info = NOT_RUN["keyinfo"] if kf is not None else "the shot has no keyframe"

        size_key = kf.shot_type if kf else None
        size = (Valued.of(SHOT_SIZE_WORDS.get(size_key, size_key.upper()), "human" if kf.shot_type_human else "rule",
                          "shot_size: face and person box ratios")
                if kf and size_key else Valued.gap("shot_size step has not run or found neither face nor person"))
        mv = shot.camera_movement
        movement = (Valued.of(MOVEMENT_WORDS.get(mv, mv), "model", "scan: global motion (LK + affine)") if mv
                    else Valued.gap("scan measured no camera movement for this shot (too short or no texture)"))

        # camera angle from the layout's camera height against the main subject's head
        ordered = sorted(chars, key=lambda c: -_box_area(
            ((kf.keyinfo or {}).get("people", [])[c.person_index] or {}).get("body_box")
            or ((kf.keyinfo or {}).get("people", [])[c.person_index] or {}).get("face_box"))) if kf else []
        angle = Valued.gap(NOT_RUN["layout"] if not layout_payload else "layout placed no person to compare heights with")
        if layout_payload and ordered and ordered[0].location_3d_cm.ok:
            cam_h = layout_payload.get("camera_height_cm")
            head_y = ordered[0].location_3d_cm.value[1]
            if cam_h is not None:
                d = float(cam_h) - float(head_y)
                word = "High Angle" if d > ANGLE_MARGIN_CM else "Low Angle" if d < -ANGLE_MARGIN_CM else "Eye Level"
                angle = Valued.of(word, "geometry", f"layout: camera {float(cam_h):.0f} cm vs head {float(head_y):.0f} cm")
        elif not layout_payload and kf is None:
            angle = Valued.gap("the shot has no keyframe")

        if mv:
            parts = ["Stationary" if mv == "static" else f"Moving ({MOVEMENT_WORDS.get(mv, mv).lower()})"]
            if angle.ok:
                parts.append(str(angle.value).lower())
            if size_key in FRAMING:
                parts.append(FRAMING[size_key])
            position = Valued.of(", ".join(parts), "rule", "camera position: movement + angle + framing")
        else:
            position = Valued.gap("camera movement unknown (see camera_movement)")

        info = kf.keyinfo if kf else None
        if info is None:
            focus = Valued.gap(no_info)
        elif ordered:
            c = ordered[0]
            bits = [x for x in (c.age.value if c.age.ok else None, c.gender.value if c.gender.ok else None) if x]
            focus = Valued.of(f"{c.name}" + (f" ({', '.join(str(b) for b in bits)})" if bits else ""), "rule",
                              "focus: largest person on the keyframe")
        elif info.get("objects"):
            big = max(info["objects"], key=lambda o: _box_area(o.get("box")))
            focus = Valued.of(str(big.get("description") or big.get("type")), "rule", "focus: largest key object")
        else:
            focus = Valued.gap("key information found no person and no object on this shot")

        cast = tuple(c.name for c in ordered)
        main = (Valued.of(list(cast), "rule", "main subject: characters on screen, largest first") if cast
                else Valued.gap(no_info) if info is None else Valued.gap("no character on screen"))

        if info is None:
            action = Valued.gap(no_info)
        elif not chars:
            action = Valued.gap("no character on screen to act")
        else:
            has_pose = "pose" in kinds
            bits = []
            for c in ordered:
                verb = POSTURE_VERBS.get(str(c.pose.value)) if c.pose.ok else None
                mood = EMOTION_ADJ.get(str(c.emotion.value), str(c.emotion.value)) if c.emotion.ok else None
                if verb or mood:
                    bits.append(f"{c.name}" + (f" is {verb}" if verb else "") + (f"{' and' if verb else ''} looks {mood}" if mood else ""))
            if bits:
                action = Valued.of("; ".join(bits) + ".", "rule",
                                   "action: pose posture + keyinfo emotion" if has_pose else "action: keyinfo emotion (no pose)")
            else:
                action = Valued.gap(NOT_RUN["pose"] if not has_pose else "no posture or emotion known for the characters")

        hl = shot.extra.get("highlight") if isinstance(shot.extra, Mapping) else None
        hl_score = hl.get("score") if isinstance(hl, Mapping) else hl if isinstance(hl, (int, float)) else None
        if hl_score is None:
            scores = [float(k.kinds["highlight"]["score"]) for k in shot.keyframes if "highlight" in k.kinds]
            hl_score = sum(scores) / len(scores) if scores else None
        highlight = (Valued.of(round(float(hl_score), 2), "model", "highlight: arousal-driven affect curve")
                     if hl_score is not None else Valued.gap(NOT_RUN["highlight"]))

        notes = []
        if shot.transition_in in ("fade", "dissolve"):
            notes.append(f"transition in: {shot.transition_in}")
        if layout_payload:
            notes += [f"layout check {f.get('check')}: {f.get('detail')}" for f in layout_payload.get("flags", [])]
        camera = CameraDetail(
            time_s=Valued.of(round(shot.end_s - shot.start_s, 2), "model", "scan: shot boundaries"),
            shot_size=size, camera_angle=angle, main_subject=main,
        )
        script = ShotScript(
            number=number, shot_index=shot.shot_index, shot_id=shot.id, start_s=shot.start_s, end_s=shot.end_s,
            keyframe_ids=[k.id for k in shot.keyframes], shot_size=size, camera_position=position,
            camera_movement=movement, focus=focus, action=action, highlight_score=highlight, camera_detail=camera,
            event_number=Valued.gap("set below"), event=Valued.gap("set below"),
            characters=chars, key_objects=objs, notes=notes,
        )
        return script, cast

    # --- one scene ---------------------------------------------------------------------------

    def build(self, scene: SceneInfo, shots: list[ShotIn], first_number: int) -> ShootingScript:
        """The script of ``scene``; its shots are numbered from ``first_number``."""
        built: list[ShotScript] = []
        casts: list[tuple[str, ...]] = []
        for i, sh in enumerate(shots):
            s, cast = self._shot(first_number + i, sh, scene.location)
            built.append(s)
            casts.append(cast)
        # events: consecutive shots with the same cast (unordered) form one event
        event_no = 0
        prev: frozenset[str] | None = None
        place = str(scene.location.value).lower() if scene.location.ok else None
        for s, cast in zip(built, casts):
            key = frozenset(cast)
            if key != prev:
                event_no += 1
                prev = key
            s.event_number = Valued.of(f"{event_no:03d}", "rule", "event: a change of cast starts a new event")
            s.event = Valued.of(self._event_text(s, cast, place), "rule", "event: cast + posture + place")
        names: list[str] = []
        for s in built:
            for c in s.characters:
                if c.name not in names:
                    names.append(c.name)
        present = {k: any(k in kf.kinds for sh in shots for kf in sh.keyframes) for k in SCENE_KINDS}
        present["keyinfo"] = any(kf.keyinfo is not None for sh in shots for kf in sh.keyframes)
        return ShootingScript(
            script_id=scene.script_id, drama_id=self.drama_id, episode_id=self.episode_id,
            scene=SceneHeading(
                number=scene.scene_index, int_ext=scene.int_ext, location=scene.location,
                time_of_day=scene.time_of_day, description=scene.description,
                start_s=min(s.start_s for s in shots), end_s=max(s.end_s for s in shots),
            ),
            shots=built, characters=names, upstream=present,
        )

    @staticmethod
    def _event_text(s: ShotScript, cast: tuple[str, ...], place: str | None) -> str:
        where = f" in the {place}" if place else ""
        if not cast:
            return f"No one on screen{where}".strip()
        who = cast[0] if len(cast) == 1 else ", ".join(cast[:-1]) + f" and {cast[-1]}"
        postures = {str(c.pose.value) for c in s.characters if c.pose.ok}
        verb = POSTURE_VERBS.get(next(iter(postures))) if len(postures) == 1 else None
        return f"{who}{' ' + verb if verb else ''}{where}"
