"""Text: OCR every keyframe of an episode (valid or not), store the lines as an ``ocr``
annotation and set ``text_area_ratio`` and ``has_subtitle`` on the keyframe. A keyframe whose
image is missing or cannot be decoded becomes a loss row; the rest of the episode goes on."""

from __future__ import annotations

from skyscript.db import lineage
from skyscript.db.lineage import LossRecord
from skyscript.steps.base import ModelInfo, Step, StepContext, StepOutput
from skyscript.steps.media import readable_keyframes


class TextStep(Step):
    name = "text"
    version = "1"
    reads = ("keyframe.private_key", "private:frames/")
    writes = ("annotation:ocr", "keyframe.text_area_ratio", "keyframe.has_subtitle", "loss:keyframe")
    description = "OCR keyframes (RapidOCR): text boxes, text area ratio, subtitles, captions to mask"

    def run(self, ctx: StepContext, step_run_id: int, episode_id: str | None) -> StepOutput:
        from skyscript.video.ocr import OcrEngine, OcrResult, TextLayout, ocr_frame, resolve_ocr_models

        assert episode_id is not None
        log = ctx.logger(self.name, episode_id)
        video = ctx.settings.video
        models = resolve_ocr_models(ctx.settings.model_dir)
        engine = OcrEngine(models, max_side=video.ocr_max_side, min_score=video.ocr_min_score)
        layout = TextLayout.from_settings(video)

        with ctx.db.session() as s:
            frames = [(kf.id, kf.private_key) for kf in lineage.keyframes_of(s, episode_id)]
        if not frames:
            log.warning("no keyframes to read text from (has the scan step run?)")

        results: dict[str, OcrResult] = {}
        losses: list[LossRecord] = []
        for kf_id, _key, img in readable_keyframes(ctx, frames, losses, log):
            results[kf_id] = ocr_frame(engine, img, layout)

        with ctx.db.session() as s:
            for kf_id, res in results.items():
                lineage.put_annotation(s, kf_id, "ocr", res.to_payload(), engine.source, step_run_id)
                # an annotator's corrected version stays current: the columns follow it
                current = lineage.annotation_of(s, kf_id, "ocr")
                payload = current.payload if current is not None else res.to_payload()
                lineage.update_keyframe(
                    s,
                    kf_id,
                    text_area_ratio=float(payload.get("text_area_ratio", res.text_area_ratio)),
                    has_subtitle=bool(payload.get("has_subtitle", res.has_subtitle)),
                )
            for loss in losses:
                lineage.update_keyframe(s, loss.item_id, text_area_ratio=None, has_subtitle=None)
            lineage.replace_losses(s, ctx.drama_id, self.name, episode_id, losses, step_run_id)

        counts = {
            "keyframes": len(frames),
            "read": len(results),
            "lost": len(losses),
            "text_boxes": sum(len(r.boxes) for r in results.values()),
            "with_subtitle": sum(1 for r in results.values() if r.has_subtitle),
            "with_text": sum(1 for r in results.values() if r.boxes),
            "boxes_to_mask": sum(len(r.mask_regions()) for r in results.values()),
        }
        return StepOutput(
            counts=counts,
            model=ModelInfo(model_id=engine.model_id, weights_digest=models.digest()),
            params={
                **engine.params(),
                "subtitle_band": layout.subtitle_band,
                "subtitle_centre_tolerance": layout.centre_tolerance,
                "subtitle_min_width": layout.min_subtitle_width,
                "name_card_max_chars": layout.name_card_max_chars,
                "mask_subtitles": layout.mask_subtitles,
            },
        )
