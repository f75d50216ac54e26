"""The Great Expectations loss gate on real lineage rows (SQLite + local store)."""

from __future__ import annotations

import json
import re

import pytest

from skyscript import ids
from skyscript.db import lineage
from skyscript.losses import LossRecord
from skyscript.quality.gate import LossGateFailed, batch_losses, enforce, run_loss_gate
from skyscript.context import StepContext
from skyscript.store import Area

DRAMA = "test-drama"


def _drama(ctx: StepContext, episodes: int, keyframes_per_episode: int) -> list[str]:
    """Episodes with one shot each and ``keyframes_per_episode`` keyframes, all probed ok."""
    eps = []
    with ctx.db.session() as s:
        lineage.ensure_drama(s, DRAMA)
        for e in range(episodes):
            ep = ids.episode_id(DRAMA, f"ep{e:02d}.mp4")
            eps.append(ep)
            lineage.upsert_episode(s, id=ep, drama_id=DRAMA, source_uri=f"/x/ep{e:02d}.mp4", source_name=f"ep{e:02d}.mp4", status="ok")
            shot = ids.shot_id(ep, 0)
            lineage.replace_shots(s, ep, [{"id": shot, "episode_id": ep, "shot_index": 0, "start_frame": 0,
                                           "end_frame": 1000, "start_s": 0.0, "end_s": 40.0}])
            lineage.replace_keyframes(s, ep, [
                {"id": ids.keyframe_id(ep, f * 10), "episode_id": ep, "shot_id": shot, "shot_index": 0,
                 "frame_index": f * 10, "timestamp_s": f * 0.4}
                for f in range(keyframes_per_episode)
            ])
    return eps


def _step_run(ctx: StepContext, step: str, ep: str, status: str) -> int:
    with ctx.db.session() as s:
        run_id = lineage.start_step_run(s, step=step, step_version="1", drama_id=DRAMA, episode_id=ep, try_number=1)
        if status != "running":
            lineage.finish_step_run(s, run_id, status)
    return run_id


def _lose_keyframes(ctx: StepContext, ep: str, frames: list[int]) -> None:
    with ctx.db.session() as s:
        lineage.replace_losses(s, DRAMA, "quality", ep,
                               [LossRecord("keyframe", ids.keyframe_id(ep, f * 10), "motion_blur") for f in frames], None)


def test_gate_passes_at_the_threshold_and_keeps_the_report(ctx: StepContext) -> None:
    eps = _drama(ctx, episodes=2, keyframes_per_episode=50)
    _lose_keyframes(ctx, eps[0], [0, 1, 2, 3])  # 4 of 100 keyframes: exactly 4%
    for ep in eps:
        _step_run(ctx, "probe", ep, "success")
    result = enforce(run_loss_gate(ctx, batches=[[eps[0]], [eps[1]]], run_id="manual__2026-11-25T00:00:00+00:00"))
    assert result.passed and result.failures == []
    assert result.loss_rate == pytest.approx(0.04)
    assert result.report_key == "reports/test-drama/loss-gate/manual-2026-11-25t00-00-00-00-00.json"
    stored = json.loads(ctx.store.get_bytes(Area.public, result.report_key))
    latest = json.loads(ctx.store.get_bytes(Area.public, "reports/test-drama/loss-gate/latest.json"))
    assert stored == latest
    assert stored["passed"] is True
    assert stored["loss"]["keyframes"] == 100 and stored["loss"]["keyframes_lost"] == 4
    assert stored["validation"]["summary"]["success"] is True
    assert stored["validation"]["summary"]["results"][1]["expectation_config"]["kwargs"]["max_value"] == 0.04
    assert [(b["batch"], b["keyframes_lost"], b["loss_rate"]) for b in stored["batches"]] == [(0, 4, 0.08), (1, 0, 0.0)]


def test_gate_fails_above_the_threshold(ctx: StepContext) -> None:
    eps = _drama(ctx, episodes=2, keyframes_per_episode=50)
    _lose_keyframes(ctx, eps[1], [0, 1, 2, 3, 4])  # 5%
    result = run_loss_gate(ctx, run_id="r1")
    assert not result.passed
    assert result.loss_rate == pytest.approx(0.05)
    (failure,) = result.failures
    assert re.fullmatch(
        r"loss rate 5\.00% is above the 4\.00% limit \(0\.05 > 0\.04\): 5 of 100 keyframes and 0 of 2 episodes lost; "
        r"reasons: [a-z_]+ 5", failure), failure
    with pytest.raises(LossGateFailed, match="loss gate failed for drama test-drama"):
        enforce(result)
    # the same numbers pass under a looser threshold given by the run
    assert run_loss_gate(ctx, run_id="r2", max_loss_rate=0.05).passed


def test_quarantined_episode_counts_as_lost(ctx: StepContext) -> None:
    eps = _drama(ctx, episodes=20, keyframes_per_episode=1)
    with ctx.db.session() as s:
        lineage.upsert_episode(s, id=eps[3], drama_id=DRAMA, source_uri="/x", source_name="ep03.mp4",
                               status="quarantined", error="not_a_video: no stream")
    _step_run(ctx, "probe", eps[3], "failed")  # the quarantine itself: not a failed step
    result = run_loss_gate(ctx, run_id="r")
    assert result.loss_rate == pytest.approx(1 / 20)  # 5% of episodes
    assert result.episodes_with_failed_steps == 0
    assert not result.passed


def test_episode_with_failed_or_killed_step_fails_the_gate(ctx: StepContext) -> None:
    eps = _drama(ctx, episodes=3, keyframes_per_episode=5)
    _step_run(ctx, "probe", eps[0], "failed")
    _step_run(ctx, "probe", eps[0], "success")  # retried: latest attempt wins
    _step_run(ctx, "probe", eps[1], "running")  # killed, never finished
    _step_run(ctx, "probe", eps[2], "failed")
    result = run_loss_gate(ctx, run_id="r")
    assert result.loss_rate == 0.0
    assert not result.passed
    rows = {r["episode_id"]: r for r in result.report["episodes"]}
    assert [rows[e]["failed_steps"] for e in eps] == [0, 1, 1]
    assert rows[eps[1]]["failed_step_names"] == "probe"
    assert result.failures == [
        f"2 episode(s) with failed or unfinished steps: {eps[1]} (probe), {eps[2]} (probe); see `skyscript status --drama test-drama`"
    ]


def test_drama_without_episodes_fails(ctx: StepContext) -> None:
    result = run_loss_gate(ctx, run_id="r")
    assert not result.passed
    assert result.failures == ["drama test-drama has no episodes: ingest its sources first"]


def test_batch_losses_take_the_worse_rate() -> None:
    rows = [
        {"batch": 0, "quarantined": 1, "keyframes": 0, "keyframes_lost": 0},
        {"batch": 0, "quarantined": 0, "keyframes": 10, "keyframes_lost": 1},
        {"batch": 1, "quarantined": 0, "keyframes": 10, "keyframes_lost": 0},
    ]
    assert batch_losses(rows) == [
        {"batch": 0, "episodes": 2, "episodes_lost": 1, "keyframes": 10, "keyframes_lost": 1, "loss_rate": 0.5},
        {"batch": 1, "episodes": 1, "episodes_lost": 0, "keyframes": 10, "keyframes_lost": 0, "loss_rate": 0.0},
    ]


@pytest.mark.parametrize("lost, failed", [([], None), ([0, 1, 2, 3, 4], None), ([], "keyinfo")])
def test_status_and_run_share_one_gate_verdict(ctx: StepContext, lost: list[int], failed: str | None) -> None:
    """``skyscript status`` checks the same rules in Python that ``run_loss_gate`` validates with Great
    Expectations: the verdict and the failure texts agree, and a failed step fails both (a drama
    whose every episode failed showed a passing 0% loss before)."""
    from skyscript.quality.gate import _validate, _validate_python, check_gate, episode_rows

    eps = _drama(ctx, episodes=2, keyframes_per_episode=50)
    _lose_keyframes(ctx, eps[0], lost)
    for ep in eps:
        _step_run(ctx, "probe", ep, "success")
    if failed:
        _step_run(ctx, failed, eps[1], "failed")
    result = run_loss_gate(ctx, run_id="r")
    with ctx.db.session() as s:
        passed, failures = check_gate(s, DRAMA, 0.04)
        rows = episode_rows(s, DRAMA)
    assert (passed, failures) == (result.passed, result.failures)
    assert passed is (not lost and not failed)
    summary = {"loss_rate": result.loss_rate, "drama_id": DRAMA}
    gx, py = _validate(summary, rows, 0.04), _validate_python(summary, rows, 0.04)
    assert {k: [r["success"] for r in v["results"]] for k, v in gx.items()} == {
        k: [r["success"] for r in v["results"]] for k, v in py.items()
    }
    if failed:
        assert any("failed or unfinished steps" in f and eps[1] in f for f in failures)
