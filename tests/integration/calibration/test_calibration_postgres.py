"""The calibration tables and flow on real Postgres: migration 0004 matches the models, a batch is
drawn the same way for the same seed as on SQLite, and a review writes its versioned corrections."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "calibration"))
from calib_seed import seed_drama  # noqa: E402

from skyscript.calibration.accuracy import batch_accuracy  # noqa: E402
from skyscript.calibration.review import decide, submit  # noqa: E402
from skyscript.calibration.sampling import create_batch  # noqa: E402
from skyscript.config import Settings  # noqa: E402
from skyscript.db import lineage  # noqa: E402
from skyscript.db.engine import Database  # noqa: E402
from skyscript.db.models import Base, CalibrationPacket  # noqa: E402

pytestmark = pytest.mark.integration


def _draw(db: Database, settings: Settings) -> list[str]:
    seed_drama(db, "d-pg", episodes=2, per_episode=10)
    with db.session() as s:
        b = create_batch(s, settings, ["d-pg"], size=8, seed=21)
        return list(s.scalars(select(CalibrationPacket.keyframe_id).where(CalibrationPacket.batch_id == b.id).order_by(CalibrationPacket.position)))


def test_calibration_on_postgres_matches_sqlite(pg_url: str, tmp_path: Path) -> None:
    pg = Database(pg_url)
    pg.upgrade()
    with pg.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    lite = Database(f"sqlite:///{tmp_path / 'l.db'}")
    lite.upgrade()
    settings = Settings(home=tmp_path / "home", calibration={"overlap_share": 0.25})
    assert _draw(pg, settings) == _draw(lite, settings)  # same seed, same data: same batch on both

    with pg.session() as s:
        batch = s.scalars(select(CalibrationPacket.batch_id)).first()
        packets = list(s.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == batch).order_by(CalibrationPacket.position)))
        assert sum(p.overlap for p in packets) == 2
        for p in packets:
            for who in (["ann", "bob"] if p.overlap else ["ann"]):
                for it in p.items:
                    wrong = it["field"] == "person.age" and who == "ann"
                    decide(s, p.id, who, it["key"], "fix" if wrong else "accept", "elderly" if wrong else None)
                submit(s, p.id, who)
        rep = batch_accuracy(s, settings, batch)
        fixed = [p for p in packets if any(i["field"] == "person.age" for i in p.items)]
        kf = fixed[0].keyframe_id
        ann = lineage.annotation_of(s, kf, "keyinfo")
        assert (ann.version, ann.author, ann.payload["people"][0]["age"]) == (2, "ann", "elderly")
    assert rep.fields["person.age"].correct == 0 and rep.complete
    assert rep.agreement.packets == 2 and rep.agreement.items > 0
    pg.dispose()
    lite.dispose()
