"""Privacy: publish a masked copy of every keyframe. Faces (Haar cascades) and the text the
``ocr`` annotation marks for masking are mosaicked; the copy goes to the public area under the
keyframe's private key, and the keyframe records its public key and digest and its face count.

A frame is published only after its text was read: a keyframe with no ``ocr`` annotation is a
loss (``ocr_missing``) rather than a frame with name captions left in clear. Faces an annotator
added to a corrected ``faces`` annotation are masked too.
"""

from __future__ import annotations

from typing import Any

from skyscript.db import lineage
from skyscript.db.lineage import LossRecord
from skyscript.steps.base import ModelInfo, Step, StepContext, StepOutput
from skyscript.steps.media import readable_keyframes


class PrivacyStep(Step):
    name = "privacy"
    version = "2"
    reads = ("keyframe.private_key", "private:frames/", "annotation:ocr")
    writes = (
        "public:frames/",
        "annotation:faces",
        "annotation:privacy",
        "keyframe.face_count",
        "keyframe.public_key",
        "keyframe.public_digest",
        "loss:keyframe",
    )
    description = "detect faces; mosaic faces and caption/name text on the published keyframe copy"

    def run(self, ctx: StepContext, step_run_id: int, episode_id: str | None) -> StepOutput:
        from skyscript.store import Area
        from skyscript.video.faces import FaceDetector, faces_from_payload
        from skyscript.video.frames import encode_jpeg
        from skyscript.video.ocr import mask_regions_of_payload
        from skyscript.video.privacy import mosaic

        assert episode_id is not None
        log = ctx.logger(self.name, episode_id)
        video = ctx.settings.video
        detector = FaceDetector.from_settings(video)

        with ctx.db.session() as s:
            frames = [(kf.id, kf.private_key) for kf in lineage.keyframes_of(s, episode_id)]
            ocr: dict[str, dict[str, Any]] = {}
            human_faces: dict[str, dict[str, Any]] = {}
            for kf_id, _ in frames:
                ann = lineage.annotation_of(s, kf_id, "ocr")
                if ann is not None:
                    ocr[kf_id] = ann.payload
                fa = lineage.annotation_of(s, kf_id, "faces")
                if fa is not None and fa.author is not None:
                    human_faces[kf_id] = fa.payload
        if not frames:
            log.warning("no keyframes to mask (has the scan step run?)")

        written: list[dict[str, Any]] = []
        losses: list[LossRecord] = []
        for kf_id, key, img in readable_keyframes(ctx, frames, losses, log):
            if kf_id not in ocr:
                log.warning("keyframe %s not published: its text has not been read", kf_id)
                losses.append(LossRecord("keyframe", kf_id, "ocr_missing", "no ocr annotation: run the text step first"))
                continue
            found = detector.detect(img)
            face_boxes = found.mask_regions()
            face_count = found.count
            if kf_id in human_faces:
                corrected = faces_from_payload(human_faces[kf_id])
                face_boxes += [f.xyxy for f in corrected]
                face_count = sum(1 for f in corrected if f.confirmed)
            masked, regions = mosaic(
                img, face_boxes, mask_regions_of_payload(ocr[kf_id]), block=video.mosaic_block, padding=video.mask_padding
            )
            obj = ctx.store.put_bytes(Area.public, key, encode_jpeg(masked, video.jpeg_quality), "image/jpeg")
            written.append(
                {
                    "id": kf_id,
                    "faces": found.to_payload(),
                    "face_count": face_count,
                    "privacy": {
                        "block": video.mosaic_block,
                        "padding": video.mask_padding,
                        "regions": [r.to_dict() for r in regions],
                        "public_key": key,
                        "public_digest": obj.digest,
                    },
                    "public_key": key,
                    "public_digest": obj.digest,
                }
            )

        with ctx.db.session() as s:
            for w in written:
                lineage.put_annotation(s, w["id"], "faces", w["faces"], detector.source, step_run_id)
                lineage.put_annotation(s, w["id"], "privacy", w["privacy"], "mosaic", step_run_id)
                lineage.update_keyframe(
                    s, w["id"], face_count=w["face_count"], public_key=w["public_key"], public_digest=w["public_digest"]
                )
            lineage.replace_losses(s, ctx.drama_id, self.name, episode_id, losses, step_run_id)

        counts = {
            "keyframes": len(frames),
            "published": len(written),
            "lost": len(losses),
            "faces": sum(w["face_count"] for w in written),
            "face_regions": sum(1 for w in written for r in w["privacy"]["regions"] if r["source"] == "face"),
            "text_regions": sum(1 for w in written for r in w["privacy"]["regions"] if r["source"] == "text"),
        }
        return StepOutput(
            counts=counts,
            model=ModelInfo(model_id=detector.model_id, weights_digest=detector.weights_digest()),
            params={**detector.params(), "mosaic_block": video.mosaic_block, "mask_padding": video.mask_padding},
        )
