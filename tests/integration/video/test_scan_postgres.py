"""The scan step on real Postgres with a real film clip: Megamind.avi's four shots, valid
keyframes stored in the private area, and a re-run that changes no row."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from skyscript.db import lineage
from skyscript.db.models import Keyframe, Loss, Shot
from skyscript.context import StepContext
from skyscript.steps.ingest import IngestStep
from skyscript.steps.probe import ProbeStep
from skyscript.steps.runner import run_step
from skyscript.steps.scan import ScanStep
from skyscript.store import Area

pytestmark = pytest.mark.integration


def test_megamind_scan_on_postgres(pg_ctx: StepContext, sample_media: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(sample_media / "Megamind.avi", src / "ep01.avi")
    pg_ctx.params = {"sources": [str(src)]}
    assert run_step(IngestStep(), pg_ctx).status == "success"
    pg_ctx.params = {}
    ep = "test-drama--ep01"
    assert run_step(ProbeStep(), pg_ctx, ep).status == "success"
    res = run_step(ScanStep(), pg_ctx, ep)
    assert res.status == "success", res.error
    with pg_ctx.db.session() as s:
        shots = lineage.shots_of(s, ep)
        assert [(x.start_frame, x.end_frame, x.transition_in) for x in shots] == [
            (0, 98, None), (98, 154, "cut"), (154, 200, "cut"), (200, 270, "cut"),
        ]
        assert shots[1].start_s == pytest.approx(98 / (2997 / 125))
        kfs = lineage.keyframes_of(s, ep)
        assert len(kfs) == 4 and all(k.valid for k in kfs)
        assert all(pg_ctx.store.exists(Area.private, k.private_key) for k in kfs)
        snapshot = (
            sorted(s.execute(select(Shot.id, Shot.start_frame, Shot.camera_movement)).all()),
            sorted(s.execute(select(Keyframe.id, Keyframe.private_digest, Keyframe.valid)).all()),
            sorted(s.execute(select(Loss.item_id, Loss.reason).where(Loss.step == "scan")).all()),
        )
    assert run_step(ScanStep(), pg_ctx, ep).status == "success"
    with pg_ctx.db.session() as s:
        assert snapshot == (
            sorted(s.execute(select(Shot.id, Shot.start_frame, Shot.camera_movement)).all()),
            sorted(s.execute(select(Keyframe.id, Keyframe.private_digest, Keyframe.valid)).all()),
            sorted(s.execute(select(Loss.item_id, Loss.reason).where(Loss.step == "scan")).all()),
        )
