"""The key-information schema: the paper's spellings parse, scales are enforced, vocabularies
normalise, multi-image answers line up with their images."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from skyscript.keyinfo.schema import (
    AgeGroup,
    Gender,
    Person,
    ShotType,
    VlmFrame,
    VlmPerson,
    basic_emotion,
    parse_vlm_answer,
)

PAPER_PERSON = {
    "Type": "person",
    "Age": "adult",
    "Gender": "male",
    "Looks": "Wearing a dark suit and tie, sitting with legs crossed, has short dark hair",
    "Emotion": "serious",
    "Continuous Emotion": {"Valence (V)": "4", "Arousal (A)": "6", "Dominance (D)": "7"},
    "Temperament": "confident",
    "Facial Attractiveness": "3",
    "Shot Type": "Full Shot",
}
PAPER_OBJECT = {"Type": "cup", "Description": "Transparent glass cup filled with water", "Shot Type": "Close-Up"}


def test_paper_spellings_and_string_numbers_parse() -> None:
    p = VlmPerson.model_validate(PAPER_PERSON)
    assert (p.age, p.gender, p.shot_type) == (AgeGroup.adult, Gender.male, ShotType.full)
    assert p.continuous_emotion is not None
    assert (p.continuous_emotion.valence, p.continuous_emotion.arousal, p.continuous_emotion.dominance) == (4, 6, 7)
    assert p.attractiveness == 3
    assert p.emotion == "serious" and p.temperament == "confident"


def test_flat_paper_list_splits_people_from_objects() -> None:
    [frame] = parse_vlm_answer([PAPER_OBJECT, PAPER_PERSON], 1)
    assert [o.type for o in frame.objects] == ["cup"]
    assert frame.objects[0].shot_type is ShotType.close_up
    assert len(frame.people) == 1 and frame.people[0].gender is Gender.male


def test_snake_case_keys_of_our_prompt_parse() -> None:
    frame = VlmFrame.model_validate({
        "objects": [{"type": "Chair", "description": "wooden", "shot_type": "extreme_close_up", "box": [0, 0, 500, 1000]}],
        "people": [{"age": "elderly", "gender": "Woman", "continuous_emotion": {"valence": 9, "arousal": 1, "dominance": 5},
                    "facial_attractiveness": 5, "shot_type": "medium"}],
    })
    assert frame.objects[0].type == "chair" and frame.objects[0].box == (0.0, 0.0, 500.0, 1000.0)
    assert frame.objects[0].shot_type is ShotType.extreme_close_up
    p = frame.people[0]
    assert (p.age, p.gender, p.attractiveness, p.shot_type) == (AgeGroup.elderly, Gender.female, 5, ShotType.medium)


@pytest.mark.parametrize(
    "vad, message",
    [
        ({"Valence (V)": "10"}, "valence 10 is out of range 1..9"),
        ({"Arousal (A)": 0}, "arousal 0 is out of range 1..9"),
        ({"Dominance (D)": "-3"}, "dominance -3 is out of range 1..9"),
        ({"Valence (V)": "high"}, "valence must be a number 1..9"),
        ({"Valence (V)": True}, "valence must be a number 1..9"),
    ],
)
def test_continuous_emotion_out_of_range_is_rejected_with_reason(vad: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        VlmPerson.model_validate({**PAPER_PERSON, "Continuous Emotion": vad})


def test_continuous_emotion_rounds_inside_the_scale() -> None:
    p = VlmPerson.model_validate({**PAPER_PERSON, "Continuous Emotion": {"V": 4.5, "A": "6.4", "D": "7/9"}})
    assert p.continuous_emotion is not None
    assert (p.continuous_emotion.valence, p.continuous_emotion.arousal, p.continuous_emotion.dominance) == (5, 6, 7)


@pytest.mark.parametrize("value", ["6", 0, "0.2", 11])
def test_attractiveness_outside_1_to_5_is_rejected(value: object) -> None:
    with pytest.raises(ValidationError, match="facial attractiveness .* out of range 1..5"):
        VlmPerson.model_validate({**PAPER_PERSON, "Facial Attractiveness": value})


@pytest.mark.parametrize(
    "age, group",
    [("adult", AgeGroup.adult), ("35", AgeGroup.adult), ("70", AgeGroup.elderly), ("teen", AgeGroup.teenager),
     ("30-40", AgeGroup.adult), (8, AgeGroup.child), ("middle-aged", AgeGroup.adult), ("elderly man", AgeGroup.elderly)],
)
def test_age_normalises(age: object, group: AgeGroup) -> None:
    assert VlmPerson.model_validate({**PAPER_PERSON, "Age": age}).age is group


def test_unknown_vocabulary_is_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown age 'ancient'"):
        VlmPerson.model_validate({**PAPER_PERSON, "Age": "ancient"})
    with pytest.raises(ValidationError, match="unknown gender 'robot'"):
        VlmPerson.model_validate({**PAPER_PERSON, "Gender": "robot"})
    with pytest.raises(ValidationError, match="unknown shot type 'Dutch Angle'"):
        VlmPerson.model_validate({**PAPER_PERSON, "Shot Type": "Dutch Angle"})
    with pytest.raises(ValidationError, match="object type is empty"):
        VlmFrame.model_validate({"objects": [{"type": " "}]})


def test_vlm_box_must_be_on_the_grid_and_not_inverted() -> None:
    with pytest.raises(ValidationError, match="outside 0..1000"):
        VlmFrame.model_validate({"objects": [{"type": "cup", "box": [0, 0, 1200, 50]}]})
    with pytest.raises(ValidationError, match="inverted"):
        VlmFrame.model_validate({"objects": [{"type": "cup", "box": [300, 0, 100, 50]}]})


def test_multi_image_answers_follow_image_numbers_and_count() -> None:
    ans = {"frames": [{"image": 2, "objects": [{"type": "dog"}]}, {"image": 1, "objects": [{"type": "cat"}]}]}
    frames = parse_vlm_answer(ans, 2)
    assert [f.objects[0].type for f in frames] == ["cat", "dog"]
    with pytest.raises(ValueError, match="1 frame entries for 2 images"):
        parse_vlm_answer({"frames": [{"objects": []}]}, 2)


def test_person_listed_as_object_moves_to_people() -> None:
    frame = VlmFrame.model_validate({"objects": [{"type": "Person", "Gender": "female"}, {"type": "lamp"}]})
    assert [o.type for o in frame.objects] == ["lamp"]
    assert len(frame.people) == 1


def test_basic_emotion_mapping_and_stored_person_bounds() -> None:
    assert basic_emotion("Serious") == "neutral"
    assert basic_emotion("very scared") == "fear"
    assert basic_emotion("smiling warmly") == "happy"
    assert basic_emotion("sarcastic") is None
    with pytest.raises(ValidationError):
        Person(valence=0)
    with pytest.raises(ValidationError):
        Person(attractiveness=6)
    with pytest.raises(ValidationError, match="basic emotion 'serious'"):
        Person(emotion_basic="serious")
