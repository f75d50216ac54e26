"""The characters step's rules: captions beside a face name it, text on the clothes does not;
age and gender are settled with the face model's readings first; ids are stable strings."""

from __future__ import annotations

from skyscript.keyinfo.schema import Person, Source
from skyscript.schemas.annotations import OcrPayload, TextBoxPayload
from skyscript.schemas.vocab import AgeGroup, Gender
from skyscript.steps.characters import _Appearance, _caption_name, _settle, character_id


def _ocr(*boxes: tuple[str, tuple[float, float, float, float], str]) -> OcrPayload:
    return OcrPayload(width=1000, height=600, text_area_ratio=0.01, has_subtitle=False, boxes=[
        TextBoxPayload(text=t, score=0.9, polygon=[], xyxy=b, kind=k) for t, b, k in boxes])  # type: ignore[arg-type]


def _app(person: Person, ocr: OcrPayload | None = None, i: int = 0) -> _Appearance:
    return _Appearance((f"kf{i}", 0), "ep", "shot", ("ep", float(i), 0), person, 1000, ocr)


def test_caption_beside_the_face_names_the_character_not_text_on_the_shirt() -> None:
    person = Person(face_box=(400, 100, 480, 200))
    shirt = ("unicef", (410.0, 260.0, 470.0, 280.0), "name_card")  # under the face: printed on the clothes
    caption = ("LIN FENG", (520.0, 140.0, 640.0, 170.0), "name_card")  # beside the face
    subtitle = ("where were you", (300.0, 540.0, 700.0, 570.0), "subtitle")
    assert _caption_name(_app(person, _ocr(shirt, subtitle)), [], 0.6) is None
    assert _caption_name(_app(person, _ocr(shirt, caption, subtitle)), [], 0.6) == "LIN FENG"
    far = ("LOGO", (950.0, 10.0, 990.0, 30.0), "name_card")
    assert _caption_name(_app(person, _ocr(far)), [], 0.3) is None
    # a caption on another keyframe of the shot counts too
    assert _caption_name(_app(person, _ocr()), [_ocr(caption)], 0.6) == "LIN FENG"


def test_face_model_wins_the_settling_vote() -> None:
    def p(gender: Gender, src: Source) -> Person:
        return Person(gender=gender, age=AgeGroup.adult, sources={"gender": src, "age": Source.vlm})

    apps = [_app(p(Gender.male, Source.vlm), i=0), _app(p(Gender.male, Source.vlm), i=1),
            _app(p(Gender.female, Source.age_gender), i=2)]
    assert _settle(apps, "gender") == ("female", "face_model")
    assert _settle(apps, "age") == ("adult", "vlm")
    assert _settle([_app(Person())], "gender") == (None, None)


def test_character_ids_are_stable() -> None:
    a = character_id("d", "d--ep01--f0000010", 0)
    assert a == character_id("d", "d--ep01--f0000010", 0) and a.startswith("d--char-") and len(a) == len("d--char-") + 10
    assert a != character_id("d", "d--ep01--f0000010", 1)
