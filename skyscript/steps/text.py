"""Text: OCR every keyframe of an episode (valid or not), store the lines as an ``ocr``
annotation; ``text_area_ratio`` and ``has_subtitle`` on the keyframe follow the current version.
A keyframe whose image is missing or cannot be decoded becomes a loss row; the rest of the
episode goes on."""

from __future__ import annotations

from typing import Any

from skyscript.config import Settings, TextSettings
from skyscript.schemas.annotations import OcrPayload
from skyscript.steps.base import CPU_VIDEO, AnnotationRecord, Kind, ModelInfo, Step, StepOutput
from skyscript.steps.view import EpisodeView

OCR = Kind(
    "ocr", OcrPayload, version="1", description="text lines read on the keyframe, their layout and what to mask",
    columns=lambda p: {"text_area_ratio": float(p.text_area_ratio), "has_subtitle": bool(p.has_subtitle)},
    column_names=("text_area_ratio", "has_subtitle"),
)


class TextStep(Step[TextSettings]):
    name = "text"
    version = "2"  # 2: detection on a reduced copy (text.ocr_max_side), recognition on full-resolution crops
    resources = CPU_VIDEO
    reads = ("keyframe.private_key", "private:frames")
    writes = ("ocr", "keyframe.text_area_ratio", "keyframe.has_subtitle")
    owns = (OCR,)
    params_model = TextSettings
    settings_field = "text"
    uses_settings = ("text", "model_dir")
    description = "OCR keyframes (RapidOCR): text boxes, text area ratio, subtitles, captions to mask"

    def setup(self, settings: Settings) -> None:
        from skyscript.video.ocr import OcrEngine, resolve_ocr_models

        self.models = resolve_ocr_models(settings.model_dir)
        self.weights_digest = self.models.digest()
        self.engines: dict[tuple[int, float, int], OcrEngine] = {}  # built on first use, per parameters

    def engine(self, params: TextSettings) -> Any:
        """The OCR engine for these parameters, built once per process."""
        from skyscript.video.ocr import OcrEngine

        key = (params.ocr_max_side, params.ocr_min_score, params.ocr_threads)
        if key not in self.engines:
            self.engines[key] = OcrEngine(self.models, max_side=key[0], min_score=key[1], threads=key[2])
        return self.engines[key]

    def run(self, view: EpisodeView, params: TextSettings) -> StepOutput:  # type: ignore[override]
        from skyscript.video.ocr import OcrResult, TextLayout, ocr_frame

        engine = self.engine(params)
        layout = TextLayout.from_settings(params)
        if not view.keyframes:
            view.log.warning("no keyframes to read text from (has the scan step run?)")
        out = StepOutput()
        results: dict[str, OcrResult] = {}
        for kf, img in view.media.readable(view.keyframes, out.losses, view.log):
            results[kf.id] = res = ocr_frame(engine, img, layout)
            out.annotations.append(AnnotationRecord(kf.id, OCR.name, res.to_payload(), engine.source))
        out.counts = {
            "keyframes": len(view.keyframes),
            "read": len(results),
            "lost": len(out.losses),
            "text_boxes": sum(len(r.boxes) for r in results.values()),
            "with_subtitle": sum(1 for r in results.values() if r.has_subtitle),
            "with_text": sum(1 for r in results.values() if r.boxes),
            "boxes_to_mask": sum(len(r.mask_regions()) for r in results.values()),
        }
        out.model = ModelInfo(model_id=engine.model_id, weights_digest=self.weights_digest)
        return out

