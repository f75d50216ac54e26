"""Key information per valid keyframe: objects and people with their attributes (paper 3.1-3.4).

With a VLM endpoint configured (``SKYSCRIPT_VLM__URL``) the full path runs: VLM extraction,
JSON repair and correction (``SKYSCRIPT_CORRECTION__URL``), open-vocabulary calibration of the
objects, face attributes with TTA on conflicts. Without one, the embedded default runs the offline
face models only (see :mod:`skyscript.keyinfo.fallback`). Either way the step runs on CPU; the
GPU profile is for the pods that serve or embed the models.

Returns a ``keyinfo`` annotation per keyframe, loss rows (``annotation``: vlm_failed /
truncated_answer / unparseable_json / schema_violation; ``keyframe``: frame_missing / frame_unreadable; ``object``:
hallucination) and the raw answers for ``answers/`` in the private area. Parameters:
:class:`skyscript.config.KeyInfoSettings` (``SKYSCRIPT_KEYINFO__*``, ``--param keyinfo.NAME=...``).
"""

from __future__ import annotations

from typing import Any

from skyscript.config import KeyInfoSettings, Settings
from skyscript.errors import FrameError, MissingWeights, StepError
from skyscript.ids import combined_digest
from skyscript.keyinfo.schema import KeyInfo
from skyscript.losses import LossRecord
from skyscript.steps.base import GPU_MODEL, AnnotationRecord, Kind, ModelInfo, ObjectRecord, Step, StepOutput
from skyscript.steps.view import EpisodeView

KEYINFO = Kind("keyinfo", KeyInfo, version="1", description="objects and people of the keyframe (paper Tables 4-5)")


class KeyInfoStep(Step[KeyInfoSettings]):
    name = "keyinfo"
    version = "1"
    resources = GPU_MODEL
    reads = ("keyframe.private_key", "keyframe.public_key", "faces", "private:frames", "public:frames")
    writes = ("keyinfo", "private:answers")
    owns = (KEYINFO,)
    params_model = KeyInfoSettings
    settings_field = "keyinfo"
    uses_settings = ("keyinfo", "vlm", "correction", "shot_size", "model_dir")
    description = "objects and people per keyframe: VLM + JSON repair + detector calibration + face attributes"

    def setup(self, settings: Settings) -> None:
        self.settings = settings
        self._loaded: dict[tuple[str, ...], Any] = {}

    def teardown(self) -> None:
        for face_backend, detector, vlm, corrector in self._loaded.values():
            for client in (vlm, corrector):
                if client is not None:
                    client.close()
        self._loaded.clear()

    def _models(self, params: KeyInfoSettings) -> tuple[Any, Any, Any, Any]:
        """Face backend, detector, VLM and corrector clients for these parameters, loaded once."""
        from skyscript.keyinfo.vlm_client import BackendUnavailable, LmdeployPipelineBackend, OpenAIChatClient
        from skyscript.models.detectors import load_detector
        from skyscript.models.faces import OfflineFaceBackend, load_face_backend
        from skyscript.models.weights import WeightSpec, resolve

        key = (params.face_backend, params.detector, str(params.detector_weights), params.vlm_backend, params.lmdeploy_model)
        if key in self._loaded:
            return self._loaded[key]  # type: ignore[no-any-return]
        settings = self.settings
        try:
            if params.face_backend == "none":
                face_backend = None
            elif params.face_backend == "offline":
                face_backend = OfflineFaceBackend()
            else:
                face_backend = load_face_backend(settings, params.face_backend)
            detector = load_detector(settings, params.detector, params.detector_weights)
            vlm: Any = None
            if params.vlm_backend == "lmdeploy":
                ckpt = resolve(settings, WeightSpec("VLM checkpoint (lmdeploy)", params.lmdeploy_model))
                vlm = LmdeployPipelineBackend(str(ckpt.path), model_id=params.lmdeploy_model)
            elif settings.vlm.url:
                vlm = OpenAIChatClient(settings.vlm)
        except (MissingWeights, BackendUnavailable) as exc:
            raise StepError(str(exc)) from exc
        corrector = (OpenAIChatClient(settings.correction, label="correction")
                     if vlm is not None and settings.correction.url else None)
        self._loaded[key] = (face_backend, detector, vlm, corrector)
        return self._loaded[key]  # type: ignore[no-any-return]

    def run(self, view: EpisodeView, params: KeyInfoSettings) -> StepOutput:  # type: ignore[override]
        from skyscript.ids import Keys
        from skyscript.keyinfo.extract import FaceStage, FrameInput, VlmExtractor
        from skyscript.keyinfo.fallback import OfflineExtractor
        from skyscript.keyinfo.prompts import prompt_set
        from skyscript.models.faces import confirmed_face_boxes
        from skyscript.store import Area
        from skyscript.video.shot_size import ShotSizeRules

        settings = self.settings
        out = StepOutput()
        frames: list[FrameInput] = []
        valid = view.valid_keyframes
        for kf in valid:
            try:
                data = view.media.frame_bytes(kf.private_key)
            except FrameError as exc:
                out.losses.append(LossRecord("keyframe", kf.id, exc.reason, exc.detail))
                continue
            try:
                public = view.media.frame_bytes(kf.public_key, Area.public) if kf.public_key else None
            except FrameError:
                public = None
            faces = view.payload(kf.id, "faces")
            boxes = confirmed_face_boxes(faces) if faces is not None else None
            frames.append(FrameInput(kf.id, kf.frame_index, kf.shot_index, data, public, boxes))
        if not valid:
            view.log.warning("no valid keyframes (have the scan and quality steps run?)")
        missing = len(out.losses)

        face_backend, detector, vlm, corrector = self._models(params)
        faces_stage = FaceStage(face_backend, params.tta)
        shot_rules = ShotSizeRules.from_settings(settings.shot_size)
        if vlm is not None:
            extractor: Any = VlmExtractor(Keys(view.drama_id), params, vlm, corrector, detector, faces_stage, shot_rules, view.log)
        else:
            extractor = OfflineExtractor(params, detector, faces_stage, shot_rules)
        result = extractor.run(view.id, frames)

        vlm_name = vlm.model_id if vlm is not None else None
        source = (f"vlm:{vlm_name}" if vlm is not None else "offline") + (
            f"+{face_backend.name}-faces" if face_backend is not None else "") + (
            f"+{detector.name}" if detector is not None else "")
        out.annotations = [AnnotationRecord(fr.keyframe_id, KEYINFO.name, fr.keyinfo, source)
                           for fr in result.frames if fr.keyinfo is not None]
        out.objects = [ObjectRecord(Area.private, k, data=body, content_type="application/json")
                       for k, body in result.answers.items()]
        out.losses += result.losses
        out.counts = {"keyframes": len(valid), "missing_frames": missing, **result.counts}
        for k in ("answers_parsed", "answers_repaired", "answers_corrected", "answers_lost"):
            if vlm is not None:
                out.counts.setdefault(k, 0)
        model_ids = [f"vlm={vlm_name}" if vlm is not None else "vlm=none",
                     f"faces={face_backend.name}" if face_backend is not None else "faces=none",
                     f"detector={detector.model_id}" if detector is not None else "detector=none"]
        digests = [d for d in (face_backend.weights_digest if face_backend is not None else None,
                               detector.weights_digest if detector is not None else None) if d]
        out.model = ModelInfo(
            model_id=";".join(model_ids),
            weights_digest=digests[0] if len(digests) == 1 else combined_digest(digests) if digests else None,
            prompt_digest=prompt_set().digest if vlm is not None else None,
        )
        out.params = {"vlm_url": settings.vlm.url, "correction_url": settings.correction.url}
        return out
