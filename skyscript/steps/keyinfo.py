"""Key information per valid keyframe: objects and people with their attributes (paper 3.1-3.4).

With a VLM endpoint configured (``SKYSCRIPT_VLM__URL``) the full path runs: VLM extraction,
JSON repair and correction (``SKYSCRIPT_CORRECTION__URL``), open-vocabulary calibration of the
objects, face attributes with TTA on conflicts. Without one, the embedded default runs the offline
face models only (see :mod:`skyscript.keyinfo.fallback`). Either way the step runs on CPU; the
GPU profile in the registry is for the pods that serve or embed the models.

Writes Annotation kind ``keyinfo`` per keyframe (machine version replaced on re-run, human
corrections kept), loss rows (``annotation``: vlm_failed / unparseable_json / schema_violation /
missing_frame; ``object``: hallucination), the raw answers under ``answers/`` in the private area.
Parameters: ``ctx.params["keyinfo"]`` (:class:`skyscript.keyinfo.extract.KeyInfoParams`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import delete

from skyscript.db import lineage
from skyscript.db.lineage import LossRecord
from skyscript.steps.base import ModelInfo, Step, StepContext, StepError, StepOutput


def _digest(parts: list[str | None]) -> str | None:
    real = [p for p in parts if p]
    if not real:
        return None
    if len(real) == 1:
        return real[0]
    return "sha256:" + hashlib.sha256("|".join(real).encode()).hexdigest()[:32]


class KeyInfoStep(Step):
    name = "keyinfo"
    version = "1"
    reads = ("keyframe.private_key", "keyframe.public_key", "annotation:faces", "private:frames/", "public:frames/")
    writes = ("annotation:keyinfo", "private:answers/", "loss:annotation", "loss:object", "loss:keyframe")
    description = "objects and people per keyframe: VLM + JSON repair + detector calibration + face attributes"

    def run(self, ctx: StepContext, step_run_id: int, episode_id: str | None) -> StepOutput:
        from skyscript.db.models import Annotation
        from skyscript.ids import Keys
        from skyscript.keyinfo.extract import FaceStage, FrameInput, KeyInfoParams, VlmExtractor, faces_of_payload
        from skyscript.keyinfo.fallback import OfflineExtractor
        from skyscript.keyinfo.prompts import prompt_set
        from skyscript.keyinfo.vlm_client import BackendUnavailable, LmdeployPipelineBackend, OpenAIChatClient
        from skyscript.models.detectors import load_detector
        from skyscript.models.faces import OfflineFaceBackend, load_face_backend
        from skyscript.models.weights import MissingWeights, WeightSpec, resolve
        from skyscript.store import Area, ObjectNotFound
        from skyscript.video.shot_size import ShotSizeRules

        assert episode_id is not None
        log = ctx.logger(self.name, episode_id)
        params = KeyInfoParams.from_params(ctx.params)
        settings = ctx.settings
        keys = Keys(ctx.drama_id)
        losses: list[LossRecord] = []

        frames: list[FrameInput] = []
        with ctx.db.session() as s:
            rows = [(kf.id, kf.frame_index, kf.shot_index, kf.private_key, kf.public_key)
                    for kf in lineage.keyframes_of(s, episode_id, valid_only=True)]
            face_payloads = {}
            for kf_id, *_ in rows:
                ann = lineage.annotation_of(s, kf_id, "faces")
                face_payloads[kf_id] = ann.payload if ann is not None else None
        for kf_id, frame_index, shot_index, private_key, public_key in rows:
            try:
                if not private_key:
                    raise ObjectNotFound("the keyframe has no private frame key")
                data = ctx.store.get_bytes(Area.private, private_key)
            except ObjectNotFound as exc:
                losses.append(LossRecord("keyframe", kf_id, "missing_frame", str(exc)))
                continue
            public = None
            if public_key:
                try:
                    public = ctx.store.get_bytes(Area.public, public_key)
                except ObjectNotFound:
                    public = None
            payload = face_payloads[kf_id]
            w = int(payload.get("width") or 100000) if payload else 100000
            h = int(payload.get("height") or 100000) if payload else 100000
            frames.append(FrameInput(kf_id, frame_index, shot_index, data, public, faces_of_payload(payload, w, h)))
        if not rows:
            log.warning("no valid keyframes (have the scan and quality steps run?)")

        try:
            if params.face_backend == "none":
                face_backend = None
            elif params.face_backend == "offline":
                face_backend = OfflineFaceBackend()
            else:
                face_backend = load_face_backend(settings, params.face_backend)
            detector = load_detector(settings, params.detector, params.detector_weights)
        except MissingWeights as exc:
            raise StepError(str(exc)) from exc
        faces = FaceStage(face_backend, params.tta)
        shot_rules = ShotSizeRules.from_settings(settings.video)

        vlm: Any = None
        corrector = None
        try:
            if params.vlm_backend == "lmdeploy":
                try:
                    ckpt = resolve(settings, WeightSpec("VLM checkpoint (lmdeploy)", params.lmdeploy_model))
                    vlm = LmdeployPipelineBackend(str(ckpt.path), model_id=params.lmdeploy_model)
                except (MissingWeights, BackendUnavailable) as exc:
                    raise StepError(str(exc)) from exc
            elif settings.vlm.url:
                vlm = OpenAIChatClient(settings.vlm)
            if vlm is not None:
                corrector = OpenAIChatClient(settings.correction) if settings.correction.url else None
                extractor: Any = VlmExtractor(ctx.store, keys, params, vlm, corrector, detector, faces, shot_rules, log)
            else:
                extractor = OfflineExtractor(params, detector, faces, shot_rules)
            result = extractor.run(episode_id, frames)
        finally:
            for client in (vlm, corrector):
                if client is not None:
                    client.close()

        vlm_name = (settings.vlm.model if params.vlm_backend == "endpoint" else params.lmdeploy_model) if vlm else None
        source = (f"vlm:{vlm_name}" if vlm is not None else "offline") + (
            f"+{face_backend.name}-faces" if face_backend is not None else "") + (
            f"+{detector.name}" if detector is not None else "")
        lost_ids = {l.item_id for l in result.losses if l.item_kind == "annotation"}
        with ctx.db.session() as s:
            for fr in result.frames:
                if fr.keyinfo is not None:
                    lineage.put_annotation(s, fr.keyframe_id, "keyinfo", fr.keyinfo.model_dump(mode="json"),
                                           source, step_run_id)
            if lost_ids:  # an earlier machine answer for a frame lost now is stale
                s.execute(delete(Annotation).where(Annotation.keyframe_id.in_(lost_ids), Annotation.kind == "keyinfo",
                                                   Annotation.author.is_(None)))
            lineage.replace_losses(s, ctx.drama_id, self.name, episode_id, losses + result.losses, step_run_id)

        counts = {"keyframes": len(rows), "missing_frames": len(losses), **result.counts}
        for k in ("answers_parsed", "answers_repaired", "answers_corrected", "answers_lost"):
            if vlm is not None:
                counts.setdefault(k, 0)
        model_ids = [f"vlm={vlm_name}" if vlm is not None else "vlm=none",
                     f"faces={face_backend.name}" if face_backend is not None else "faces=none",
                     f"detector={detector.model_id}" if detector is not None else "detector=none"]
        weights = _digest([face_backend.weights_digest if face_backend is not None else None,
                           detector.weights_digest if detector is not None else None])
        return StepOutput(
            counts=counts,
            model=ModelInfo(model_id=";".join(model_ids), weights_digest=weights,
                            prompt_digest=prompt_set().digest if vlm is not None else None),
            params={"keyinfo": params.model_dump(mode="json"), "vlm_url": settings.vlm.url,
                    "correction_url": settings.correction.url},
        )
