"""Highlight score (paper 5.1, Figure 8): a continuous score per keyframe, shot and episode on a
0-5 scale (Table 1 prints one per shot), from the characters' arousal, valence swings, shot-cut
density and camera motion (:mod:`skyscript.scene.highlight`), smoothed over each episode. The
formula and its weights are settings (``SKYSCRIPT_HIGHLIGHT__*``) and go to lineage with every
run. Writes a ``highlight`` annotation per keyframe and ``shot.extra["highlight"]`` (mean and
peak of the shot's keyframes); the export adds the per-episode curve and plot.
"""

from __future__ import annotations

from skyscript.config import HighlightSettings
from skyscript.schemas.scene import HighlightPayload
from skyscript.steps.base import CPU_LIGHT, AnnotationRecord, Kind, ModelInfo, RowUpdate, Step, StepOutput
from skyscript.steps.view import DramaView

HIGHLIGHT = Kind("highlight", HighlightPayload, version="1", description="highlight score (0-5) of the keyframe, smoothed")


class HighlightStep(Step[HighlightSettings]):
    name = "highlight"
    version = "1"
    scope = "drama"
    resources = CPU_LIGHT
    reads = ("emotion", "shot")
    writes = ("highlight", "shot.extra")
    owns = (HIGHLIGHT,)
    params_model = HighlightSettings
    settings_field = "highlight"
    description = "highlight curve per episode: arousal, valence swings, cut density, motion (Hanjalic and Xu)"

    def run(self, view: DramaView, params: HighlightSettings) -> StepOutput:  # type: ignore[override]
        from skyscript.scene.highlight import Sample, Weights, components, curve

        w = Weights(params.w_arousal, params.w_valence_swing, params.w_cut_density, params.w_motion, params.scale)
        out = StepOutput()
        n_kf = 0
        for ep in sorted(view.episodes, key=lambda e: e.id):
            ev = view.episode(ep.id)
            shots = {s.id: s for s in ev.shots}
            cuts = [s.start_s for s in ev.shots if s.shot_index > 0]
            kfs = sorted(ev.valid_keyframes, key=lambda k: k.timestamp_s)
            samples = []
            for kf in kfs:
                emo = ev.payload(kf.id, "emotion")
                people = emo.people if emo is not None else []
                shot = shots.get(kf.shot_id)
                samples.append(Sample(
                    kf.timestamp_s,
                    sum(p.arousal for p in people) / len(people) if people else None,
                    sum(p.valence for p in people) / len(people) if people else None,
                    shot.camera_speed if shot is not None else None,
                ))
            comps = components(samples, cuts, params.cut_window_s, params.cuts_per_s_max, params.motion_max)
            raw, smooth = curve(comps, w, params.smooth_sigma)
            per_shot: dict[str, list[float]] = {}
            for kf, c, r, s in zip(kfs, comps, raw, smooth):
                out.annotations.append(AnnotationRecord(kf.id, HIGHLIGHT.name, HighlightPayload(
                    score=round(s, 3), raw=round(r, 3), components={k: round(v, 4) for k, v in c.items()},
                    smoothed=params.smooth_sigma > 0, formula=w.formula()), "highlight-curve"))
                per_shot.setdefault(kf.shot_id, []).append(s)
            for shot_id, scores in per_shot.items():
                shot = shots[shot_id]
                out.updates.append(RowUpdate("shot", shot_id, {"extra": {
                    **(shot.extra or {}),
                    "highlight": {"score": round(sum(scores) / len(scores), 1), "peak": round(max(scores), 2),
                                  "keyframes": len(scores)},
                }}))
            n_kf += len(kfs)
        out.counts = {"episodes": len(view.episodes), "keyframes": n_kf, "shots": len(out.updates)}
        out.model = ModelInfo(model_id="hanjalic-xu affect curve")
        out.params = {"formula": w.formula()}
        return out
