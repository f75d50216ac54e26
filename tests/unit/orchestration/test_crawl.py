from __future__ import annotations

from datetime import datetime, timezone

import pytest

from skyscript.db import lineage
from skyscript.db.models import Source
from skyscript.orchestration.crawl import (
    CrawlTarget,
    dramas_with_new_episodes,
    group_targets,
    ingest_outcomes,
    merge_targets,
    scan_targets,
)
from skyscript.context import StepContext


def test_scan_merges_source_table_and_configured_sources(ctx: StepContext) -> None:
    with ctx.db.session() as s:
        lineage.register_source(s, "s1", "/videos/a /videos/b", "file", "drama-a")
        lineage.register_source(s, "s2", "/videos/c", "file", None)  # no drama: not crawled
        lineage.register_source(s, "s3", "/videos/d", "file", "drama-b")
        s.get(Source, "s3").enabled = False  # type: ignore[union-attr]
    targets = scan_targets(ctx.settings, {"drama-a": ["/videos/b", "/videos/e"], "drama-c": ["s3://bucket/x"]})
    assert [t.as_dict() for t in targets] == [
        {"drama": "drama-a", "sources": ["/videos/a", "/videos/b", "/videos/e"]},
        {"drama": "drama-c", "sources": ["s3://bucket/x"]},
    ]
    with ctx.db.session() as s:
        assert s.get(Source, "s1").last_scanned_at is not None  # type: ignore[union-attr]
    assert [t.drama for t in scan_targets(ctx.settings, {"drama-c": ["x"]}, include_registered=False)] == ["drama-c"]


def test_bad_drama_id_is_refused() -> None:
    with pytest.raises(ValueError, match="not valid"):
        merge_targets([("Bad Drama", "/x")])


def test_new_episodes_and_outcomes_come_from_ingest_step_runs(ctx: StepContext) -> None:
    with ctx.db.session() as s:
        for drama, status, new in [("a", "success", 2), ("b", "success", 0), ("c", "failed", 0)]:
            rid = lineage.start_step_run(s, step="ingest", step_version="1", drama_id=drama, dag_run_id="crawl-1")
            lineage.finish_step_run(s, rid, status, counts={"new": new})
        rid = lineage.start_step_run(s, step="ingest", step_version="1", drama_id="d", dag_run_id="other-run")
        lineage.finish_step_run(s, rid, "success", counts={"new": 1})
    assert dramas_with_new_episodes(ctx.settings, "crawl-1", ["a", "b", "c", "d"]) == ["a"]
    assert ingest_outcomes(ctx.settings, "crawl-1", ["a", "b", "c", "d"]) == {"a": True, "b": True, "c": False, "d": False}


def test_dramas_share_a_bounded_number_of_ingest_tasks() -> None:
    targets = [CrawlTarget(f"d{i:04d}", (f"/videos/d{i:04d}",)) for i in range(6_660)]  # the paper's corpus
    groups = group_targets(targets, 64)
    assert len(groups) == 64
    assert {len(g) for g in groups} == {104, 105}  # near-equal: 6,660 = 64 x 104 + 4
    assert [t for g in groups for t in g] == targets  # every drama once, in order
    assert group_targets(targets[:3], 64) == [[targets[0]], [targets[1]], [targets[2]]]
    assert group_targets([], 64) == []
    with pytest.raises(ValueError, match="at least 1"):
        group_targets(targets, 0)


def test_a_crawl_takes_a_bounded_number_of_dramas_stalest_first(ctx: StepContext) -> None:
    with ctx.db.session() as s:
        for i in range(5):
            lineage.register_source(s, f"src{i}", f"/videos/d{i}", "file", f"d{i}")
        lineage.register_source(s, "src0b", "/videos/d0-more", "file", "d0")
        s.get(Source, "src1").last_scanned_at = datetime(2026, 1, 1, tzinfo=timezone.utc)  # type: ignore[union-attr]
        for sid in ("src2", "src3"):
            s.get(Source, sid).last_scanned_at = datetime(2026, 6, 1, tzinfo=timezone.utc)  # type: ignore[union-attr]
        s.get(Source, "src4").last_scanned_at = datetime(2026, 3, 1, tzinfo=timezone.utc)  # type: ignore[union-attr]
    # the configured drama first, then never scanned (d0), then the oldest scans
    got = scan_targets(ctx.settings, {"extra": ["/videos/x"]}, max_dramas=4)
    assert [t.as_dict() for t in got] == [
        {"drama": "d0", "sources": ["/videos/d0", "/videos/d0-more"]},
        {"drama": "d1", "sources": ["/videos/d1"]},
        {"drama": "d4", "sources": ["/videos/d4"]},
        {"drama": "extra", "sources": ["/videos/x"]},
    ]
    # the next crawl takes the ones left out first
    assert [t.drama for t in scan_targets(ctx.settings, {}, max_dramas=2)] == ["d2", "d3"]
