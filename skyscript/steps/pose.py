"""Pose: COCO-17 keypoints for every person of the ``keyinfo`` annotation in AlphaPose's JSON
layout (``keypoints`` as ``[x, y, score]`` triples, ``box``, ``score``) and a posture label by
rule (:mod:`skyscript.scene.posture`): standing, sitting, lying, and walking/running when the hips
move between keyframes of the shot.

Backends (``SKYSCRIPT_POSE__BACKEND``, :mod:`skyscript.models.pose`): ``onnx`` (a top-down ONNX
file under the model directory, onnxruntime), ``ultralytics`` (YOLO pose, GPU image), ``auto``
(whichever loads, else none: the keyframes record that no pose backend is configured), ``none``.
A named backend whose file is missing fails the step with the file's name.
"""

from __future__ import annotations

from typing import Any

from skyscript.config import PoseSettings, Settings
from skyscript.errors import MissingWeights, StepError
from skyscript.schemas.scene import PosePayload, PosePerson
from skyscript.steps.base import GPU_MODEL, AnnotationRecord, Kind, ModelInfo, Step, StepOutput
from skyscript.steps.view import EpisodeView

POSE = Kind("pose", PosePayload, version="1", description="COCO-17 keypoints per person (AlphaPose layout) and posture")


def same_person(candidates: list[PosePerson], person: PosePerson) -> PosePerson | None:
    """The same person in the previous keyframe of the shot (keyinfo indices may differ): the
    nearest box of a similar height (within a factor 1.5) whose centre is less than one box
    height away."""
    x1, y1, x2, y2 = person.box
    h = y2 - y1
    best, best_d = None, float("inf")
    for q in candidates:
        qx1, qy1, qx2, qy2 = q.box
        qh = qy2 - qy1
        if h <= 0 or qh <= 0 or not (1 / 1.5 <= qh / h <= 1.5):
            continue
        d = (((qx1 + qx2) - (x1 + x2)) ** 2 + ((qy1 + qy2) - (y1 + y2)) ** 2) ** 0.5 / 2 / h
        if d < 1.0 and d < best_d:
            best, best_d = q, d
    return best


class PoseStep(Step[PoseSettings]):
    name = "pose"
    version = "1"
    resources = GPU_MODEL
    reads = ("keyinfo", "keyframe.private_key", "private:frames")
    writes = ("pose",)
    owns = (POSE,)
    params_model = PoseSettings
    settings_field = "pose"
    description = "COCO-17 keypoints per person (ONNX or ultralytics) and a posture label"

    def setup(self, settings: Settings) -> None:
        self.settings = settings
        self._loaded: dict[tuple[Any, ...], tuple[Any, str | None]] = {}

    def teardown(self) -> None:
        self._loaded.clear()

    def _backend(self, params: PoseSettings) -> tuple[Any, str | None]:
        from skyscript.models.pose import load_pose_backend

        key = (params.backend, params.onnx_file, params.ultralytics_weights)
        if key not in self._loaded:
            if params.backend == "none":
                self._loaded[key] = (None, "pose disabled (backend none)")
            else:
                try:
                    self._loaded[key] = (load_pose_backend(self.settings, params), None)
                except MissingWeights as exc:
                    if params.backend != "auto":
                        raise StepError(str(exc)) from exc
                    self._loaded[key] = (None, f"no pose backend ({exc})")
        return self._loaded[key]

    def run(self, view: EpisodeView, params: PoseSettings) -> StepOutput:  # type: ignore[override]
        from skyscript.models.pose import body_box_of
        from skyscript.scene.posture import moving_posture, static_posture

        backend, reason = self._backend(params)
        out = StepOutput()
        if backend is None:
            view.log.warning("pose unavailable: %s", reason)
            for kf in view.valid_keyframes:
                out.annotations.append(AnnotationRecord(kf.id, POSE.name, PosePayload(backend="none", reason=reason), "none"))
            out.counts = {"keyframes": len(view.valid_keyframes), "people": 0, "unavailable": len(out.annotations)}
            out.model = ModelInfo(model_id="none")
            return out
        payloads: dict[str, PosePayload] = {}
        with_info = [kf for kf in view.valid_keyframes if view.payload(kf.id, "keyinfo") is not None]
        for kf, img in view.media.readable(with_info, out.losses, view.log):
            info = view.payload(kf.id, "keyinfo")
            h, w = img.shape[:2]
            idx, boxes = [], []
            for i, p in enumerate(info.people):
                box = body_box_of(p.face_box, p.body_box, w, h)
                if box is not None:
                    idx.append(i)
                    boxes.append(box)
            payload = PosePayload(backend=backend.model_id)
            for i, box, (kps, score) in zip(idx, boxes, backend.predict(img, boxes)):
                payload.people.append(PosePerson(person=i, keypoints=kps, box=box, score=min(1.0, max(0.0, score)),
                                                 posture=static_posture(kps, params.min_score)))  # type: ignore[arg-type]
            payloads[kf.id] = payload
        # walking / running: a standing person whose hips move between keyframes of the shot
        by_shot: dict[str, list[Any]] = {}
        for kf in with_info:
            if kf.id in payloads:
                by_shot.setdefault(kf.shot_id, []).append(kf)
        moving = 0
        for kfs in by_shot.values():
            kfs.sort(key=lambda k: k.timestamp_s)
            for a, b in zip(kfs, kfs[1:]):
                pa, pb = payloads[a.id], payloads[b.id]
                for person in pb.people:
                    prev = same_person(pa.people, person)
                    if prev is None or person.posture not in ("standing", "walking", "running"):
                        continue
                    motion = moving_posture(prev.keypoints, person.keypoints, b.timestamp_s - a.timestamp_s,
                                            params.walk_heights_per_s, params.run_heights_per_s, params.min_score)
                    if motion is not None:
                        person.posture = motion  # type: ignore[assignment]
                        moving += 1
        for kf_id, payload in payloads.items():
            out.annotations.append(AnnotationRecord(kf_id, POSE.name, payload, backend.model_id))
        out.counts = {"keyframes": len(view.valid_keyframes), "people": sum(len(p.people) for p in payloads.values()),
                      "moving": moving, "lost": len(out.losses)}
        out.model = ModelInfo(model_id=backend.model_id, weights_digest=backend.weights_digest)
        return out
