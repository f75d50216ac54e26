"""The review app behind Airflow's auth: anonymous requests are refused by Airflow's own
dependency; a signed-in reviewer sees the queue and a packet, and a fix and a reject become a
new annotation version by them. (The same flow in a real browser against a real Airflow:
tests/integration/plugins/test_review_browser.py.)"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import select

pytest.importorskip("airflow")
from fastapi.testclient import TestClient  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "calibration"))
from calib_seed import seed_drama  # noqa: E402
from skyscript_review.app import Backend, create_app  # noqa: E402

from skyscript.calibration.sampling import create_batch  # noqa: E402
from skyscript.config import Settings  # noqa: E402
from skyscript.db import lineage  # noqa: E402
from skyscript.db.engine import Database  # noqa: E402
from skyscript.db.models import CalibrationPacket, Keyframe  # noqa: E402
from skyscript.store import Area, open_store  # noqa: E402


@dataclass
class FakeUser:
    name: str

    def get_name(self) -> str:
        return self.name


@pytest.fixture
def app_and_db(settings: Settings) -> Iterator[tuple[TestClient, Database, str]]:
    db = Database(settings.database_url or "")
    db.upgrade()
    seed_drama(db, "d-web", episodes=1, per_episode=3)
    store = open_store(settings)
    with db.session() as s:
        for kf in s.scalars(select(Keyframe)):
            store.put_bytes(Area.public, kf.public_key, b"\xff\xd8jpeg-bytes", "image/jpeg")
        settings.calibration.overlap_share = 0.0
        batch = create_batch(s, settings, ["d-web"], seed=4).id
    app = create_app(Backend(lambda: settings))
    yield TestClient(app), db, batch
    db.dispose()


def test_anonymous_requests_are_refused(app_and_db: tuple[TestClient, Database, str]) -> None:
    client, _db, batch = app_and_db
    for method, path in (("get", "/"), ("get", f"/batch/{batch}"), ("get", f"/packet/{batch}--0000"),
                         ("get", f"/packet/{batch}--0000/frame.jpg"), ("post", f"/packet/{batch}--0000/submit")):
        res = getattr(client, method)(path)
        assert res.status_code in (401, 403), (path, res.status_code)
    # a forged token needs Airflow's auth manager to refuse it: checked against a real Airflow in
    # tests/integration/plugins/test_review_browser.py


def test_signed_in_reviewer_fixes_and_rejects(app_and_db: tuple[TestClient, Database, str]) -> None:
    client, db, batch = app_and_db
    guard, get_user = client.app.state.auth
    client.app.dependency_overrides[guard] = lambda: None
    client.app.dependency_overrides[get_user] = lambda: FakeUser("rita")
    with db.session() as s:
        p = s.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == batch)).all()
        packet = next(x for x in p if len(x.snapshot["keyinfo"]["payload"]["people"]) == 2)
        pid, kf = packet.id, packet.keyframe_id
    page = client.get("/")
    assert page.status_code == 200 and pid in page.text and "rita" in page.text
    page = client.get(f"/packet/{pid}")
    assert page.status_code == 200 and 'id="box-' in page.text and "person 2 emotion" in page.text
    assert client.get(f"/packet/{pid}/frame.jpg").content == b"\xff\xd8jpeg-bytes"
    res = client.post(f"/packet/{pid}/decide", data={"item": "keyinfo:people/1/emotion", "decision": "fix", "value": "angry"},
                      follow_redirects=False)
    assert res.status_code == 303
    res = client.post(f"/packet/{pid}/decide", data={"item": "keyinfo:people/0/valence", "decision": "fix", "value": "42"})
    assert res.status_code == 200 and "valence" in res.text and 'class="err"' in res.text  # refused, shown on the page
    client.post(f"/packet/{pid}/decide", data={"item": "faces:faces/0/xyxy", "decision": "reject"})
    # another site may not post with the reviewer's cookie
    res = client.post(f"/packet/{pid}/submit", data={"accept_rest": "1"}, headers={"origin": "http://evil.example"})
    assert res.status_code == 403
    res = client.post(f"/packet/{pid}/submit", data={"accept_rest": "1"}, follow_redirects=False)
    assert res.status_code == 303
    with db.session() as s:
        ann = lineage.annotation_of(s, kf, "keyinfo")
        assert (ann.version, ann.author, ann.payload["people"][1]["emotion"]) == (2, "rita", "angry")
        faces = lineage.annotation_of(s, kf, "faces")
        assert (faces.version, faces.author, len(faces.payload["faces"])) == (2, "rita", 1)
    rep = client.get(f"/api/batch/{batch}").json()
    assert rep["progress"]["reviewed"] == 1 and rep["decisions"]["fix"] == 1 and rep["decisions"]["reject"] == 1
    assert client.get(f"/packet/{batch}--9999").status_code == 400
    page = client.get(f"/batch/{batch}")
    assert page.status_code == 200 and 'id="overall"' in page.text and "person.emotion" in page.text


def test_reports_and_lineage_pages(app_and_db: tuple[TestClient, Database, str], settings: Settings) -> None:
    from skyscript.audit.report import write_drama_audit

    client, db, _batch = app_and_db
    guard, get_user = client.app.state.auth
    client.app.dependency_overrides[guard] = lambda: None
    client.app.dependency_overrides[get_user] = lambda: FakeUser("audrey")
    with db.session() as s:
        write_drama_audit(s, settings, open_store(settings), "d-web")
        kf = s.scalars(select(Keyframe.id)).first()
    page = client.get("/reports")
    assert page.status_code == 200 and "d-web/audit/index.html" in page.text
    res = client.get("/reports/d-web/audit/index.html")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html") and "<svg" in res.text
    assert client.get("/reports/d-web/audit/audit.json").json()["drama_id"] == "d-web"
    assert client.get("/reports/../lineage.db").status_code == 404
    assert client.get("/reports/d-web/missing.html").status_code == 404
    res = client.get(f"/trace/{kf}")
    assert res.status_code == 200 and "/v/d-web--ep01.mp4" in res.text and "shot_size" in res.text
    assert client.get("/trace", params={"id": kf}, follow_redirects=False).status_code == 303
    assert client.get("/trace/nope").status_code == 404
