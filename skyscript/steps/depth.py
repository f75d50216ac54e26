"""Depth: a relative depth map per valid keyframe with Depth Anything V2 (paper 3.4), the median
depth inside every person's and object's box of the ``keyinfo`` annotation, and the map itself as
a 16-bit PNG in the private area (``depth/<drama>/<episode>/f<frame>.png``).

Backends (``SKYSCRIPT_DEPTH__BACKEND``): ``transformers`` needs the checkpoint folder under the
model directory and fails with the missing file's name otherwise; ``auto`` (the embedded default)
uses it when it is there and otherwise records, per keyframe, that depth is unavailable and why,
so the layout step runs its geometry path; ``none`` never loads a model.
"""

from __future__ import annotations

import sys
from typing import Any

from skyscript.config import DepthSettings, Settings
from skyscript.errors import MissingWeights, StepError
from skyscript.schemas.scene import DepthObject, DepthPayload, DepthPerson
from skyscript.steps.base import GPU_MODEL, AnnotationRecord, Kind, ModelInfo, ObjectRecord, Step, StepOutput
from skyscript.steps.view import EpisodeView

DEPTH = Kind("depth", DepthPayload, version="1", description="median relative depth per person and object (Depth Anything V2)")


def depth_key(drama_id: str, episode_id: str, frame_index: int) -> str:
    return f"depth/{drama_id}/{episode_id}/f{frame_index:07d}.png"


class DepthStep(Step[DepthSettings]):
    name = "depth"
    version = "1"
    resources = GPU_MODEL
    reads = ("keyinfo", "keyframe.private_key", "private:frames")
    writes = ("depth", "private:depth")
    owns = (DEPTH,)
    params_model = DepthSettings
    settings_field = "depth"
    description = "Depth Anything V2 depth map per keyframe; median depth per person and object"

    def setup(self, settings: Settings) -> None:
        self.settings = settings
        self._loaded: dict[tuple[Any, ...], tuple[Any, str | None]] = {}

    def teardown(self) -> None:
        self._loaded.clear()
        torch = sys.modules.get("torch")  # never imported here: importing torch only to free nothing costs 2 s a run
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _estimator(self, params: DepthSettings) -> tuple[Any, str | None]:
        """The loaded model (None when unavailable) and, when None, why."""
        from skyscript.models.depth import DepthEstimator

        key = (params.backend, params.checkpoint, params.device, params.max_side)
        if key not in self._loaded:
            if params.backend == "none":
                self._loaded[key] = (None, "depth disabled (backend none)")
            else:
                try:
                    self._loaded[key] = (DepthEstimator.load(self.settings, params), None)
                except MissingWeights as exc:
                    if params.backend == "transformers":
                        raise StepError(str(exc)) from exc
                    self._loaded[key] = (None, f"no depth weights ({exc}); the layout uses its geometry path")
        return self._loaded[key]

    def run(self, view: EpisodeView, params: DepthSettings) -> StepOutput:  # type: ignore[override]
        from skyscript.models.depth import box_median, encode_png16
        from skyscript.store import Area

        estimator, reason = self._estimator(params)
        out = StepOutput()
        if estimator is None:
            view.log.warning("depth unavailable: %s", reason)
            for kf in view.valid_keyframes:
                out.annotations.append(AnnotationRecord(kf.id, DEPTH.name, DepthPayload(source="none", reason=reason), "none"))
            out.counts = {"keyframes": len(view.valid_keyframes), "maps": 0, "unavailable": len(out.annotations)}
            out.model = ModelInfo(model_id="none")
            return out
        people = objects = 0
        for kf, img in view.media.readable(view.valid_keyframes, out.losses, view.log):
            depth = estimator.predict(img)
            data, lo, hi = encode_png16(depth)
            key = depth_key(view.drama_id, view.id, kf.frame_index)
            out.objects.append(ObjectRecord(Area.private, key, data=data, content_type="image/png"))
            info = view.payload(kf.id, "keyinfo")
            payload = DepthPayload(map_key=key, map_min=lo, map_max=hi, source="depth")
            if info is not None:
                for i, p in enumerate(info.people):
                    box = p.body_box or p.face_box
                    m = box_median(depth, box) if box is not None else None
                    if m is not None:
                        payload.people.append(DepthPerson(person=i, median=float(f"{m:.6g}")))
                for i, o in enumerate(info.objects):
                    m = box_median(depth, o.box) if o.box is not None else None
                    if m is not None:
                        payload.objects.append(DepthObject(object=i, median=float(f"{m:.6g}")))
            people += len(payload.people)
            objects += len(payload.objects)
            out.annotations.append(AnnotationRecord(kf.id, DEPTH.name, payload, estimator.model_id))
        out.counts = {"keyframes": len(view.valid_keyframes), "maps": len(out.objects), "people": people,
                      "objects": objects, "lost": len(out.losses)}
        out.model = ModelInfo(model_id=estimator.model_id, weights_digest=estimator.weights_digest)
        out.params = {"device": estimator.device}
        return out
