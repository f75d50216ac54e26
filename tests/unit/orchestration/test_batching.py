from __future__ import annotations

import pytest

from skyscript import ids
from skyscript.context import StepContext
from skyscript.db import lineage
from skyscript.db.models import Episode
from skyscript.orchestration.batching import DEFAULT_MAX_MAP_LENGTH, batch_limit, make_batches, plan_drama
from skyscript.orchestration.config import OrchestrationSettings


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


def test_batch_limit_is_the_platform_bound_within_airflows() -> None:
    assert batch_limit(256, 1024) == 256
    assert batch_limit(5000, 1024) == 1024  # never past Airflow's [core] max_map_length
    with pytest.raises(ValueError, match="at least 1"):
        batch_limit(0, 1024)


def _register(ctx: StepContext, drama: str, n: int) -> list[str]:
    eps = [f"{drama}--ep{i:05d}" for i in range(n)]
    with ctx.db.session() as s:
        lineage.ensure_drama(s, drama)
        lineage.upsert(s, Episode, [{"id": e, "drama_id": drama, "source_uri": f"/v/{e}.mp4", "source_name": f"{e}.mp4",
                                     "status": "pending"} for e in eps], ["id"])
    return eps


@pytest.mark.parametrize(("episodes", "requested", "batches", "size"), [
    (1_000, 50, 20, 50),  # the default batch size: 20 batches of 50
    (1_000, 1, 250, 4),  # one per batch would be 1,000 mapped instances per step: grown to 4
    (10_000, 50, 200, 50),
    (10_000, 1, 250, 40),  # 10,000 episodes stay within the 256-batch bound
    (10_000, 1_000, 10, 1_000),
])
def test_long_dramas_map_a_bounded_number_of_batches(ctx: StepContext, episodes: int, requested: int, batches: int,
                                                     size: int) -> None:
    orch = OrchestrationSettings()
    limit = batch_limit(orch.max_batches, DEFAULT_MAX_MAP_LENGTH)
    assert limit == 256
    eps = _register(ctx, "long-drama", episodes)
    _register(ctx, "other-drama", 3)
    plan = plan_drama(ctx.settings, "long-drama", requested, limit)
    assert len(plan.batches) == batches <= limit
    assert plan.batch_size == size and max(len(b) for b in plan.batches) == size
    flat = [e for b in plan.batches for e in b]
    assert flat == eps  # every episode once, in id order, no other drama's
    assert plan.episodes == episodes
