"""The calibration DAG under ``airflow dags test``: a reviewed batch that fails the accuracy gate
is reworked and resampled and the next round is triggered; a batch that passes ends the loop."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from airflow_harness import base_env, dags_test, migrate

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "calibration"))
from calib_seed import seed_drama  # noqa: E402

from skyscript.calibration.review import decide, submit  # noqa: E402
from skyscript.calibration.sampling import create_batch  # noqa: E402
from skyscript.config import Settings  # noqa: E402
from skyscript.db.engine import Database  # noqa: E402
from skyscript.db.models import CalibrationBatch, CalibrationPacket  # noqa: E402
from skyscript.store import Area, open_store  # noqa: E402

pytestmark = pytest.mark.integration


def _reviewed_batch(db: Database, settings: Settings, wrong_field: str | None) -> str:
    with db.session() as s:
        batch = create_batch(s, settings, ["d-dag"], size=20, seed=3).id
        for p in s.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == batch)):
            for it in p.items:
                decide(s, p.id, "ann", it["key"], "reject" if it["field"] == wrong_field else "accept")
            submit(s, p.id, "ann")
    return batch


def test_failed_batch_is_reworked_and_resampled_passed_batch_ends(tmp_path: Path) -> None:
    env = base_env(tmp_path / "airflow", tmp_path / "home", SKYSCRIPT_CALIBRATION__OVERLAP_SHARE="0",
                   SKYSCRIPT_CALIBRATION__GATE_ON="point")
    migrate(env)
    settings = Settings(home=tmp_path / "home", calibration={"overlap_share": 0.0, "gate_on": "point"})
    db = Database(settings.database_url or "")
    db.upgrade()
    seed_drama(db, "d-dag", episodes=4, per_episode=10)
    failing = _reviewed_batch(db, settings, wrong_field="person.emotion")  # 18 of 144 items wrong: 87.5%

    dags_test(env, "skyscript_calibration", {"dramas": ["d-dag"], "batch_id": failing})
    with db.session() as s:
        b = s.get(CalibrationBatch, failing)
        assert b.status == "reworked" and b.result["gate"]["passed"] is False
        assert b.result["rework"]["fields"] == ["person.emotion"] and b.result["rework"]["steps"] == ["keyinfo"]
        (nxt,) = s.scalars(select(CalibrationBatch).where(CalibrationBatch.parent_id == failing)).all()
        assert (nxt.round, nxt.size, nxt.status) == (2, 20, "open")
        drawn_before = set(s.scalars(select(CalibrationPacket.keyframe_id).where(CalibrationPacket.batch_id == failing)))
        drawn_now = set(s.scalars(select(CalibrationPacket.keyframe_id).where(CalibrationPacket.batch_id == nxt.id)))
        assert not drawn_before & drawn_now  # 40 keyframes: the second round draws the other 20
    store = open_store(settings)
    assert store.exists(Area.public, f"reports/calibration/{failing}/accuracy-gate.json")
    assert store.exists(Area.public, f"reports/calibration/{failing}/index.html")
    assert store.exists(Area.public, "reports/d-dag/audit/index.html")  # the audit_reports task
    assert store.exists(Area.public, f"reports/data-docs/accuracy/{failing}/summary.html")

    passing = _reviewed_batch(db, settings, wrong_field=None)
    dags_test(env, "skyscript_calibration", {"dramas": ["d-dag"], "batch_id": passing})
    with db.session() as s:
        assert s.get(CalibrationBatch, passing).status == "passed"
        assert s.scalars(select(CalibrationBatch).where(CalibrationBatch.parent_id == passing)).all() == []
    db.dispose()
