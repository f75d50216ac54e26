"""Audit reports: the JSON numbers are the lineage's numbers, the HTML shows them with plots, and
both land in the public area."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from calib_seed import seed_drama
from skyscript.audit.report import UnknownDrama, batch_keys, drama_keys, write_batch_audit, write_drama_audit
from skyscript.audit.publish import publish_batch_reports
from skyscript.calibration.gate import run_accuracy_gate
from skyscript.calibration.review import decide, submit
from skyscript.calibration.sampling import create_batch
from skyscript.config import Settings
from skyscript.db import lineage
from skyscript.db.engine import Database
from skyscript.db.models import CalibrationPacket
from skyscript.store import Area, open_store


def test_drama_and_batch_audit(db: Database, settings: Settings) -> None:
    kfs = seed_drama(db, "d-aud", episodes=1, per_episode=10)
    store = open_store(settings)
    settings.calibration.overlap_share = 0.0
    with db.session() as s:
        lineage.replace_losses(s, "d-aud", "scan", "d-aud--ep01", [lineage.LossRecord("keyframe", kfs[0], "motion_blur")], None)
        batch = create_batch(s, settings, ["d-aud"], seed=3).id
        for p in s.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == batch)):
            for it in p.items:
                decide(s, p.id, "ann", it["key"], "reject" if it["field"] == "person.gender" else "accept")
            submit(s, p.id, "ann")
        gate = run_accuracy_gate(s, settings, store, batch)
    with db.session() as s:
        publish_batch_reports(s, settings, store, batch)
    # a loss-gate report as the DAG keeps it, for the trend
    store.put_bytes(Area.public, "reports/d-aud/loss-gate/run-1.json", json.dumps(
        {"run_id": "run-1", "checked_at": "2026-12-01T00:00:00+00:00", "passed": True, "loss": {"loss_rate": 0.02}}).encode())
    with db.session() as s:
        key, doc = write_drama_audit(s, settings, store, "d-aud", trace_url="/skyscript/trace/{id}")
        with pytest.raises(UnknownDrama):
            write_drama_audit(s, settings, store, "nope")
        bkey, bdoc = write_batch_audit(s, settings, store, batch)
    assert key == drama_keys("d-aud")[0] and bkey == batch_keys(batch)[0]
    assert doc["loss"]["keyframes_lost"] == 1 and doc["loss"]["keyframe_loss_rate"] == pytest.approx(0.1)
    assert doc["loss"]["by_reason"] == {"motion_blur": 1} and doc["loss"]["passed"] is False
    assert [r["run_id"] for r in doc["loss_runs"]] == ["run-1"]
    (row,) = doc["calibration"]
    assert (row["batch_id"], row["status"], row["n"]) == (batch, "failed", gate.report.overall.n)
    assert row["correct"] == gate.report.overall.correct and row["lower"] == gate.report.overall.lower
    html = store.get_bytes(Area.public, key).decode()
    assert "<svg" in html and "10.0%" in html and "/skyscript/trace/" + kfs[1] in html and batch in html
    assert json.loads(store.get_bytes(Area.public, drama_keys("d-aud")[1]))["loss"] == doc["loss"]
    assert bdoc["accuracy"]["overall"]["n"] == gate.report.overall.n and bdoc["rounds"][0]["batch_id"] == batch
    # GX Data Docs for the gate's validations
    dd = store.get_bytes(Area.public, f"reports/data-docs/accuracy/{batch}/summary.html").decode()
    assert "batch-accuracy" in dd and "gated" in dd
    assert f"accuracy/{batch}/summary.html" in store.get_bytes(Area.public, "reports/data-docs/index.html").decode()
    bhtml = store.get_bytes(Area.public, bkey).decode()
    assert "person.gender" in bhtml and "FAIL" in bhtml and f"{gate.report.overall.correct}/{gate.report.overall.n} items correct" in bhtml
