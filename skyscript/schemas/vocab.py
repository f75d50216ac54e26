"""Vocabularies more than one layer speaks."""

from __future__ import annotations

from enum import Enum


class ShotType(str, Enum):
    """The paper's five shot types (Table 3), as Keyframe.shot_type and key information spell them."""

    wide = "wide"
    full = "full"
    medium = "medium"
    close_up = "close_up"
    extreme_close_up = "extreme_close_up"


SHOT_TYPES: tuple[ShotType, ...] = tuple(ShotType)


class AgeGroup(str, Enum):
    child = "child"  # 0-12
    teenager = "teenager"  # 13-19
    adult = "adult"  # 20-59
    elderly = "elderly"  # 60+


class Gender(str, Enum):
    male = "male"
    female = "female"


BASIC_EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def age_group_of(years: float) -> AgeGroup:
    if years < 0 or years > 130:
        raise ValueError(f"age {years} years is out of range 0..130")
    if years < 13:
        return AgeGroup.child
    if years < 20:
        return AgeGroup.teenager
    if years < 60:
        return AgeGroup.adult
    return AgeGroup.elderly
