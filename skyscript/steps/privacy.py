"""Privacy: publish a masked copy of every keyframe. Faces (Haar cascades + dlib HOG) and the
text the ``ocr`` annotation marks for masking are mosaicked; the copy goes to the public area
under the keyframe's private key, and the keyframe's public key, digest and face count follow
the ``privacy`` and ``faces`` annotations.

A frame is published only after its text was read: a keyframe with no ``ocr`` annotation is a
loss (``ocr_missing``) rather than a frame with name captions left in clear. Faces an annotator
added to a corrected ``faces`` annotation are masked too.
"""

from __future__ import annotations



from skyscript import ids
from skyscript.config import PrivacySettings, Settings
from skyscript.losses import LossRecord
from skyscript.schemas.annotations import FacesPayload, MaskRegionPayload, OcrPayload, PrivacyPayload
from skyscript.steps.base import CPU_VIDEO, AnnotationRecord, Kind, ModelInfo, ObjectRecord, Step, StepOutput
from skyscript.steps.view import EpisodeView

FACES = Kind(
    "faces", FacesPayload, version="1", description="face detections (all masked) and the faces they make up",
    columns=lambda p: {"face_count": len(p.confirmed())}, column_names=("face_count",),
)
PRIVACY = Kind(
    "privacy", PrivacyPayload, version="1", description="how the published copy was masked, and where it is",
    columns=lambda p: {"public_key": p.public_key, "public_digest": p.public_digest},
    column_names=("public_key", "public_digest"),
)


class PrivacyStep(Step[PrivacySettings]):
    name = "privacy"
    version = "2"
    resources = CPU_VIDEO
    reads = ("keyframe.private_key", "private:frames", "ocr")
    writes = ("faces", "privacy", "public:frames", "keyframe.face_count", "keyframe.public_key", "keyframe.public_digest")
    owns = (FACES, PRIVACY)
    params_model = PrivacySettings
    settings_field = "privacy"
    description = "detect faces; mosaic faces and caption/name text on the published keyframe copy"

    def setup(self, settings: Settings) -> None:
        from skyscript.models.face_detect import FaceDetector

        self.detector = FaceDetector.from_settings(settings.faces)
        self.weights_digest = self.detector.weights_digest()

    def run(self, view: EpisodeView, params: PrivacySettings) -> StepOutput:  # type: ignore[override]
        from skyscript.imaging import encode_jpeg
        from skyscript.models.face_detect import faces_from_payload
        from skyscript.store import Area
        from skyscript.video.privacy import mosaic

        log = view.log
        if not view.keyframes:
            log.warning("no keyframes to mask (has the scan step run?)")
        out = StepOutput()
        face_count = face_regions = text_regions = 0
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
            masked, regions = mosaic(img, face_boxes, ocr.mask_regions(), block=params.mosaic_block, padding=params.mask_padding)
            assert kf.private_key is not None  # readable() only yields stored frames
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
        }
        out.model = ModelInfo(model_id=self.detector.model_id, weights_digest=self.weights_digest)
        out.params = dict(self.detector.params())
        return out



