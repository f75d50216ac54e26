"""Resume, not redo: a re-run skips every episode step whose inputs, version and parameters are
unchanged since its last success, redoes what a changed setting touches, and `--force` redoes all."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from skyscript.context import StepContext
from skyscript.db.models import StepRun
from skyscript.pipeline import run_drama

pytestmark = pytest.mark.integration
STEPS = ["ingest", "probe", "scan", "text", "privacy", "shot_size"]


def _statuses(ctx: StepContext, run: str) -> dict[str, str]:
    with ctx.db.session() as s:
        return {r.step: r.status for r in s.scalars(select(StepRun).where(StepRun.dag_run_id == run))}


def test_rerun_skips_what_is_unchanged(ctx: StepContext, sample_media: Path) -> None:
    src = [str(sample_media / "vtest.avi")]
    first = run_drama(ctx, src, steps=STEPS)
    assert first.ok and set(_statuses(ctx, first.dag_run_id).values()) == {"success"}
    second = run_drama(ctx, src, steps=STEPS)
    assert second.ok
    assert _statuses(ctx, second.dag_run_id) == {"ingest": "success", **{s: "unchanged" for s in STEPS[1:]}}
    assert all(r.counts.get("unchanged") == 1 for r in second.results if r.step != "ingest")
    # a setting privacy's output depends on: privacy runs again; its faces are the same, so shot size does not
    ctx.settings.privacy.mosaic_block = 16
    third = run_drama(ctx, src, steps=STEPS)
    st = _statuses(ctx, third.dag_run_id)
    assert st["probe"] == st["scan"] == st["text"] == "unchanged" and st["privacy"] == "success"
    ctx.force = True
    fourth = run_drama(ctx, src, steps=STEPS)
    assert set(_statuses(ctx, fourth.dag_run_id).values()) == {"success"}
