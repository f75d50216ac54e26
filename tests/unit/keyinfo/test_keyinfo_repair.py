"""The repair ladder: parsed, repaired (json-repair), corrected (correction model), lost."""

from __future__ import annotations

import json

import pytest

from skyscript.keyinfo.repair import Outcome, interpret

GOOD = {"objects": [{"type": "cup", "description": "a white cup", "shot_type": "close_up"}],
        "people": [{"age": "adult", "gender": "female", "emotion": "happy",
                    "continuous_emotion": {"valence": 8, "arousal": 5, "dominance": 6}, "facial_attractiveness": 4}]}


class Corrector:
    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, int]] = []

    def __call__(self, raw: str, problem: str, n: int) -> str:
        self.calls.append((raw, problem, n))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_strict_json_and_fenced_json_are_parsed() -> None:
    r = interpret(json.dumps(GOOD), 1)
    assert r.outcome is Outcome.parsed and r.frames is not None
    assert r.frames[0].people[0].continuous_emotion.valence == 8  # type: ignore[union-attr]
    r = interpret("```json\n" + json.dumps(GOOD) + "\n```", 1)
    assert r.outcome is Outcome.parsed


def test_truncated_answer_is_repaired_deterministically() -> None:
    text = json.dumps(GOOD)[:-40]  # cut inside the people entry
    corrector = Corrector("{}")
    r = interpret(text, 1, corrector)
    assert r.outcome is Outcome.repaired
    assert r.frames is not None and r.frames[0].objects[0].type == "cup"
    assert corrector.calls == []


def test_single_quotes_and_trailing_commas_are_repaired() -> None:
    r = interpret("{'objects': [{'type': 'lamp',},], 'people': [],}", 1)
    assert r.outcome is Outcome.repaired and r.frames is not None
    assert r.frames[0].objects[0].type == "lamp"


def test_prose_goes_to_the_correction_model() -> None:
    corrector = Corrector(json.dumps(GOOD))
    r = interpret("There is a woman holding a cup; she looks happy.", 1, corrector)
    assert r.outcome is Outcome.corrected and r.frames is not None
    assert r.frames[0].people[0].gender.value == "female"  # type: ignore[union-attr]
    [(raw, problem, n)] = corrector.calls
    assert raw.startswith("There is a woman") and n == 1
    assert "not valid JSON" in problem and "no JSON object found" in problem


def test_out_of_range_values_go_to_the_correction_model_with_the_reason() -> None:
    bad = json.loads(json.dumps(GOOD))
    bad["people"][0]["continuous_emotion"]["valence"] = 15
    fixed = json.loads(json.dumps(bad))
    fixed["people"][0]["continuous_emotion"]["valence"] = None
    corrector = Corrector(json.dumps(fixed))
    r = interpret(json.dumps(bad), 1, corrector)
    assert r.outcome is Outcome.corrected and r.frames is not None
    assert r.frames[0].people[0].continuous_emotion.valence is None  # type: ignore[union-attr]
    assert "valence 15 is out of range 1..9" in corrector.calls[0][1]


@pytest.mark.parametrize(
    "corrector, reason, detail",
    [
        (None, "unparseable_json", "no correction model configured"),
        (Corrector("still nothing useful"), "unparseable_json", "the correction still not valid JSON"),
        (Corrector(RuntimeError("endpoint down")), "unparseable_json", "correction failed: endpoint down"),
    ],
)
def test_lost_when_correction_is_missing_or_fails(corrector: Corrector | None, reason: str, detail: str) -> None:
    r = interpret("I am unable to describe this image.", 1, corrector)
    assert r.outcome is Outcome.lost and r.frames is None
    assert r.reason == reason and detail in (r.detail or "")


def test_wrong_fields_that_never_fit_are_a_schema_violation() -> None:
    r = interpret(json.dumps({"people": [{"gender": "robot"}]}), 1, Corrector(json.dumps({"people": [{"gender": "??"}]})))
    assert r.outcome is Outcome.lost and r.reason == "schema_violation"
    assert "unknown gender" in (r.detail or "")


def test_repair_calls_json_only_what_is_shaped_like_an_answer() -> None:
    for garbage in ("I see [a cat] here", 'oman@\u00ff@{"|\x03oman@', "x: [1, 2"):
        r = interpret(garbage, 1)
        assert r.outcome is Outcome.lost and r.reason == "unparseable_json", garbage
    # a flat list of items (the paper's shape) and a truncated object are still repaired
    r = interpret('[{"type": "cup"}, {"type": "chair"', 1)
    assert r.outcome is Outcome.repaired and r.frames is not None and [o.type for o in r.frames[0].objects] == ["cup", "chair"]
    r = interpret('{"objects": [{"type": "cup"}], "people": [', 1)
    assert r.outcome is Outcome.repaired
