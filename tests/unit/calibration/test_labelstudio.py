"""Label Studio tasks out, a Label Studio JSON export (the documented format: tasks with
``annotations`` whose ``result`` holds ``rectanglelabels``, ``choices`` and ``textarea`` regions) back
in as reviews and versioned corrections. The same round trip through a real Label Studio server:
tests/integration/calibration/test_labelstudio_server.py."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from calib_seed import seed_drama
from skyscript.calibration.labelstudio import LABEL_CONFIG, export_tasks, import_export
from skyscript.calibration.sampling import CalibrationError, create_batch
from skyscript.config import Settings
from skyscript.db import lineage
from skyscript.db.engine import Database
from skyscript.db.models import Keyframe
from skyscript.store import Area, open_store


def _setup(db: Database, settings: Settings) -> tuple[str, list[dict[str, Any]]]:
    seed_drama(db, "d-ls", episodes=1, per_episode=3)
    store = open_store(settings)
    settings.calibration.overlap_share = 0.0
    with db.session() as s:
        for kf in s.scalars(select(Keyframe)):
            store.put_bytes(Area.public, kf.public_key, b"\xff\xd8jpeg", "image/jpeg")
        batch = create_batch(s, settings, ["d-ls"], seed=1).id
        tasks = export_tasks(s, store, batch)
    return batch, tasks


def annotate(task: dict[str, Any], *, drop: list[str], move: dict[str, tuple[float, float]], wrong: list[str],
             fixes: dict[str, str], who: Any) -> dict[str, Any]:
    """What a Label Studio export holds after an annotator worked from our predictions."""
    out = copy.deepcopy(task)
    result = []
    for r in task["predictions"][0]["result"]:
        if r["id"] in drop:
            continue
        r = copy.deepcopy(r)
        if r["id"] in move:
            r["value"]["x"] += move[r["id"]][0]
            r["value"]["y"] += move[r["id"]][1]
        result.append(r)
    if wrong:
        result.append({"id": "w1", "from_name": "wrong", "to_name": "image", "type": "choices", "value": {"choices": wrong}})
    if fixes:
        text = [f"{k} = {v}" for k, v in fixes.items()]
        result.append({"id": "t1", "from_name": "fixes", "to_name": "image", "type": "textarea", "value": {"text": text}})
    out.update({"id": 7, "annotations": [{"id": 70, "completed_by": who, "result": result, "was_cancelled": False,
                                          "updated_at": "2026-12-02T06:00:00Z"}]})
    return out


def test_tasks_carry_the_frame_our_boxes_and_the_fields(db: Database, settings: Settings) -> None:
    _batch, tasks = _setup(db, settings)
    assert len(tasks) == 3 and 'value="$items"' in LABEL_CONFIG
    two = next(t for t in tasks if len(t["predictions"][0]["result"]) == 4)  # 2 keyinfo faces + 2 faces
    assert two["data"]["image"].startswith("file://") and two["data"]["image"].endswith(".jpg")
    region = two["predictions"][0]["result"][0]
    # person 1 face box [200, 100, 280, 190] in a 720x528 frame, as percentages
    assert region["value"]["x"] == pytest.approx(100 * 200 / 720) and region["value"]["height"] == pytest.approx(100 * 90 / 528)
    assert region["value"]["rectanglelabels"] == ["person face"]
    labels = [o["html"] for o in two["data"]["items"]]
    assert "person 1 emotion: calm" in labels and all(not o["value"].endswith("_box") for o in two["data"]["items"])


def test_export_import_round_trip_writes_corrections(db: Database, settings: Settings) -> None:
    batch, tasks = _setup(db, settings)
    two = next(t for t in tasks if len(t["predictions"][0]["result"]) == 4)
    ids = [r["id"] for r in two["predictions"][0]["result"]]
    done = [annotate(two, drop=[ids[3]], move={ids[0]: (1.0, 0.0)}, wrong=["keyinfo:people/0/emotion", "keyinfo:people/1/gender"],
                     fixes={"keyinfo:people/0/emotion": "angry"}, who={"id": 3, "email": "lena@example.com"})]
    done += [annotate(t, drop=[], move={}, wrong=[], fixes={}, who=4) for t in tasks if t is not two]
    with db.session() as s:
        res = import_export(s, batch, done)
    assert res == {"packets": 3, "corrections": 1, "skipped": 0}
    kf = two["data"]["keyframe_id"]
    with db.session() as s:
        ki = lineage.annotation_of(s, kf, "keyinfo")
        assert (ki.version, ki.author) == (2, "lena@example.com")
        p0, p1 = ki.payload["people"]
        assert (p0["emotion"], p1["gender"]) == ("angry", None)
        assert p0["face_box"] == [207, 100, 287, 190]  # moved 1% of 720 px to the right
        faces = lineage.annotation_of(s, kf, "faces")
        assert (faces.version, len(faces.payload["faces"])) == (2, 1)  # the deleted box is rejected
        others = [t["data"]["keyframe_id"] for t in tasks if t is not two]
        assert all(lineage.annotation_of(s, k, "keyinfo").version == 1 for k in others)
        # importing the same export again changes nothing
        assert import_export(s, batch, done) == {"packets": 0, "corrections": 0, "skipped": 3}


def test_bad_exports_are_refused(db: Database, settings: Settings) -> None:
    batch, tasks = _setup(db, settings)
    with db.session() as s:
        with pytest.raises(CalibrationError, match="list of tasks"):
            import_export(s, batch, {"tasks": []})
        anon = annotate(tasks[0], drop=[], move={}, wrong=[], fixes={}, who=None)
        with pytest.raises(CalibrationError, match="pass --reviewer"):
            import_export(s, batch, [anon])
        assert import_export(s, batch, [anon], default_reviewer="zoe")["packets"] == 1
        other = dict(tasks[1], data=dict(tasks[1]["data"], batch_id="cal-other"))
        assert import_export(s, batch, [other])["skipped"] == 1
