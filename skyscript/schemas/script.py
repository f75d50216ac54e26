"""The refined shooting script of the paper's Table 1, as versioned pydantic models.

One :class:`ShootingScript` per scene. Every leaf the pipeline fills is a :class:`Valued`: the value
and where it came from (``source``: ``vlm``, ``model``, ``geometry``, ``rule``, ``estimate``,
``human``; ``by`` names the step, model or rule), or ``{"value": null, "missing": "<reason>"}`` when
an upstream step did not run or could not tell. Nothing is invented to fill a gap.

The JSON Schema users validate against is :func:`json_schema` (published with every export as
``shooting_script.schema.json``). ``SCRIPT_SCHEMA_VERSION`` changes when a field changes meaning.

:class:`SceneInfo` is what the ``scenes`` step writes into ``shot.extra["scene"]`` for every shot of a
scene; :class:`RestorationState` is the per-shooting-script restoration bookkeeping.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCRIPT_SCHEMA_VERSION = "1"
SCRIPT_SCHEMA_ID = f"https://skyscript.invalid/schemas/shooting_script/{SCRIPT_SCHEMA_VERSION}"

FieldSource = Literal["vlm", "model", "geometry", "rule", "estimate", "human"]
FIELD_SOURCES: tuple[str, ...] = ("vlm", "model", "geometry", "rule", "estimate", "human")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Valued(_Strict):
    """One script field: a value with its source, or null with the reason it is missing."""

    value: Any = None
    source: FieldSource | None = None
    by: str | None = Field(None, description="the step, model or rule that produced the value")
    missing: str | None = Field(None, description="why there is no value (an upstream step did not run, ...)")

    @model_validator(mode="after")
    def _one_of(self) -> "Valued":
        if self.missing is not None:
            if self.value is not None or self.source is not None:
                raise ValueError("a missing field has value null and no source")
        elif self.value is None or self.source is None:
            raise ValueError("a field has a value and a source, or is missing with a reason")
        return self

    @classmethod
    def of(cls, value: Any, source: str, by: str | None = None) -> "Valued":
        return cls(value=value, source=source, by=by)  # type: ignore[arg-type]

    @classmethod
    def gap(cls, reason: str) -> "Valued":
        return cls(missing=reason)

    @property
    def ok(self) -> bool:
        return self.missing is None


def valued(value: Any, source: str, by: str | None, missing: str) -> Valued:
    """``value`` with its source when it is not None (or empty), else missing with ``missing``."""
    if value is None or value == "" or value == []:
        return Valued.gap(missing)
    return Valued.of(value, source, by)


def script_id(episode_id: str, scene_index: int) -> str:
    """A shooting script's id: its episode and scene number (stable across re-runs)."""
    return f"{episode_id}--sc{scene_index:04d}"


def parse_script_id(sid: str) -> tuple[str, int]:
    """``(episode_id, scene_index)`` of a shooting script id; ValueError when it is not one."""
    ep, sep, tail = sid.rpartition("--sc")
    if not sep or not ep or not tail.isdigit():
        raise ValueError(f"{sid!r} is not a shooting script id (<episode>--scNNNN)")
    return ep, int(tail)


# --- scenes ------------------------------------------------------------------------------------


class SceneInfo(_Strict):
    """``shot.extra["scene"]``: the scene a shot belongs to (the same on every shot of the scene)."""

    scene_index: int = Field(ge=1, description="1-based, per episode, in time order")
    script_id: str
    first_shot: int = Field(ge=0)
    last_shot: int = Field(ge=0)
    int_ext: Valued  # "INT" | "EXT"
    location: Valued  # an upper-case place phrase, e.g. "LIVING ROOM"
    time_of_day: Valued  # "DAY" | "NIGHT"
    description: Valued
    break_reason: str = Field(description="why the scene starts here: episode_start, fade, background_change, ...")


# --- the shooting script -----------------------------------------------------------------------


class CharacterDetail(_Strict):
    """A character on screen in a shot (paper Table 5 plus pose and 3D location)."""

    name: str
    name_source: str = Field(description="characters step (caption/numbered/human) or 'rule' (numbered in the scene)")
    character_id: Valued
    person_index: int = Field(ge=0, description="index into the keyframe's keyinfo people")
    keyframe_id: str
    age: Valued
    gender: Valued
    looks: Valued
    emotion: Valued
    valence: Valued
    arousal: Valued
    dominance: Valued
    temperament: Valued
    attractiveness: Valued
    pose: Valued
    location_3d_cm: Valued


class KeyObjectDetail(_Strict):
    type: str
    object_index: int = Field(ge=0)
    keyframe_id: str
    description: Valued
    shot_size: Valued
    location_3d_cm: Valued


class CameraDetail(_Strict):
    time_s: Valued
    shot_size: Valued
    camera_angle: Valued
    main_subject: Valued


class ShotScript(_Strict):
    number: int = Field(ge=1, description="SHOT n, counted through the episode (Table 1 numbers shots across scenes)")
    shot_index: int = Field(ge=0)
    shot_id: str
    start_s: float
    end_s: float
    keyframe_ids: list[str]
    shot_size: Valued
    camera_position: Valued
    camera_movement: Valued
    focus: Valued
    action: Valued
    highlight_score: Valued
    camera_detail: CameraDetail
    event_number: Valued
    event: Valued
    characters: list[CharacterDetail] = Field(default_factory=list)
    key_objects: list[KeyObjectDetail] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="what an upstream step said about this shot")


class SceneHeading(_Strict):
    number: int = Field(ge=1)
    int_ext: Valued
    location: Valued
    time_of_day: Valued
    description: Valued
    start_s: float
    end_s: float


class ShootingScript(_Strict):
    """One refined shooting script: one scene of one episode (paper Table 1)."""

    schema_version: Literal["1"] = SCRIPT_SCHEMA_VERSION
    script_id: str
    drama_id: str
    episode_id: str
    scene: SceneHeading
    shots: list[ShotScript]
    characters: list[str] = Field(default_factory=list, description="every character named in the scene, in order of appearance")
    upstream: dict[str, bool] = Field(
        default_factory=dict, description="which upstream annotation kinds were present for this scene"
    )

    def fields(self) -> list[tuple[str, Valued]]:
        """Every Valued leaf with its dotted path (for field counts and checks)."""
        out: list[tuple[str, Valued]] = []

        def walk(obj: Any, path: str) -> None:
            if isinstance(obj, Valued):
                out.append((path, obj))
            elif isinstance(obj, BaseModel):
                for name in type(obj).model_fields:
                    walk(getattr(obj, name), f"{path}.{name}" if path else name)
            elif isinstance(obj, list):
                for i, x in enumerate(obj):
                    walk(x, f"{path}[{i}]")

        walk(self, "")
        return out


def json_schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of a shooting script file."""
    schema = ShootingScript.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCRIPT_SCHEMA_ID
    schema["title"] = "SkyScript refined shooting script (paper Table 1)"
    return schema


# --- restorations ------------------------------------------------------------------------------


class RestorationState(_Strict):
    """Per shooting script: how far its restorations got (a DB row; the texts live in shards)."""

    script_id: str
    drama_id: str
    episode_id: str
    requested: int = Field(ge=0)
    done: int = Field(ge=0, description="restorations accepted")
    rejected: int = Field(ge=0, description="restorations that failed a check, were near-duplicates or whose call failed")
    prompt_tokens: int = Field(0, ge=0)
    completion_tokens: int = Field(0, ge=0)
    model: str | None = None
    prompt_digest: str | None = None
    shard_key: str | None = None
