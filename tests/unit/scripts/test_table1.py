"""The Table 1 builder: every field filled from the scene-understanding annotations when they are
there, marked missing with the reason when not; the JSON Schema accepts what the builder writes
and refuses a field without source or reason; Fountain parses back with scene and shot numbers;
the FDX is well-formed with the expected paragraph types."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from script_fixtures import keyinfo_two_people, scene_payloads
from skyscript.schemas.script import SceneInfo, ShootingScript, Valued, json_schema
from skyscript.scripts import fdx, fountain
from skyscript.scripts.table1 import KeyframeIn, ScriptBuilder, ShotIn


def _scene(n: int = 1) -> SceneInfo:
    return SceneInfo(
        scene_index=n, script_id=f"d--ep1--sc{n:04d}", first_shot=0, last_shot=2,
        int_ext=Valued.of("EXT", "vlm", "vlm:test"), location=Valued.of("PARK", "vlm", "vlm:test"),
        time_of_day=Valued.of("DAY", "estimate", "offline"), description=Valued.of("A sunny park.", "vlm", "vlm:test"),
        break_reason="episode_start",
    )


def _shots(with_scene_kinds: bool) -> list[ShotIn]:
    info = keyinfo_two_people().model_dump(mode="json")
    shots = []
    for i, (mv, score) in enumerate((("static", 4.0), ("pan_left", 2.5), ("static", 1.0))):
        kinds = scene_payloads(score=score) if with_scene_kinds else {}
        kf = KeyframeIn(id=f"d--ep1--f{i:07d}", frame_index=i * 50, valid=True, shot_type="wide" if i == 0 else "medium",
                        keyinfo=info if i < 2 else {**info, "people": info["people"][:1]}, kinds=kinds)
        shots.append(ShotIn(f"d--ep1--s{i:04d}", i, i * 2.0, i * 2.0 + 2.0 + (0.5 if i == 0 else 0), mv, "cut", {}, [kf]))
    return shots


def build(with_scene_kinds: bool) -> ShootingScript:
    return ScriptBuilder("d", "d--ep1").build(_scene(), _shots(with_scene_kinds), first_number=1)


def test_filled_path_takes_every_field_from_its_annotation() -> None:
    s = build(True)
    first = s.shots[0]
    assert first.shot_size.value == "WIDE SHOT" and first.shot_size.source == "rule"
    assert first.camera_movement.value == "Static" and first.camera_movement.source == "model"
    assert first.camera_detail.time_s.value == 2.5
    assert first.highlight_score.value == 4.0 and s.shots[1].highlight_score.value == 2.5
    emma, jack = first.characters
    assert (emma.name, jack.name) == ("EMMA", "JACK") and emma.character_id.value == "c-emma"
    assert emma.location_3d_cm.value == [0.0, 165.0, 300.0] and emma.location_3d_cm.source == "geometry"
    assert jack.location_3d_cm.value == [60.0, 180.0, 320.0]
    # camera 250 cm high, Emma's head (the largest box) at 165 cm: 85 cm above -> high angle
    assert first.camera_detail.camera_angle.value == "High Angle"
    assert first.camera_detail.main_subject.value == ["EMMA", "JACK"]
    assert first.focus.value == "EMMA (adult, female)"
    assert first.action.value == "EMMA is walking and looks happy; JACK is walking and looks serious."
    assert first.camera_position.value == "Stationary, high angle, capturing the whole setting"
    # V/A/D from the emotion step (source vlm for Emma, a derived value for Jack is a rule)
    assert (emma.valence.value, emma.arousal.value, emma.valence.source) == (8, 6, "vlm")
    assert (jack.valence.value, jack.valence.source) == (4, "rule")
    assert emma.pose.value == "walking" and emma.attractiveness.value == 4 and jack.age.source == "model"
    assert first.key_objects[0].location_3d_cm.value == [-80.0, 75.0, 250.0]
    # events: the same cast in shots 1-2, a new cast (only Emma) in shot 3
    assert [x.event_number.value for x in s.shots] == ["001", "001", "002"]
    assert s.shots[0].event.value == "EMMA and JACK walking in the park"
    assert s.shots[2].event.value == "EMMA walking in the park"
    assert s.characters == ["EMMA", "JACK"] and s.upstream["layout"] is True
    assert all(f.ok for path, f in s.fields() if "looks" not in path), [p for p, f in s.fields() if not f.ok]


def test_missing_path_marks_each_field_with_its_reason() -> None:
    s = build(False)
    first = s.shots[0]
    emma = first.characters[0]
    assert emma.name == "PERSON 1" and emma.name_source == "rule"
    assert emma.character_id.missing.startswith("characters step has not run")
    assert first.highlight_score.missing == "highlight step has not run"
    assert emma.location_3d_cm.missing == "layout step has not run"
    assert first.camera_detail.camera_angle.missing == "layout step has not run"
    assert emma.pose.missing.startswith("pose step has not run")
    assert emma.valence.ok and emma.valence.value == 7 and emma.valence.source == "vlm"  # keyinfo's own V/A/D
    assert s.shots[0].characters[1].valence.missing.startswith("emotion step has not run")
    assert first.action.value == "PERSON 1 looks happy; PERSON 2 looks serious."
    assert all(v.value is None for _, v in s.fields() if not v.ok)
    assert s.upstream == {"characters": False, "depth": False, "pose": False, "layout": False, "emotion": False,
                          "highlight": False, "keyinfo": True}


def test_a_shot_without_key_information_says_so() -> None:
    shots = _shots(False)
    shots[1].keyframes[0].keyinfo = None
    s = ScriptBuilder("d", "d--ep1").build(_scene(), shots, 1)
    assert s.shots[1].focus.missing == s.shots[1].action.missing == "keyinfo step has not run on this keyframe (or lost it)"
    assert s.shots[1].characters == []


def test_json_schema_accepts_built_scripts_and_refuses_a_field_without_source() -> None:
    schema = json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    for filled in (True, False):
        validator.validate(json.loads(json.dumps(build(filled).model_dump(mode="json"))))
    bad = build(True).model_dump(mode="json")
    bad["shots"][0]["shot_size"] = {"value": "WIDE SHOT", "source": "guess"}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(bad)
    with pytest.raises(ValueError, match="value and a source"):
        Valued(value="WIDE SHOT")
    with pytest.raises(ValueError, match="missing field"):
        Valued(value=1, source="rule", missing="because")


def test_fountain_parses_with_scene_and_shot_numbers() -> None:
    from fountain import ElementType, FountainParser

    s = ScriptBuilder("d", "d--ep1").build(_scene(3), _shots(True), first_number=7)
    text = fountain.render(s)
    doc = FountainParser().parse(text)
    els = list(doc.elements)
    heads = [e for e in els if e.type == ElementType.SCENE_HEADING]
    assert [(h.text, h.metadata.get("scene_number")) for h in heads] == [("EXT. PARK - DAY", "3")]
    shots = [e.text for e in els if e.type == ElementType.ACTION and e.text.startswith("SHOT ")]
    assert shots == ["SHOT 7: WIDE SHOT", "SHOT 8: MEDIUM SHOT", "SHOT 9: MEDIUM SHOT"]
    notes = [e.text for e in els if e.type == ElementType.NOTE]
    assert '[[3D Location of "EMMA": (0,165,300)]]' in notes
    assert "[[Camera Detail-Time (seconds): 2.5]]" in notes and "[[Event Number: 001]]" in notes
    # characters never appear as cues (no dialogue is invented)
    assert not [e for e in els if e.type == ElementType.CHARACTER]


def test_fountain_heading_of_an_unknown_place_is_still_a_heading() -> None:
    from fountain import ElementType, FountainParser

    scene = _scene().model_copy(update={"location": Valued.gap("no VLM"), "int_ext": Valued.gap("no frames"),
                                        "time_of_day": Valued.gap("no frames")})
    s = ScriptBuilder("d", "d--ep1").build(scene, _shots(False), 1)
    els = list(FountainParser().parse(fountain.render(s)).elements)
    head = next(e for e in els if e.type == ElementType.SCENE_HEADING)
    assert (head.text, head.metadata["scene_number"]) == ("INT./EXT. UNKNOWN LOCATION", "1")
    assert any("location: no VLM" in e.text for e in els if e.type == ElementType.NOTE)


def test_fdx_is_well_formed_with_shot_paragraphs_and_script_notes() -> None:
    s = build(True)
    root = ET.fromstring(fdx.render(s))
    assert root.tag == "FinalDraft" and root.get("DocumentType") == "Script"
    paras = root.findall("./Content/Paragraph")
    types = [p.get("Type") for p in paras]
    assert types[0] == "Scene Heading" and paras[0].get("Number") == "1" and paras[0].findtext("Text") == "EXT. PARK - DAY"
    assert [p.findtext("Text") for p in paras if p.get("Type") == "Shot"] == [
        "SHOT 1: WIDE SHOT", "SHOT 2: MEDIUM SHOT", "SHOT 3: MEDIUM SHOT"]
    assert set(types) == {"Scene Heading", "Action", "Shot"}
    notes = root.findall("./ScriptNotes/ScriptNote")
    texts = [n.findtext("./Paragraph/Text") for n in notes]
    assert '3D Location of "JACK": (60,180,320)' in texts and "Highlight Score: 4.0" in texts
    start, length = (int(x) for x in notes[-1].get("Range").split(","))
    full = "\n".join(p.findtext("Text") or "" for p in paras)
    assert full[start:start + length] == "SHOT 3: MEDIUM SHOT"
