"""Privacy: publish a masked copy of every keyframe. Faces (BlazeFace proposals searched by the
Haar cascades and dlib HOG, :mod:`skyscript.models.face_detect`) and the
text the ``ocr`` annotation marks for masking are mosaicked; the copy goes to the public area
under the keyframe's private key, and the keyframe's public key, digest and face count follow
the ``privacy`` and ``faces`` annotations.

A frame is published only after its text was read: a keyframe with no ``ocr`` annotation is a
loss (``ocr_missing``) rather than a frame with name captions left in clear. Faces an annotator
added to a corrected ``faces`` annotation are masked too.
"""

from __future__ import annotations

from typing import Any

from skyscript import ids
from skyscript.ids import combined_digest
from skyscript.config import PrivacySettings, Settings
from skyscript.losses import LossRecord
from skyscript.schemas.annotations import FacesPayload, MaskRegionPayload, OcrPayload, PrivacyPayload
from skyscript.steps.base import CPU_VIDEO, AnnotationRecord, Kind, ModelInfo, ObjectRecord, Step, StepOutput
from skyscript.steps.view import EpisodeView

FACES = Kind(
    "faces", FacesPayload, version="2", description="face detections (all masked) and the faces they make up",
    columns=lambda p: {"face_count": len(p.confirmed())}, column_names=("face_count",),
)
PRIVACY = Kind(
    "privacy", PrivacyPayload, version="1", description="how the published copy was masked, and where it is",
    columns=lambda p: {"public_key": p.public_key, "public_digest": p.public_digest},
    column_names=("public_key", "public_digest"),
)


def unmasked_faces(
    found: list[tuple[Any, float]], regions: list[Any], min_score: float, shape: tuple[int, ...]
) -> list[tuple[Any, float]]:
    """Faces the verifier finds on the masked copy outside the masked face regions. A box at least
    half inside a masked region is that region's blurred blob (a head-shaped patch of skin tone:
    BlazeFace fired on 2 of 10 masked Megamind keyframes that way), not a face left in clear."""
    import numpy as np

    covered = np.zeros(shape[:2], bool)
    for r in regions:
        if r.source == "face":
            x0, y0, x1, y1 = r.xyxy
            covered[y0:y1, x0:x1] = True
    out = []
    for box, score in found:
        if score < min_score:
            continue
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        area = max(1, (x1 - x0) * (y1 - y0))
        if covered[y0:y1, x0:x1].sum() / area < 0.5:
            out.append((box, score))
    return out


class PrivacyStep(Step[PrivacySettings]):
    name = "privacy"
    version = "5"  # 3: face-sized cells + blur, BlazeFace boxes masked, published copies verified; 4: proposal search; 5: proposals on a whole-factor reduction
    resources = CPU_VIDEO
    reads = ("keyframe.private_key", "private:frames", "ocr")
    writes = ("faces", "privacy", "public:frames", "keyframe.face_count", "keyframe.public_key", "keyframe.public_digest")
    owns = (FACES, PRIVACY)
    params_model = PrivacySettings
    settings_field = "privacy"
    uses_settings = ("privacy", "faces")
    description = "detect faces; mosaic faces and caption/name text on the published keyframe copy"

    def setup(self, settings: Settings) -> None:
        from skyscript.models.face_detect import FaceDetector

        from skyscript.models.blazeface import BlazeFace

        self.detector = FaceDetector.from_settings(settings.faces)
        # the check of the published copy: a detector the masking did not use
        self.verifier = BlazeFace("short", min_score=settings.privacy.verify_min_score)
        self.weights_digest = combined_digest([self.detector.weights_digest(), self.verifier.weights.sha256])

    def run(self, view: EpisodeView, params: PrivacySettings) -> StepOutput:  # type: ignore[override]
        from skyscript.imaging import encode_jpeg
        from skyscript.models.face_detect import faces_from_payload
        from skyscript.store import Area
        from skyscript.video.privacy import mosaic

        log = view.log
        if not view.keyframes:
            log.warning("no keyframes to mask (has the scan step run?)")
        out = StepOutput()
        face_count = face_regions = text_regions = checked = 0
        for kf, img in view.media.readable(view.keyframes, out.losses, log):
            ocr: OcrPayload | None = view.payload(kf.id, "ocr")
            if ocr is None:
                log.warning("keyframe %s not published: its text has not been read", kf.id)
                out.losses.append(LossRecord("keyframe", kf.id, "ocr_missing", "no ocr annotation: run the text step first"))
                continue
            found = self.detector.detect(img)
            face_boxes = found.mask_regions()
            count = found.count
            corrected = view.current(kf.id, FACES.name)
            if corrected is not None and corrected.human:
                human = faces_from_payload(corrected.payload)
                face_boxes += [f.xyxy for f in human]
                count = sum(1 for f in human if f.confirmed)
            masked, regions = mosaic(img, face_boxes, ocr.mask_regions(), block=params.mosaic_block,
                                     padding=params.mask_padding, face_cells=params.face_cells,
                                     grow_top=params.grow_top, grow_bottom=params.grow_bottom)
            assert kf.private_key is not None  # readable() only yields stored frames
            if params.verify:
                checked += 1
                left = unmasked_faces(self.verifier.detect(masked), regions, params.verify_min_score, masked.shape[:2])
                if left:
                    box, score = left[0]
                    log.warning("keyframe %s withheld: a face is still found on the masked copy (score %.2f)", kf.id, score)
                    out.losses.append(LossRecord(
                        "keyframe", kf.id, "privacy_unverified",
                        f"{self.verifier.name} finds a face at {[round(v) for v in box]} (score {score:.2f}) after masking",
                    ))
                    continue
            jpeg = encode_jpeg(masked, params.jpeg_quality)
            out.objects.append(ObjectRecord(Area.public, kf.private_key, data=jpeg, content_type="image/jpeg"))
            out.annotations.append(AnnotationRecord(kf.id, FACES.name, found.to_payload(), self.detector.source))
            out.annotations.append(AnnotationRecord(kf.id, PRIVACY.name, PrivacyPayload(
                block=params.mosaic_block, padding=params.mask_padding,
                regions=[MaskRegionPayload(xyxy=r.xyxy, source=r.source) for r in regions],
                public_key=kf.private_key, public_digest=ids.content_digest(jpeg),
            ), "mosaic"))
            face_count += count
            face_regions += sum(1 for r in regions if r.source == "face")
            text_regions += sum(1 for r in regions if r.source == "text")
        published = sum(1 for a in out.annotations if a.kind == PRIVACY.name)
        out.counts = {
            "keyframes": len(view.keyframes),
            "published": published,
            "lost": len(out.losses),
            "faces": face_count,
            "face_regions": face_regions,
            "text_regions": text_regions,
            "verified": checked - sum(1 for lo in out.losses if lo.reason == "privacy_unverified"),
            "withheld": sum(1 for lo in out.losses if lo.reason == "privacy_unverified"),
        }
        out.model = ModelInfo(model_id=f"{self.detector.model_id}; verified by {self.verifier.model_id}",
                              weights_digest=self.weights_digest)
        out.params = dict(self.detector.params())
        return out



