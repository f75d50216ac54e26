"""Export of published frames: a re-export after the frame was re-masked ships the new copy."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from skyscript import ids
from skyscript.db import lineage
from skyscript.export import export_drama
from skyscript.context import StepContext
from skyscript.store import Area


def test_reexport_replaces_a_frame_whose_published_copy_changed(ctx: StepContext, tmp_path: Path) -> None:
    ep = ids.episode_id(ctx.drama_id, "ep01.mp4")
    key = ids.Keys(ctx.drama_id).frame(ep, 0, 5)
    with ctx.db.session() as s:
        lineage.ensure_drama(s, ctx.drama_id)
        lineage.upsert_episode(s, id=ep, drama_id=ctx.drama_id, source_uri="ep01.mp4", source_name="ep01.mp4", status="ok")
        lineage.replace_shots(s, ep, [dict(id=ids.shot_id(ep, 0), episode_id=ep, shot_index=0, start_frame=0,
                                           end_frame=10, start_s=0.0, end_s=0.4)])
        first = ctx.store.put_bytes(Area.public, key, b"mask v1", "image/jpeg")
        lineage.replace_keyframes(s, ep, [dict(id=ids.keyframe_id(ep, 5), episode_id=ep, shot_id=ids.shot_id(ep, 0),
                                               shot_index=0, frame_index=5, timestamp_s=0.2, public_key=key,
                                               public_digest=first.digest)])
    out = tmp_path / "export"
    export_drama(ctx, out, with_frames=True)
    (row,) = pq.read_table(out / "keyframes.parquet").to_pylist()
    assert (out / row["frame_file"]).read_bytes() == b"mask v1"
    second = ctx.store.put_bytes(Area.public, key, b"mask v2, re-masked", "image/jpeg")
    with ctx.db.session() as s:
        lineage.update_keyframe(s, ids.keyframe_id(ep, 5), public_digest=second.digest)
    export_drama(ctx, out, with_frames=True)
    assert (out / row["frame_file"]).read_bytes() == b"mask v2, re-masked"
    assert not ctx.store.exists(Area.private, key)  # nothing was read from or written to the private area
