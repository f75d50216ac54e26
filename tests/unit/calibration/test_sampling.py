"""Drawing batches: seeded and reproducible, stratified, sized, never above what exists."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from skyscript.calibration.items import items_of
from skyscript.calibration.sampling import CalibrationError, allocate, create_batch
from skyscript.config import Settings
from skyscript.db.engine import Database
from skyscript.db.models import CalibrationPacket

from calib_seed import seed_drama


def _keyframes(db: Database, batch_id: str) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(CalibrationPacket.keyframe_id).where(CalibrationPacket.batch_id == batch_id).order_by(CalibrationPacket.position)))


def test_allocation_by_hand() -> None:
    assert allocate({"a": 10, "b": 5, "c": 5}, 8) == {"a": 4, "b": 2, "c": 2}
    # quotas 3.5, 1.0, 0.5: floors 3, 1, 0; the one left goes to the largest remainder, a before c
    assert allocate({"a": 7, "b": 2, "c": 1}, 5) == {"a": 4, "b": 1, "c": 0}
    assert allocate({"a": 2, "b": 1}, 10) == {"a": 2, "b": 1}  # never above what exists


def test_same_seed_same_batch_and_strata_proportional(db: Database, settings: Settings) -> None:
    seed_drama(db, "d-one", episodes=3, per_episode=10)  # 30 keyframes
    settings.calibration.exclude_reviewed = False
    with db.session() as s:
        b1 = create_batch(s, settings, ["d-one"], size=12, seed=7)
        b2 = create_batch(s, settings, ["d-one"], size=12, seed=7)
        b3 = create_batch(s, settings, ["d-one"], size=12, seed=8)
        strata = dict(b1.strata)
        ids = (b1.id, b2.id, b3.id)
    k1, k2, k3 = (_keyframes(db, i) for i in ids)
    assert k1 == k2 and len(k1) == 12 and len(set(k1)) == 12
    assert sorted(k1) != sorted(k3)
    # the seed data has six strata (shot type and people go together, model origin alternates) of
    # 6, 6, 6, 6, 3 and 3 keyframes: 12 of 30 -> quotas 2.4 x4 and 1.2 x2, floors 2 x4 and 1 x2 (10),
    # the two left go to two of the 0.4 remainders
    assert sorted((v["population"], v["drawn"]) for v in strata.values()) == [(3, 1), (3, 1), (6, 2), (6, 2), (6, 3), (6, 3)]
    with db.session() as s:
        drawn = Counter(s.scalars(select(CalibrationPacket.stratum).where(CalibrationPacket.batch_id == ids[0])))
        assert {k: v["drawn"] for k, v in strata.items()} == dict(drawn)
        overlap = s.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == ids[0], CalibrationPacket.overlap.is_(True))).all()
        assert len(overlap) == 1  # 10% of 12, rounded
        p = s.scalars(select(CalibrationPacket).where(CalibrationPacket.batch_id == ids[0])).first()
        assert p.items == [i.model_dump(mode="json") for i in items_of(p.snapshot)]
        assert set(p.snapshot) == {"shot_size", "faces", "keyinfo"}


def test_stratified_across_dramas_and_capped(db: Database, settings: Settings) -> None:
    seed_drama(db, "big", episodes=3, per_episode=10)
    seed_drama(db, "small", episodes=1, per_episode=10)
    with db.session() as s:
        b = create_batch(s, settings, ["big", "small"], size=20, seed=1)
        by_drama = Counter(s.scalars(select(CalibrationPacket.drama_id).where(CalibrationPacket.batch_id == b.id)))
        assert (b.population, b.size, b.requested_size) == (40, 20, 20)
    # strata of 12, 9, 9 (big) and 4, 3, 3 (small), 20 of 40: quotas 6, 4.5, 4.5, 2, 1.5, 1.5; floors give
    # 18 and the two left go to the first .5 remainders by name, both big
    assert by_drama == {"big": 16, "small": 4}
    with db.session() as s:
        # the default size (200) is more than exists; the excluded keyframes of the first batch are skipped
        b2 = create_batch(s, settings, ["big", "small"], seed=1)
        assert (b2.population, b2.size, b2.requested_size) == (20, 20, 200)
        first = set(_keyframes(db, b.id))
    assert not first & set(_keyframes(db, b2.id))


def test_bad_requests_are_one_line_errors(db: Database, settings: Settings) -> None:
    seed_drama(db, "d-one", episodes=1, per_episode=3)
    with db.session() as s:
        with pytest.raises(CalibrationError, match="unknown drama 'nope'"):
            create_batch(s, settings, ["nope"])
        with pytest.raises(CalibrationError, match="at least 1"):
            create_batch(s, settings, ["d-one"], size=0)
        with pytest.raises(CalibrationError, match="unknown batch"):
            create_batch(s, settings, ["d-one"], parent_id="cal-missing")
