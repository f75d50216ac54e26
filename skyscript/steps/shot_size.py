"""Shot size: label every keyframe wide / full / medium / close_up / extreme_close_up from the
size of its main face (the ``faces`` annotation the privacy step wrote), falling back to the
HOG people detector, and to ``None`` when no person is found (see
:mod:`skyscript.video.shot_size` for the mapping). Writes a ``shot_size`` annotation and
``Keyframe.shot_type``; an annotator's correction of the annotation wins over the machine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from skyscript.db import lineage
from skyscript.db.lineage import LossRecord
from skyscript.steps.base import ModelInfo, Step, StepContext, StepOutput

if TYPE_CHECKING:
    import numpy as np


class ShotSizeStep(Step):
    name = "shot_size"
    version = "2"
    reads = ("annotation:faces", "keyframe.private_key", "private:frames/")
    writes = ("annotation:shot_size", "keyframe.shot_type", "loss:keyframe")
    description = "shot size per keyframe from the main face or person height"

    def run(self, ctx: StepContext, step_run_id: int, episode_id: str | None) -> StepOutput:
        from skyscript.video.faces import Face, FaceDetector, faces_from_payload
        from skyscript.video.frames import FrameError, read_frame
        from skyscript.video.shot_size import PeopleDetector, ShotSize, ShotSizeRules, classify_shot

        assert episode_id is not None
        log = ctx.logger(self.name, episode_id)
        video = ctx.settings.video
        rules = ShotSizeRules.from_settings(video)
        face_detector: FaceDetector | None = None
        people_detector: PeopleDetector | None = None

        with ctx.db.session() as s:
            frames = [(kf.id, kf.private_key) for kf in lineage.keyframes_of(s, episode_id)]
            stored: dict[str, dict[str, Any]] = {}
            for kf_id, _ in frames:
                ann = lineage.annotation_of(s, kf_id, "faces")
                if ann is not None:
                    stored[kf_id] = ann.payload

        results: dict[str, ShotSize] = {}
        losses: list[LossRecord] = []
        detected_here = 0
        for kf_id, key in frames:
            img: np.ndarray | None = None
            try:
                faces: list[Face]
                if kf_id in stored:
                    faces = faces_from_payload(stored[kf_id])
                    height = int(stored[kf_id]["height"])
                else:
                    # the privacy step has not run on this keyframe: detect faces here
                    img = read_frame(ctx.store, key)
                    face_detector = face_detector or FaceDetector.from_settings(video)
                    faces = face_detector.detect(img).faces
                    height = img.shape[0]
                    detected_here += 1
                people: list[tuple[float, float, float, float]] = []
                if not any(f.confirmed for f in faces):
                    img = img if img is not None else read_frame(ctx.store, key)
                    people_detector = people_detector or PeopleDetector()
                    people = people_detector.detect(img)
            except FrameError as exc:
                log.warning("keyframe %s lost: %s", kf_id, exc)
                losses.append(LossRecord("keyframe", kf_id, exc.reason, exc.detail))
                continue
            results[kf_id] = classify_shot(faces, people, height, rules)

        by_type: dict[str, int] = {}
        with ctx.db.session() as s:
            for kf_id, res in results.items():
                lineage.put_annotation(s, kf_id, "shot_size", res.to_payload(), "shot-size-rules", step_run_id)
                current = lineage.annotation_of(s, kf_id, "shot_size")
                shot_type = current.payload.get("shot_type") if current is not None else res.shot_type
                lineage.update_keyframe(s, kf_id, shot_type=shot_type)
                by_type[str(shot_type)] = by_type.get(str(shot_type), 0) + 1
            for loss in losses:
                lineage.update_keyframe(s, loss.item_id, shot_type=None)
            lineage.replace_losses(s, ctx.drama_id, self.name, episode_id, losses, step_run_id)

        counts = {"keyframes": len(frames), "labelled": len(results), "lost": len(losses), "faces_detected_here": detected_here}
        counts.update({f"shot_{k}": v for k, v in sorted(by_type.items())})
        models = ["faces annotation"]
        if face_detector is not None:
            models.append(face_detector.model_id)
        if people_detector is not None:
            models.append(people_detector.model_id)
        return StepOutput(
            counts=counts,
            model=ModelInfo(model_id=" + ".join(models)),
            params={"shot_face_ratios": list(rules.face_ratios), "shot_full_person_ratio": rules.full_person_ratio},
        )
