"""Shot size: label every keyframe wide / full / medium / close_up / extreme_close_up from the
size of its main face (the ``faces`` annotation the privacy step wrote), falling back to the
HOG people detector, and to ``None`` when no person is found (see
:mod:`skyscript.video.shot_size` for the mapping). Writes a ``shot_size`` annotation;
``Keyframe.shot_type`` follows the current version, so an annotator's correction wins."""

from __future__ import annotations

from typing import Any

from skyscript.config import Settings, ShotSizeSettings
from skyscript.errors import FrameError
from skyscript.losses import LossRecord
from skyscript.schemas.annotations import FacesPayload, ShotSizePayload
from skyscript.steps.base import AnnotationRecord, Kind, ModelInfo, Step, StepOutput
from skyscript.steps.view import EpisodeView

SHOT_SIZE = Kind(
    "shot_size", ShotSizePayload, version="1", description="shot size from the main face or person height",
    columns=lambda p: {"shot_type": p.shot_type.value if p.shot_type is not None else None},
    column_names=("shot_type",),
)


class ShotSizeStep(Step[ShotSizeSettings]):
    name = "shot_size"
    version = "2"
    reads = ("faces", "keyframe.private_key", "private:frames")
    writes = ("shot_size", "keyframe.shot_type")
    owns = (SHOT_SIZE,)
    params_model = ShotSizeSettings
    settings_field = "shot_size"
    uses_settings = ("shot_size", "faces")
    description = "shot size per keyframe from the main face or person height"

    def setup(self, settings: Settings) -> None:
        self.face_settings = settings.faces
        self._faces: Any = None
        self._people: Any = None

    def _face_detector(self) -> Any:
        from skyscript.models.face_detect import FaceDetector

        self._faces = self._faces or FaceDetector.from_settings(self.face_settings)
        return self._faces

    def _people_detector(self) -> Any:
        from skyscript.video.shot_size import PeopleDetector

        self._people = self._people or PeopleDetector()
        return self._people

    def run(self, view: EpisodeView, params: ShotSizeSettings) -> StepOutput:  # type: ignore[override]
        from skyscript.models.face_detect import faces_from_payload
        from skyscript.video.shot_size import ShotSizeRules, classify_shot

        rules = ShotSizeRules.from_settings(params)
        out = StepOutput()
        by_type: dict[str, int] = {}
        detected_here = 0
        used: set[str] = {"faces annotation"}
        for kf in view.keyframes:
            img = None
            try:
                stored: FacesPayload | None = view.payload(kf.id, "faces")
                if stored is not None:
                    faces = faces_from_payload(stored)
                    height = stored.height
                else:
                    # the privacy step has not run on this keyframe: detect faces here
                    img = view.media.frame(kf.private_key)
                    detector = self._face_detector()
                    faces = detector.detect(img).faces
                    height = img.shape[0]
                    detected_here += 1
                    used.add(detector.model_id)
                people: list[tuple[float, float, float, float]] = []
                if not any(f.confirmed for f in faces):
                    img = img if img is not None else view.media.frame(kf.private_key)
                    people_detector = self._people_detector()
                    people = people_detector.detect(img)
                    used.add(people_detector.model_id)
            except FrameError as exc:
                view.log.warning("keyframe %s lost: %s", kf.id, exc)
                out.losses.append(LossRecord("keyframe", kf.id, exc.reason, exc.detail))
                continue
            res = classify_shot(faces, people, height, rules)
            out.annotations.append(AnnotationRecord(kf.id, SHOT_SIZE.name, res.to_payload(), "shot-size-rules"))
            cur = view.current(kf.id, SHOT_SIZE.name)
            shot_type = cur.payload.shot_type if cur is not None and cur.human else res.shot_type
            key = shot_type.value if shot_type is not None else "None"
            by_type[key] = by_type.get(key, 0) + 1
        out.counts = {"keyframes": len(view.keyframes), "labelled": len(out.annotations), "lost": len(out.losses),
                      "faces_detected_here": detected_here}
        out.counts.update({f"shot_{k}": v for k, v in sorted(by_type.items())})
        out.model = ModelInfo(model_id=" + ".join(sorted(used, key=lambda m: m != "faces annotation")))
        return out
