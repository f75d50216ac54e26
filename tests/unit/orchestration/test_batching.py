from __future__ import annotations

import pytest

from skyscript import ids
from skyscript.db import lineage
from skyscript.orchestration.batching import make_batches, plan_drama
from skyscript.context import StepContext


def test_batches_keep_order_and_size() -> None:
    eps = [f"d--e{i}" for i in range(7)]
    plan = make_batches(eps, 3)
    assert plan.batches == [["d--e0", "d--e1", "d--e2"], ["d--e3", "d--e4", "d--e5"], ["d--e6"]]
    assert plan.batch_size == 3 and plan.episodes == 7


def test_batch_size_grows_past_the_map_limit() -> None:
    eps = [f"d--e{i:05d}" for i in range(2500)]
    plan = make_batches(eps, 1, max_batches=1024)
    assert plan.batch_size == 3 and plan.requested_batch_size == 1
    assert len(plan.batches) == 834 <= 1024
    assert [e for b in plan.batches for e in b] == eps


def test_no_episodes_no_batches() -> None:
    assert make_batches([], 10).batches == []
    with pytest.raises(ValueError, match="at least 1"):
        make_batches(["a"], 0)


def test_plan_reads_the_dramas_episodes(ctx: StepContext) -> None:
    with ctx.db.session() as s:
        lineage.ensure_drama(s, "test-drama")
        lineage.ensure_drama(s, "other")
        for drama, name, status in [("test-drama", "b.mp4", "ok"), ("test-drama", "a.mp4", "quarantined"), ("other", "c.mp4", "ok")]:
            lineage.upsert_episode(s, id=ids.episode_id(drama, name), drama_id=drama, source_uri=name, source_name=name, status=status)
    plan = plan_drama(ctx.settings, "test-drama", batch_size=1)
    assert plan.batches == [["test-drama--a"], ["test-drama--b"]]
