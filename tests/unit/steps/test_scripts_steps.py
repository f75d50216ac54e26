"""The scenes and shooting_scripts steps on the runner: scene grouping on a generated episode
(shot/reverse-shot stays one scene, a fade and a new place start scenes) and on the real Megamind
clip (a four-shot dialogue: one scene), one Table 1 script per scene in the public area with
Fountain, FDX, an index and the JSON Schema; the filled path with scene-understanding annotations
written directly, the missing path without them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))

from script_fixtures import dialogue_episode, keyinfo_two_people, scene_kinds, scene_payloads  # noqa: E402
from skyscript.context import StepContext  # noqa: E402
from skyscript.db import lineage  # noqa: E402
from skyscript.pipeline import run_drama  # noqa: E402
from skyscript.schemas.script import ShootingScript  # noqa: E402
from skyscript.steps.registry import PIPELINE  # noqa: E402
from skyscript.steps.runner import run_step  # noqa: E402
from skyscript.steps.scenes import ScenesStep, parse_script_id, scene_of  # noqa: E402
from skyscript.steps.shooting_scripts import SCENE_KINDS, ShootingScriptsStep, index_key, schema_key, script_keys  # noqa: E402
from skyscript.store import Area  # noqa: E402

CPU = ["ingest", "probe", "scan"]


class FilledScripts(ShootingScriptsStep):
    """The step as it reads once the scene-understanding steps are installed (all six kinds)."""

    reads = ShootingScriptsStep.reads + tuple(k for k in SCENE_KINDS if k not in ShootingScriptsStep.reads)


def _scripts(ctx: StepContext) -> list[ShootingScript]:
    index = json.loads(ctx.store.get_bytes(Area.public, index_key(ctx.drama_id)))
    return [ShootingScript.model_validate_json(ctx.store.get_bytes(Area.public, script_keys(ctx.drama_id, e["script_id"])["json"]))
            for e in index["scripts"]]


def test_generated_episode_groups_dialogue_into_one_scene_and_breaks_at_fade_and_new_place(
    ctx: StepContext, tmp_path: Path
) -> None:
    src = dialogue_episode(tmp_path / "ep1.avi")
    summary = run_drama(ctx, [str(src)], steps=CPU + ["scenes", "shooting_scripts"])
    assert summary.failed == [], summary.failed
    ep = f"{ctx.drama_id}--ep1"
    with ctx.db.session() as s:
        shots = lineage.shots_of(s, ep)
        scenes = [scene_of(sh.extra) for sh in shots]
    assert len(shots) == 6, [(sh.start_frame, sh.transition_in) for sh in shots]
    assert [sc.scene_index for sc in scenes] == [1, 1, 1, 1, 2, 3]  # type: ignore[union-attr]
    assert [scenes[i].break_reason for i in (0, 4, 5)] == ["episode_start", "fade", "background_change"]  # type: ignore[union-attr]
    assert scenes[0].script_id == f"{ep}--sc0001" and parse_script_id(scenes[5].script_id) == (ep, 3)  # type: ignore[union-attr]
    # offline: time and INT/EXT are estimates, the place is missing with its reason
    assert scenes[0].time_of_day.source == "estimate" and scenes[0].int_ext.source == "estimate"  # type: ignore[union-attr]
    assert scenes[0].location.missing == "no VLM configured and keyinfo has not run: nothing names the place"  # type: ignore[union-attr]

    scripts = _scripts(ctx)
    assert [(sc.scene.number, [s.number for s in sc.shots]) for sc in scripts] == [(1, [1, 2, 3, 4]), (2, [5]), (3, [6])]
    for sc in scripts:
        for path, f in sc.fields():
            assert f.ok or (f.value is None and f.missing), path
    first = scripts[0].shots[0]
    assert first.focus.missing == "keyinfo step has not run on this keyframe (or lost it)"
    assert first.camera_movement.value == "Static" and first.camera_detail.time_s.value == pytest.approx(1.0, abs=0.05)
    fountain_text = ctx.store.get_bytes(Area.public, script_keys(ctx.drama_id, scripts[1].script_id)["fountain"]).decode()
    assert "#2#" in fountain_text and "!SHOT 5:" in fountain_text
    schema = json.loads(ctx.store.get_bytes(Area.public, schema_key(ctx.drama_id)))
    for sc in scripts:
        jsonschema.validate(sc.model_dump(mode="json"), schema)


def test_megamind_dialogue_is_one_scene_with_one_script(ctx: StepContext, sample_media: Path) -> None:
    summary = run_drama(ctx, [str(sample_media / "Megamind.avi")], steps=CPU + ["scenes", "shooting_scripts"])
    assert summary.failed == []
    with ctx.db.session() as s:
        scenes = [scene_of(sh.extra) for sh in lineage.shots_of(s, f"{ctx.drama_id}--megamind")]
    assert len(scenes) == 4 and {sc.scene_index for sc in scenes} == {1}  # type: ignore[union-attr]
    assert scenes[0].time_of_day.value == "NIGHT"  # a dark interior: the estimate says night  # type: ignore[union-attr]
    (script,) = _scripts(ctx)
    assert [s.number for s in script.shots] == [1, 2, 3, 4]
    # shot lengths from the measured cuts (new shots at decode frames 98, 154, 200; 23.976 fps)
    assert [s.camera_detail.time_s.value for s in script.shots][:3] == pytest.approx([98 / 23.976, 56 / 23.976, 46 / 23.976], abs=0.05)
    assert all(f.ok or f.missing for _, f in script.fields())


def test_filled_and_missing_paths_on_the_runner(ctx: StepContext, tmp_path: Path) -> None:
    src = dialogue_episode(tmp_path / "ep1.avi")
    run_drama(ctx, [str(src)], steps=CPU + ["scenes"])
    ep = f"{ctx.drama_id}--ep1"
    info = keyinfo_two_people().model_dump(mode="json")
    with ctx.db.session() as s:
        kfs = lineage.keyframes_of(s, ep)
        for kf in kfs:
            lineage.put_annotation(s, kf.id, "keyinfo", info, "vlm:test", None)
            if kf.shot_index < 4:  # the scene-understanding annotations on the first scene only
                for kind, payload in scene_payloads().items():
                    lineage.put_annotation(s, kf.id, kind, payload, "test", None)
        # an annotator corrected one character's name: the script says "human"
        corrected = scene_payloads(names=("EMMA", "MR. LI"))["characters"]
        lineage.put_annotation(s, kfs[0].id, "characters", corrected, "human", None, author="ann", correction=True)
    kinds = {**PIPELINE.kinds(), **scene_kinds()}
    res = run_step(FilledScripts(), ctx, None, kinds=kinds)
    assert res.status == "success", res.error
    scripts = _scripts(ctx)
    first, later = scripts[0], scripts[1]
    s0 = first.shots[0]
    assert [c.name for c in s0.characters] == ["EMMA", "MR. LI"] and s0.characters[1].character_id.source == "human"
    assert s0.characters[0].location_3d_cm.value == [0.0, 165.0, 300.0]
    assert s0.highlight_score.value == 4.0 and s0.camera_detail.camera_angle.value == "High Angle"
    assert first.characters == ["EMMA", "MR. LI", "JACK"]
    assert first.upstream["layout"] and not later.upstream["layout"]
    # the second scene had key information but none of the scene kinds
    p = later.shots[0].characters[0]
    assert p.name == "PERSON 1" and p.location_3d_cm.missing == "layout step has not run"
    assert later.shots[0].highlight_score.missing == "highlight step has not run"
    assert res.counts["scripts"] == 3 and 0 < res.counts["fields_missing"] < res.counts["fields"]


def test_the_production_step_reads_only_installed_scene_kinds() -> None:
    import importlib.util

    for k in SCENE_KINDS:
        assert (k in ShootingScriptsStep.reads) == (importlib.util.find_spec(f"skyscript.steps.{k}") is not None)
    assert PIPELINE.problems() == []
    assert PIPELINE.get("shooting_scripts").after[-1] == "scenes"
    assert ScenesStep.scope == ShootingScriptsStep.scope == "drama"


def test_scenes_with_a_vlm_take_its_answers_and_break_where_the_place_changes(ctx: StepContext, tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "keyinfo"))
    from openai_standin import Reply, StandinOpenAI

    src = dialogue_episode(tmp_path / "ep1.avi")
    assert run_drama(ctx, [str(src)], steps=CPU + ["text", "privacy"]).failed == []
    cafe = {"int_ext": "INT", "location": "Cafe", "time_of_day": "NIGHT", "description": "A small cafe after closing."}
    street = {"int_ext": "EXT", "location": "STREET", "time_of_day": "NIGHT", "description": "A wet street."}
    server = StandinOpenAI(default=Reply(json.dumps(cafe))).start()
    try:
        with ctx.db.session() as s:
            last = [k for k in lineage.keyframes_of(s, f"{ctx.drama_id}--ep1") if k.shot_index == 5][0]
        server.script_image(ctx.store.get_bytes(Area.public, last.public_key), Reply("```json\n" + json.dumps(street) + "\n```"))
        ctx.settings.vlm.url = server.url
        res = run_step(ScenesStep(), ctx, None)
    finally:
        server.stop()
    assert res.status == "success" and res.counts["vlm_answers"] == 6
    with ctx.db.session() as s:
        scenes = [scene_of(sh.extra) for sh in lineage.shots_of(s, f"{ctx.drama_id}--ep1")]
    assert [sc.scene_index for sc in scenes] == [1, 1, 1, 1, 2, 3]  # type: ignore[union-attr]
    assert scenes[5].break_reason == "vlm_location_or_time_change"  # type: ignore[union-attr]
    first = scenes[0]
    assert (first.int_ext.value, first.location.value, first.time_of_day.value) == ("INT", "CAFE", "NIGHT")  # type: ignore[union-attr]
    assert first.location.source == "vlm" and first.description.value == "A small cafe after closing."  # type: ignore[union-attr]
    assert (scenes[5].int_ext.value, scenes[5].location.value) == ("EXT", "STREET")  # type: ignore[union-attr]
    with ctx.db.session() as s:
        published = {ctx.store.get_bytes(Area.public, k.public_key) for k in lineage.keyframes_of(s, f"{ctx.drama_id}--ep1")}
    assert all(r.images[0] in published for r in server.requests)  # the privacy-masked copies, never the private frames
