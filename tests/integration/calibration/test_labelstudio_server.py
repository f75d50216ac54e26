"""The Label Studio round trip against a real Label Studio 1.23 server started on loopback: our
labeling config is accepted, the batch's tasks import with our boxes as predictions, an
annotation made through Label Studio's API (one box deleted, one moved, fields ticked wrong, one
fix typed) comes back in Label Studio's own JSON export, and importing that export writes the
corrections as new annotation versions by the Label Studio user."""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "calibration"))
from calib_seed import seed_drama  # noqa: E402
from label_studio_server import LabelStudio, start  # noqa: E402

from skyscript.calibration.labelstudio import LABEL_CONFIG, export_tasks, import_export  # noqa: E402
from skyscript.calibration.sampling import create_batch  # noqa: E402
from skyscript.config import Settings  # noqa: E402
from skyscript.db import lineage  # noqa: E402
from skyscript.db.engine import Database  # noqa: E402
from skyscript.db.models import Keyframe  # noqa: E402
from skyscript.store import Area, open_store  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudio]:
    ls = start(tmp_path_factory.mktemp("label-studio"))
    try:
        yield ls
    finally:
        ls.stop()


def test_round_trip_through_a_real_label_studio(label_studio: LabelStudio, settings: Settings) -> None:
    db = Database(settings.database_url or "")
    db.upgrade()
    seed_drama(db, "d-lsrt", episodes=1, per_episode=3)
    store = open_store(settings)
    settings.calibration.overlap_share = 0.0
    with db.session() as s:
        for kf in s.scalars(select(Keyframe)):
            store.put_bytes(Area.public, kf.public_key, b"\xff\xd8jpeg", "image/jpeg")
        batch = create_batch(s, settings, ["d-lsrt"], seed=2).id
        tasks = export_tasks(s, store, batch)

    with label_studio.client() as c:
        res = c.post("/api/projects", json={"title": f"SkyScript {batch}", "label_config": LABEL_CONFIG})
        assert res.status_code == 201, res.text
        project = res.json()["id"]
        res = c.post(f"/api/projects/{project}/import", json=tasks)
        assert res.status_code == 201, res.text
        assert res.json()["task_count"] == 3 and res.json()["prediction_count"] == 3
        ls_tasks = c.get("/api/tasks", params={"project": project, "fields": "all"}).json()["tasks"]
        assert len(ls_tasks) == 3
        two = next(t for t in ls_tasks if len(t["predictions"][0]["result"]) == 4)
        keyframe = two["data"]["keyframe_id"]
        # an annotator starting from our predictions: deletes the last box, moves the first,
        # ticks two fields wrong and types one fix
        regions = copy.deepcopy(two["predictions"][0]["result"])[:3]
        regions[0]["value"]["x"] += 1.0
        result: list[dict[str, Any]] = regions + [
            {"id": "w1", "from_name": "wrong", "to_name": "image", "type": "choices",
             "value": {"choices": ["keyinfo:people/0/emotion", "keyinfo:people/1/gender"]}},
            {"id": "t1", "from_name": "fixes", "to_name": "image", "type": "textarea",
             "value": {"text": ["keyinfo:people/0/emotion = angry"]}},
        ]
        res = c.post(f"/api/tasks/{two['id']}/annotations", json={"result": result, "was_cancelled": False})
        assert res.status_code == 201, res.text
        for t in ls_tasks:
            if t["id"] != two["id"]:
                accepted = copy.deepcopy(t["predictions"][0]["result"])
                assert c.post(f"/api/tasks/{t['id']}/annotations", json={"result": accepted}).status_code == 201
        export: list[dict[str, Any]] = []
        for _ in range(10):
            res = c.get(f"/api/projects/{project}/export", params={"exportType": "JSON"})
            assert res.status_code == 200, res.text
            export = res.json()
            if sum(len(t.get("annotations", [])) for t in export) == 3:
                break
            time.sleep(1)

    assert len(export) == 3 and all(t["data"]["batch_id"] == batch for t in export)
    with db.session() as s:
        out = import_export(s, batch, export)
    assert out == {"packets": 3, "corrections": 1, "skipped": 0}
    with db.session() as s:
        ki = lineage.annotation_of(s, keyframe, "keyinfo")
        assert ki.version == 2 and ki.author and ki.author.startswith(("reviewer@example.com", "labelstudio-user-"))
        p0, p1 = ki.payload["people"]
        assert (p0["emotion"], p1["gender"], p0["face_box"]) == ("angry", None, [207, 100, 287, 190])
        faces = lineage.annotation_of(s, keyframe, "faces")
        assert faces.version == 2 and len(faces.payload["faces"]) == 1
    db.dispose()
