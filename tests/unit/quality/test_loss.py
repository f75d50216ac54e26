"""The loss rate is computed from loss rows: what counts, what does not, and the gate."""

from __future__ import annotations

from skyscript import ids
from skyscript.db import lineage
from skyscript.losses import LossRecord
from skyscript.quality.loss import loss_report
from skyscript.context import StepContext


def _episode(ctx: StepContext, name: str, frames: int, status: str = "ok") -> str:
    ep = ids.episode_id(ctx.drama_id, name)
    with ctx.db.session() as s:
        lineage.ensure_drama(s, ctx.drama_id)
        lineage.upsert_episode(s, id=ep, drama_id=ctx.drama_id, source_uri=name, source_name=name, status=status)
        if frames:
            lineage.replace_shots(s, ep, [dict(id=ids.shot_id(ep, 0), episode_id=ep, shot_index=0, start_frame=0,
                                               end_frame=frames * 10, start_s=0.0, end_s=1.0)])
            lineage.replace_keyframes(s, ep, [dict(id=ids.keyframe_id(ep, i * 10), episode_id=ep, shot_id=ids.shot_id(ep, 0),
                                                   shot_index=0, frame_index=i * 10, timestamp_s=0.0) for i in range(frames)])
    return ep


def test_rate_counts_invalid_and_unrecovered_keyframes_once_and_not_dropped_objects(ctx: StepContext) -> None:
    ep = _episode(ctx, "ep01.mp4", 50)
    kf = [ids.keyframe_id(ep, i * 10) for i in range(50)]
    with ctx.db.session() as s:
        lineage.replace_losses(s, ctx.drama_id, "scan", ep, [LossRecord("keyframe", kf[0], "motion_blur")], None)
        lineage.replace_losses(s, ctx.drama_id, "keyinfo", ep, [
            LossRecord("annotation", kf[1], "unparseable_json"),
            LossRecord("annotation", kf[0], "vlm_failed"),  # the same keyframe again: counted once
            LossRecord("object", f"{kf[2]}#obj0", "hallucination"),
        ], None)
        r = loss_report(s, ctx.drama_id, 0.04)
    assert (r.keyframes, r.keyframes_lost) == (50, 2)
    assert r.keyframe_loss_rate == 0.04 and r.passed  # exactly at the threshold passes
    assert r.by_reason == {"motion_blur": 1, "unparseable_json": 1, "vlm_failed": 1, "hallucination": 1}
    with ctx.db.session() as s:
        lineage.replace_losses(s, ctx.drama_id, "text", ep, [LossRecord("keyframe", kf[3], "frame_unreadable")], None)
        r = loss_report(s, ctx.drama_id, 0.04)
    assert r.keyframes_lost == 3 and r.loss_rate == 0.06 and not r.passed


def test_quarantined_episodes_fail_the_gate_on_their_own(ctx: StepContext) -> None:
    for i in range(24):
        _episode(ctx, f"ep{i:02d}.mp4", 2)
    _episode(ctx, "broken.mp4", 0, status="quarantined")
    with ctx.db.session() as s:
        r = loss_report(s, ctx.drama_id, 0.04)
    assert (r.episodes, r.episodes_lost, r.keyframes_lost) == (25, 1, 0)
    assert r.episode_loss_rate == 0.04 and r.passed
    _episode(ctx, "broken2.mp4", 0, status="quarantined")
    with ctx.db.session() as s:
        r = loss_report(s, ctx.drama_id, 0.04)
    assert round(r.loss_rate, 4) == round(2 / 26, 4) and not r.passed
