"""Payloads of the scene-understanding kinds (``depth``, ``pose``, ``layout``, ``emotion``,
``characters``, ``highlight``), one per keyframe.

People are keyed by ``person``, the index into the keyframe's current ``keyinfo`` payload's
``people``; objects by ``object``, the index into its ``objects``. Every value a model or rule
produced carries a ``source`` (``vlm``, ``face_model``, ``geometry``, ``depth``, ``rule``,
``derived``, ``human``...). Coordinates are centimetres; camera frame: x right, y up, z forward;
world (the script's layout, Table 1): the camera stands on the floor at the origin, y is height
above the floor, z forward.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Box = tuple[float, float, float, float]
Vec3 = tuple[float, float, float]
POSTURES = ("standing", "sitting", "lying", "walking", "running", "unknown")
Posture = Literal["standing", "sitting", "lying", "walking", "running", "unknown"]
COCO17 = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)  # AlphaPose's COCO order


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- depth -------------------------------------------------------------------------------------


class DepthPerson(_Payload):
    person: int = Field(ge=0)
    median: float


class DepthObject(_Payload):
    object: int = Field(ge=0)
    median: float


class DepthPayload(_Payload):
    """Median relative depth inside every person's and object's box. Depth Anything predicts
    relative inverse depth (larger = nearer); ``scale`` says so. ``map_key`` is the 16-bit PNG in
    the private area (None when depth is unavailable, ``reason`` then says why)."""

    map_key: str | None = None
    scale: str = "relative inverse depth (larger is nearer), 16-bit PNG spans the frame's min..max"
    map_min: float | None = None
    map_max: float | None = None
    people: list[DepthPerson] = Field(default_factory=list)
    objects: list[DepthObject] = Field(default_factory=list)
    source: str
    reason: str | None = None


# --- pose --------------------------------------------------------------------------------------


class PosePerson(_Payload):
    """One person in AlphaPose's JSON layout: 17 ``[x, y, score]`` triples, box, score."""

    person: int = Field(ge=0)
    keypoints: list[tuple[float, float, float]]
    box: Box
    score: float = Field(ge=0, le=1)
    posture: Posture = "unknown"
    posture_source: str = "rule"

    @field_validator("keypoints")
    @classmethod
    def _seventeen(cls, v: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
        if len(v) != len(COCO17):
            raise ValueError(f"expected {len(COCO17)} COCO keypoints, got {len(v)}")
        return v


class PosePayload(_Payload):
    people: list[PosePerson] = Field(default_factory=list)
    backend: str
    reason: str | None = None  # why there are no poses (no backend configured)


# --- layout ------------------------------------------------------------------------------------


class LayoutPerson(_Payload):
    person: int = Field(ge=0)
    camera_xyz_cm: Vec3
    world_xyz_cm: Vec3
    path: Literal["geometry", "depth"]
    scale_cue: Literal["keypoints", "face", "body_box", "object_prior"]
    image_xy: tuple[float, float]  # the pixel the position belongs to (top of the head)


class LayoutObject(_Payload):
    object: int = Field(ge=0)
    camera_xyz_cm: Vec3
    world_xyz_cm: Vec3
    path: Literal["geometry", "depth"]
    scale_cue: Literal["keypoints", "face", "body_box", "object_prior"] = "object_prior"
    image_xy: tuple[float, float]


class LayoutFlag(_Payload):
    check: Literal["speed", "occlusion_order"]
    people: list[int]
    detail: str


class LayoutPayload(_Payload):
    focal_px: float
    hfov_deg: float
    camera_height_cm: float
    camera_height_source: Literal["feet", "prior"]
    people: list[LayoutPerson] = Field(default_factory=list)
    objects: list[LayoutObject] = Field(default_factory=list)
    flags: list[LayoutFlag] = Field(default_factory=list)
    source: str = "geometry"


# --- emotion -----------------------------------------------------------------------------------


class EmotionPerson(_Payload):
    person: int = Field(ge=0)
    valence: int = Field(ge=1, le=9)
    arousal: int = Field(ge=1, le=9)
    dominance: int = Field(ge=1, le=9)
    raw: tuple[float, float, float]  # before smoothing, on the 1-9 scale
    source: Literal["vlm", "derived"]
    basis: str | None = None  # the basic emotion a derived value comes from
    character_track: str | None = None  # what the smoothing followed (the face track within the episode)


class EmotionPayload(_Payload):
    people: list[EmotionPerson] = Field(default_factory=list)


# --- characters --------------------------------------------------------------------------------


class CharacterPerson(_Payload):
    person: int = Field(ge=0)
    character_id: str
    name: str
    name_source: Literal["caption", "numbered", "human"]
    confidence: float = Field(ge=0, le=1)
    evidence: Literal["face", "track", "human"] = "face"


class Unassigned(_Payload):
    person: int = Field(ge=0)
    reason: str


class CharactersPayload(_Payload):
    people: list[CharacterPerson] = Field(default_factory=list)
    unassigned: list[Unassigned] = Field(default_factory=list)


# --- highlight ---------------------------------------------------------------------------------


class HighlightPayload(_Payload):
    score: float = Field(ge=0)  # smoothed, 0..scale
    raw: float = Field(ge=0)
    components: dict[str, float]
    smoothed: bool = True
    formula: str
