"""Payloads of the keyframe annotation kinds the CPU stage writes (``ocr``, ``faces``,
``privacy``, ``shot_size``). Key information (``keyinfo``) has its own module,
:mod:`skyscript.keyinfo.schema`.

Boxes are ``[x0, y0, x1, y1]`` in full-frame pixels. These models are what the runner validates
before it writes an annotation and what a step reads back, a human correction included.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from skyscript.schemas.vocab import ShotType

Box = tuple[float, float, float, float]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- ocr ---------------------------------------------------------------------------------------


class TextBoxPayload(_Payload):
    text: str
    score: float
    polygon: list[tuple[float, float]]
    xyxy: Box
    kind: Literal["subtitle", "name_card", "text"]
    mask: bool = True


class OcrPayload(_Payload):
    """The text read on one keyframe and how it is laid out."""

    width: int
    height: int
    text_area_ratio: float = Field(ge=0)
    has_subtitle: bool
    subtitle_text: str = ""
    boxes: list[TextBoxPayload] = Field(default_factory=list)

    def mask_regions(self) -> list[Box]:
        """The boxes marked for masking (what the privacy step mosaics)."""
        return [b.xyxy for b in self.boxes if b.mask]


# --- faces -------------------------------------------------------------------------------------


class FaceEntry(_Payload):
    """One face: overlapping detections merged, the best-placed box kept."""

    xyxy: Box
    detector: str = ""
    score: float = 0.0  # share of skin-tone pixels in the centre of the box
    weight: float = 0.0
    confirmed: bool = True  # counted (two detectors agree, or dlib is confident)
    support: int = 1  # how many detector passes found it


class FaceDetectionEntry(_Payload):
    xyxy: Box
    detector: str
    weight: float


class FacesPayload(_Payload):
    """Every face detection on one keyframe (all masked) and the faces they make up."""

    width: int
    height: int
    count: int = Field(ge=0)
    faces: list[FaceEntry] = Field(default_factory=list)
    detections: list[FaceDetectionEntry] = Field(default_factory=list)

    def confirmed(self) -> list[FaceEntry]:
        return [f for f in self.faces if f.confirmed]


# --- privacy -----------------------------------------------------------------------------------


class MaskRegionPayload(_Payload):
    xyxy: tuple[int, int, int, int]
    source: Literal["face", "text"]


class PrivacyPayload(_Payload):
    """How a keyframe's published copy was masked, and where it is."""

    block: int
    padding: float
    regions: list[MaskRegionPayload] = Field(default_factory=list)
    public_key: str
    public_digest: str


# --- shot size ---------------------------------------------------------------------------------


class ShotSizePayload(_Payload):
    shot_type: ShotType | None
    basis: Literal["face", "person", "none", "human"]  # human: an annotator set it
    ratio: float | None = None
    box: Box | None = None
