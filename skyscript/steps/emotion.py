"""Continuous emotion (paper 3.1): valence, arousal and dominance per person per keyframe on the
1-9 scale. Where the ``keyinfo`` annotation carries the VLM's values they are used (``source``
``vlm``); otherwise they are derived from the face model's basic emotion through the NRC VAD
lexicon (:mod:`skyscript.scene.vad`, ``source`` ``derived``). Values are smoothed over time along
each person's track within a shot (faces matched between consecutive keyframes by overlap;
characters are settled later, by the drama-scope characters step), exponentially with weight
``smoothing`` on the previous keyframe; ``raw`` keeps the unsmoothed values.
"""

from __future__ import annotations

from typing import Any

from skyscript.config import EmotionSettings
from skyscript.schemas.scene import EmotionPayload, EmotionPerson
from skyscript.steps.base import CPU_LIGHT, AnnotationRecord, Kind, ModelInfo, Step, StepOutput
from skyscript.steps.view import EpisodeView

EMOTION = Kind("emotion", EmotionPayload, version="1", description="valence, arousal, dominance (1-9) per person, smoothed")


def _box(p: Any) -> Any:
    return p.face_box or p.body_box


def _iou(a: Any, b: Any) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def raw_vad(person: Any) -> tuple[tuple[float, float, float], str, str | None] | None:
    """The person's (v, a, d) before smoothing, its source, and the basic emotion it came from."""
    from skyscript.scene.vad import NRC_VAD, vad_of

    vals = (person.valence, person.arousal, person.dominance)
    if all(v is not None for v in vals):
        src = person.sources.get("valence")
        if getattr(src, "value", src) == "vlm":
            return (float(vals[0]), float(vals[1]), float(vals[2])), "vlm", None
    if person.emotion_basic in NRC_VAD:
        return vad_of(person.emotion_basic), "derived", person.emotion_basic
    return None


class EmotionStep(Step[EmotionSettings]):
    name = "emotion"
    version = "1"
    resources = CPU_LIGHT
    reads = ("keyinfo",)
    writes = ("emotion",)
    owns = (EMOTION,)
    params_model = EmotionSettings
    settings_field = "emotion"
    description = "valence/arousal/dominance per person: the VLM's, else derived from the basic emotion (NRC VAD)"

    def run(self, view: EpisodeView, params: EmotionSettings) -> StepOutput:  # type: ignore[override]
        from skyscript.scene.vad import clamp_int

        out = StepOutput()
        counts = {"vlm": 0, "derived": 0, "no_emotion": 0}
        by_shot: dict[str, list[Any]] = {}
        for kf in view.valid_keyframes:
            if view.payload(kf.id, "keyinfo") is not None:
                by_shot.setdefault(kf.shot_id, []).append(kf)
        for shot_id, kfs in by_shot.items():
            kfs.sort(key=lambda k: k.timestamp_s)
            tracks: list[tuple[Any, tuple[float, float, float], str]] = []  # (box, smoothed, track id) of the previous keyframe
            n_tracks = 0
            for kf in kfs:
                info = view.payload(kf.id, "keyinfo")
                payload = EmotionPayload()
                now: list[tuple[Any, tuple[float, float, float], str]] = []
                free = list(tracks)
                for i, p in enumerate(info.people):
                    got = raw_vad(p)
                    if got is None:
                        counts["no_emotion"] += 1
                        continue
                    raw, source, basis = got
                    box = _box(p)
                    match = max(free, key=lambda t: _iou(t[0], box), default=None) if box is not None else None
                    if match is not None and _iou(match[0], box) >= 0.3:
                        free.remove(match)
                        a = params.smoothing
                        smooth = tuple(a * m + (1 - a) * r for m, r in zip(match[1], raw))
                        track = match[2]
                    else:
                        n_tracks += 1
                        smooth, track = raw, f"{shot_id}#t{n_tracks}"
                    now.append((box, smooth, track))  # type: ignore[arg-type]
                    payload.people.append(EmotionPerson(
                        person=i, valence=clamp_int(smooth[0]), arousal=clamp_int(smooth[1]), dominance=clamp_int(smooth[2]),
                        raw=(round(raw[0], 3), round(raw[1], 3), round(raw[2], 3)), source=source,  # type: ignore[arg-type]
                        basis=basis, character_track=track))
                    counts[source] += 1
                tracks = [t for t in now if t[0] is not None]
                out.annotations.append(AnnotationRecord(kf.id, EMOTION.name, payload, "vad"))
        out.counts = {"keyframes": len(out.annotations), **counts}
        out.model = ModelInfo(model_id="NRC-VAD-v1 table" if counts["derived"] else "vlm values")
        out.params = {"vad_table": "NRC VAD Lexicon v1.0 (Mohammad 2018)"}
        return out
