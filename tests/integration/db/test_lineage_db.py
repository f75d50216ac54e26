"""Lineage database on both engines for real: SQLite (the embedded default) and Postgres."""

from __future__ import annotations

from pathlib import Path

from typing import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from skyscript import ids
from skyscript.db import lineage
from skyscript.db.engine import current_revision, head_revision
from skyscript.losses import LossRecord
from skyscript.db.models import Annotation, Base, Episode, Keyframe, Loss, StepRun
from pydantic import BaseModel

from skyscript.context import StepContext
from skyscript.errors import BadInput
from skyscript.steps.base import AnnotationRecord, Kind, ModelInfo, Step, StepOutput
from skyscript.steps.view import EpisodeView
from skyscript.steps.runner import run_step

pytestmark = pytest.mark.integration
EP = ids.episode_id("test-drama", "ep01.mp4")


@pytest.fixture(params=["sqlite", "postgres"])
def dbctx(request: pytest.FixtureRequest) -> Iterator[StepContext]:
    yield request.getfixturevalue("ctx" if request.param == "sqlite" else "pg_ctx")


# the newest migration file: the chain has one head and it is the last numbered file
LAST_MIGRATION = sorted(p.name[:4] for p in (Path(lineage.__file__).parent / "migrations" / "versions").glob("0*.py"))[-1]


def _seed(c: StepContext, frames: tuple[int, ...] = (10, 50)) -> None:
    with c.db.session() as s:
        lineage.register_source(s, "src1", "/videos/test", "file", "test-drama")
        lineage.ensure_drama(s, "test-drama", source_id="src1")
        lineage.upsert_episode(s, id=EP, drama_id="test-drama", source_uri="/videos/test/ep01.mp4",
                               source_name="ep01.mp4", status="ok", fps=25.0, frame_count=100)
        lineage.replace_shots(s, EP, [dict(id=ids.shot_id(EP, 0), episode_id=EP, shot_index=0, start_frame=0,
                                           end_frame=100, start_s=0.0, end_s=4.0, transition_in=None)])
        lineage.replace_keyframes(s, EP, [
            dict(id=ids.keyframe_id(EP, f), episode_id=EP, shot_id=ids.shot_id(EP, 0), shot_index=0, frame_index=f,
                 timestamp_s=f / 25.0, valid=True)
            for f in frames
        ])


def test_migrations_match_the_models(dbctx: StepContext) -> None:
    assert current_revision(dbctx.db.engine) == head_revision() == LAST_MIGRATION
    tables = set(inspect(dbctx.db.engine).get_table_names())
    assert {"source", "drama", "episode", "shot", "keyframe", "annotation", "loss", "step_run", "step_lease", "calibration_batch", "calibration_packet", "packet_review", "item_review", "script_restoration", "character"} <= tables
    with dbctx.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_upserts_are_idempotent(dbctx: StepContext) -> None:
    _seed(dbctx)
    _seed(dbctx)
    with dbctx.db.session() as s:
        counts = lineage.table_counts(s, "test-drama")
    assert counts == {"episode": 1, "shot": 1, "keyframe": 2, "annotation": 0, "loss": 0, "step_run": 0}
    # a re-run with fewer keyframes replaces the step's outputs: the stale keyframe goes
    _seed(dbctx, frames=(10,))
    with dbctx.db.session() as s:
        assert [k.frame_index for k in lineage.keyframes_of(s, EP)] == [10]


def test_annotation_versions_corrections_never_overwrite(dbctx: StepContext) -> None:
    _seed(dbctx)
    kf = ids.keyframe_id(EP, 10)
    with dbctx.db.session() as s:
        assert lineage.put_annotation(s, kf, "keyinfo", {"people": 1}, "vlm", None) == 1
        # a machine re-run replaces its own version in place
        assert lineage.put_annotation(s, kf, "keyinfo", {"people": 2}, "vlm", None) == 1
        # an annotator's correction is a new version
        assert lineage.put_annotation(s, kf, "keyinfo", {"people": 3}, "human", None, author="ann1", correction=True) == 2
        # a later machine re-run must not overwrite the annotator's work
        assert lineage.put_annotation(s, kf, "keyinfo", {"people": 9}, "vlm", None) == 2
    with dbctx.db.session() as s:
        hist = lineage.annotation_history(s, kf, "keyinfo")
        assert [(a.version, a.current, a.payload["people"], a.author) for a in hist] == [
            (1, False, 2, None), (2, True, 3, "ann1")
        ]
        assert lineage.annotation_of(s, kf, "keyinfo").payload == {"people": 3}  # type: ignore[union-attr]


def test_replace_losses_is_per_step_and_episode(dbctx: StepContext) -> None:
    _seed(dbctx)
    with dbctx.db.session() as s:
        lineage.replace_losses(s, "test-drama", "scan", EP, [LossRecord("keyframe", ids.keyframe_id(EP, 10), "motion_blur")], None)
        lineage.replace_losses(s, "test-drama", "keyinfo", EP, [LossRecord("annotation", ids.keyframe_id(EP, 50), "unparseable_json")], None)
        lineage.replace_losses(s, "test-drama", "scan", EP, [LossRecord("keyframe", ids.keyframe_id(EP, 10), "motion_blur")], None)
    with dbctx.db.session() as s:
        rows = sorted((lo.step, lo.reason) for lo in lineage.losses_of(s, "test-drama"))
    assert rows == [("keyinfo", "unparseable_json"), ("scan", "motion_blur")]


class _MarkPayload(BaseModel):
    ok: bool


class _MarkParams(BaseModel):
    fail: bool = False
    bad: bool = False


class _MarkStep(Step[_MarkParams]):
    """A test step: annotates every keyframe; fails while params['fail'] is set."""

    name = "mark"
    version = "7"
    owns = (Kind("mark", _MarkPayload),)
    writes = ("mark",)
    params_model = _MarkParams

    def run(self, view: EpisodeView, params: _MarkParams) -> StepOutput:  # type: ignore[override]
        if params.fail:
            raise RuntimeError("model server timed out")
        if params.bad:
            raise BadInput("truncated", "ends at frame 40 of 100")
        return StepOutput(
            annotations=[AnnotationRecord(kf.id, "mark", _MarkPayload(ok=True), "mark-model") for kf in view.keyframes],
            counts={"marked": 2}, model=ModelInfo("mark-model", "sha256:abc", ids.text_digest("prompt")),
        )


def test_failed_attempt_is_recorded_and_retry_clears_it(dbctx: StepContext) -> None:
    _seed(dbctx)
    dbctx.params = {"fail": True}
    dbctx.dag_run_id, dbctx.try_number = "manual__1", 1
    res = run_step(_MarkStep(), dbctx, EP)
    assert res.status == "failed" and "timed out" in (res.error or "")
    with dbctx.db.session() as s:
        assert [(lo.reason, lo.item_id) for lo in lineage.losses_of(s, "test-drama")] == [("step_failed", EP)]
    dbctx.params, dbctx.try_number = {}, 2
    res = run_step(_MarkStep(), dbctx, EP)
    assert res.status == "success" and res.counts == {"marked": 2}
    with dbctx.db.session() as s:
        assert lineage.losses_of(s, "test-drama") == []
        runs = list(s.scalars(select(StepRun).order_by(StepRun.id)))
        assert [(r.status, r.try_number, r.dag_run_id) for r in runs] == [("failed", 1, "manual__1"), ("success", 2, "manual__1")]
        assert runs[1].model_id == "mark-model" and runs[1].prompt_digest.startswith("sha256:")
        assert runs[1].duration_s is not None and runs[1].finished_at is not None


def test_bad_input_quarantines_the_episode(dbctx: StepContext) -> None:
    _seed(dbctx)
    dbctx.params = {"bad": True}
    res = run_step(_MarkStep(), dbctx, EP)
    assert res.status == "failed"
    with dbctx.db.session() as s:
        ep = s.get(Episode, EP)
        assert ep.status == "quarantined" and ep.error == "truncated: ends at frame 40 of 100"
        assert [(lo.item_kind, lo.reason) for lo in lineage.losses_of(s, "test-drama")] == [("episode", "truncated")]
    # later steps skip a quarantined episode instead of failing
    dbctx.params = {}
    assert run_step(_MarkStep(), dbctx, EP).status == "skipped"


def test_trace_goes_from_keyframe_to_source_steps_and_models(dbctx: StepContext) -> None:
    _seed(dbctx)
    dbctx.dag_run_id = "scheduled__2026-11-25"
    run_step(_MarkStep(), dbctx, EP)
    with dbctx.db.session() as s:
        t = lineage.trace_keyframe(s, ids.keyframe_id(EP, 50))
    assert t.keyframe["frame_index"] == 50
    assert t.shot["shot_index"] == 0
    assert t.episode["source_uri"] == "/videos/test/ep01.mp4"
    assert t.drama["id"] == "test-drama"
    assert t.source["uri"] == "/videos/test"
    assert [a["kind"] for a in t.annotations] == ["mark"]
    run = next(r for r in t.step_runs if r["id"] == t.annotations[0]["step_run_id"])
    assert (run["step"], run["step_version"], run["model_id"], run["weights_digest"], run["dag_run_id"]) == (
        "mark", "7", "mark-model", "sha256:abc", "scheduled__2026-11-25"
    )
    with pytest.raises(LookupError, match="no keyframe"):
        with dbctx.db.session() as s:
            lineage.trace_keyframe(s, "nope")


def test_deleting_an_episode_cascades(dbctx: StepContext) -> None:
    _seed(dbctx)
    with dbctx.db.session() as s:
        lineage.put_annotation(s, ids.keyframe_id(EP, 10), "ocr", {}, "x", None)
    with dbctx.db.session() as s:
        s.delete(s.get(Episode, EP))
    with dbctx.db.session() as s:
        assert s.scalars(select(Keyframe)).all() == [] and s.scalars(select(Annotation)).all() == []
        assert s.scalars(select(Loss)).all() == []


def test_another_run_holding_the_step_makes_this_one_busy_without_writes(dbctx: StepContext) -> None:
    from dataclasses import replace

    from skyscript.db import leases

    _seed(dbctx)
    with dbctx.db.session() as s:
        leases.acquire(s, "test-drama", EP, "mark", "scheduled__other-run", ttl_s=3600)
    mine = replace(dbctx, dag_run_id="manual__mine")
    res = run_step(_MarkStep(), mine, EP)
    assert res.status == "failed" and res.step_run_id is None
    assert res.error is not None and res.error.startswith("busy: run scheduled__other-run holds mark")
    with dbctx.db.session() as s:
        assert s.scalars(select(StepRun)).all() == [] and lineage.losses_of(s, "test-drama") == []
        assert lineage.annotation_of(s, ids.keyframe_id(EP, 10), "mark") is None
    with pytest.raises(leases.LeaseBusy):
        run_step(_MarkStep(), mine, EP, raise_errors=True)
    # the holder's own retry re-enters its lease; when it finishes the lease is gone
    other = replace(dbctx, dag_run_id="scheduled__other-run", try_number=2)
    assert run_step(_MarkStep(), other, EP).status == "success"
    with dbctx.db.session() as s:
        assert [le.step for le in leases.active(s, "test-drama")] == [leases.RUN]  # the step's lease is gone
    # the other run still holds the drama until it ends (its loss gate releases it): no interleaving
    assert run_step(_MarkStep(), mine, EP).error.startswith("busy: run scheduled__other-run holds the drama")  # type: ignore[union-attr]
    with dbctx.db.session() as s:
        leases.release(s, "test-drama", None, leases.RUN, "scheduled__other-run")
    assert run_step(_MarkStep(), mine, EP).status == "success"


def test_expired_lease_is_taken_over_and_failures_release_it(dbctx: StepContext) -> None:
    from dataclasses import replace

    from skyscript.db import leases

    _seed(dbctx)
    with dbctx.db.session() as s:
        leases.acquire(s, "test-drama", EP, "mark", "dead-run", ttl_s=-1)  # a worker that died long ago
    failing = replace(dbctx, dag_run_id="manual__2", params={"fail": True})
    res = run_step(_MarkStep(), failing, EP)
    assert res.status == "failed" and "timed out" in (res.error or "")
    with dbctx.db.session() as s:
        assert [le.step for le in leases.active(s, "test-drama")] == [leases.RUN]  # the step's, after a failure too
        leases.acquire(s, "test-drama", EP, "mark", "stuck-run", ttl_s=3600)
        assert leases.break_leases(s, "test-drama", step="mark") == 1


def test_the_same_lost_item_in_two_dramas_is_two_rows(dbctx: StepContext) -> None:
    """Loss rows are keyed per drama (migration 0006): one source unreachable from two dramas no
    longer moves its row from one drama to the other."""
    with dbctx.db.session() as s:
        for drama in ("alpha", "beta"):
            lineage.replace_losses(s, drama, "ingest", None, [LossRecord("source", "http://x/ep.mp4", "source_unreachable")], None)
        lineage.replace_losses(s, "alpha", "ingest", None, [LossRecord("source", "http://x/ep.mp4", "source_unreachable")], None)
    with dbctx.db.session() as s:
        assert [(lo.drama_id, lo.item_id) for lo in lineage.losses_of(s, "alpha")] == [("alpha", "http://x/ep.mp4")]
        assert [(lo.drama_id, lo.item_id) for lo in lineage.losses_of(s, "beta")] == [("beta", "http://x/ep.mp4")]
