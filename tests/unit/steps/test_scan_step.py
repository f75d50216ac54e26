"""The scan step on the embedded default: shot and keyframe rows, private JPEGs, loss rows for
invalid keyframes, an idempotent re-run, and a truncated episode quarantined."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
from fixtures.clips import clip_dir, episode_clip_file  # noqa: F401
from fixtures.videos import Clip, truncated_copy
from sqlalchemy import select

from skyscript.db import lineage
from skyscript.db.models import Episode, Keyframe, Loss, Shot
from skyscript.context import StepContext
from skyscript.steps.ingest import IngestStep
from skyscript.steps.probe import ProbeStep
from skyscript.steps.runner import run_step
from skyscript.steps.scan import ScanStep
from skyscript.store import Area


def _ingest(ctx: StepContext, folder: Path) -> list[str]:
    ctx.params = {"sources": [str(folder)]}
    assert run_step(IngestStep(), ctx).status == "success"
    ctx.params = {}
    with ctx.db.session() as s:
        eps = [e.id for e in lineage.episodes_of(s, ctx.drama_id)]
    for ep in eps:
        run_step(ProbeStep(), ctx, ep)
    return eps


def _ingest_clip(ctx: StepContext, clip: Clip, tmp_path: Path) -> str:
    """Ingest and probe the clip as the drama's only episode ``ep01``."""
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(clip.path, src / "ep01.avi")
    (ep,) = _ingest(ctx, src)
    return ep


def _rows(ctx: StepContext, ep: str) -> dict[str, object]:
    with ctx.db.session() as s:
        return {
            "shots": sorted(s.execute(select(Shot.id, Shot.start_frame, Shot.end_frame, Shot.transition_in,
                                             Shot.camera_movement).where(Shot.episode_id == ep)).all()),
            "keyframes": sorted(s.execute(select(Keyframe.id, Keyframe.valid, Keyframe.invalid_reason,
                                                 Keyframe.private_digest).where(Keyframe.episode_id == ep)).all()),
            "losses": sorted(s.execute(select(Loss.item_kind, Loss.item_id, Loss.reason).where(
                Loss.episode_id == ep, Loss.step == "scan")).all()),
        }


def test_scan_writes_shots_keyframes_losses_and_reruns_idempotently(
    ctx: StepContext, episode_clip_file: Clip, tmp_path: Path
) -> None:
    ep = _ingest_clip(ctx, episode_clip_file, tmp_path)
    res = run_step(ScanStep(), ctx, ep)
    assert res.status == "success", res.error
    assert res.counts["shots"] == 6 and res.counts["keyframes"] == 6 and res.counts["invalid_keyframes"] == 1
    first = _rows(ctx, ep)
    with ctx.db.session() as s:
        shots = lineage.shots_of(s, ep)
        assert [sh.id for sh in shots] == [f"{ep}--s{i:04d}" for i in range(6)]
        assert [sh.transition_in for sh in shots] == episode_clip_file.transitions
        assert [sh.camera_movement for sh in shots] == episode_clip_file.cameras
        assert shots[1].camera_speed is not None and abs(shots[1].camera_speed - 3 * 24 / 256) < 0.03
        assert shots[0].start_frame == 0 and shots[-1].end_frame == episode_clip_file.frames
        assert all(a.end_frame == b.start_frame for a, b in zip(shots, shots[1:]))
        assert shots[2].extra["transition_span"] is not None
        kfs = lineage.keyframes_of(s, ep)
        for kf in kfs:
            sh = shots[kf.shot_index]
            assert sh.start_frame <= kf.frame_index < sh.end_frame and kf.shot_id == sh.id
            assert kf.id == f"{ep}--f{kf.frame_index:07d}"
            assert abs(kf.timestamp_s - kf.frame_index / 24.0) < 1e-6
            assert kf.private_key == f"frames/test-drama/{ep}/s{kf.shot_index:04d}/f{kf.frame_index:07d}.jpg"
            img = cv2.imdecode(np.frombuffer(ctx.store.get_bytes(Area.private, kf.private_key), np.uint8), cv2.IMREAD_COLOR)
            assert img.shape == (144, 256, 3)
        bad = [k for k in kfs if not k.valid]
        assert [(k.shot_index, k.invalid_reason) for k in bad] == [(5, "motion_blur")]
        losses = s.scalars(select(Loss).where(Loss.step == "scan")).all()
        assert [(l.item_kind, l.item_id, l.reason) for l in losses] == [("keyframe", bad[0].id, "motion_blur")]
    ctx.force = True  # really redo it (an unchanged step is skipped otherwise)
    again = run_step(ScanStep(), ctx, ep)
    assert again.status == "success" and again.counts == res.counts
    assert _rows(ctx, ep) == first
    assert len(list(ctx.store.list(Area.private, f"frames/test-drama/{ep}/"))) == 6


def test_truncated_episode_is_quarantined(ctx: StepContext, sample_media: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    truncated_copy(sample_media / "Megamind.avi", src / "ep09.avi", keep=0.4)
    (ep,) = _ingest(ctx, src)
    res = run_step(ScanStep(), ctx, ep)
    assert res.status == "failed"
    with ctx.db.session() as s:
        e = s.get(Episode, ep)
        assert e.status == "quarantined" and e.error.startswith("truncated:")
        loss = s.scalars(select(Loss).where(Loss.step == "scan")).one()
        assert (loss.item_kind, loss.item_id, loss.reason) == ("episode", ep, "truncated")
        assert lineage.shots_of(s, ep) == []


def test_rerun_with_fewer_keyframes_removes_their_private_and_published_frames(
    ctx: StepContext, episode_clip_file: Clip, tmp_path: Path
) -> None:
    ep = _ingest_clip(ctx, episode_clip_file, tmp_path)
    ctx.settings.scan.keyframes_per_shot = 2
    assert run_step(ScanStep(), ctx, ep).status == "success"
    with ctx.db.session() as s:
        before = {k.private_key for k in lineage.keyframes_of(s, ep)}
    for key in before:  # what the privacy step would have published
        ctx.store.put_bytes(Area.public, key, b"masked")
    ctx.settings.scan.keyframes_per_shot = 1
    assert run_step(ScanStep(), ctx, ep).status == "success"
    with ctx.db.session() as s:
        after = {k.private_key for k in lineage.keyframes_of(s, ep)}
    gone = before - after
    assert len(after) < len(before) and gone
    for key in gone:
        assert not ctx.store.exists(Area.private, key) and not ctx.store.exists(Area.public, key)
    for key in after:
        assert ctx.store.exists(Area.private, key)
