from __future__ import annotations

import pytest

from skyscript.db import lineage
from skyscript.db.models import Source
from skyscript.orchestration.crawl import dramas_with_new_episodes, ingest_outcomes, merge_targets, scan_targets
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
