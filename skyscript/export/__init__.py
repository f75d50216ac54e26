"""Export a drama's dataset files: Parquet tables whose column names are the users' contract,
and with ``--frames`` the published (privacy-masked) JPEGs. Files are written into a staging
folder and moved into place at the end; a re-export replaces the previous export's files and
nothing else (:mod:`skyscript.export.folder`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from skyscript.db import lineage
from skyscript.context import StepContext
from skyscript.export.card import write_card
from skyscript.export.folder import ExportFolder
from skyscript.export.scripts import write_scripts_and_pairs
from skyscript.export.webdataset import write_webdataset
from skyscript.store import Area

EPISODE_SCHEMA = pa.schema([
    ("episode_id", pa.string()), ("source_name", pa.string()), ("status", pa.string()), ("error", pa.string()),
    ("fps", pa.float64()), ("frame_count", pa.int64()), ("width", pa.int64()), ("height", pa.int64()),
    ("duration_s", pa.float64()), ("codec", pa.string()), ("content_digest", pa.string()),
])
SHOT_SCHEMA = pa.schema([
    ("episode_id", pa.string()), ("shot_index", pa.int64()), ("start_frame", pa.int64()), ("end_frame", pa.int64()),
    ("start_s", pa.float64()), ("end_s", pa.float64()), ("transition_in", pa.string()),
    ("camera_movement", pa.string()), ("camera_speed", pa.float64()),
])
KEYFRAME_FIELDS = [
    ("episode_id", pa.string()), ("shot_index", pa.int64()), ("frame_index", pa.int64()), ("keyframe_id", pa.string()),
    ("timestamp_s", pa.float64()), ("valid", pa.bool_()), ("invalid_reason", pa.string()), ("shot_type", pa.string()),
    ("text_area_ratio", pa.float64()), ("has_subtitle", pa.bool_()), ("face_count", pa.int64()),
    ("sharpness", pa.float64()), ("public_digest", pa.string()),
]


def _write(rows: list[dict[str, Any]], schema: pa.Schema, path: Path) -> int:
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, path)
    return table.num_rows


def export_drama(ctx: StepContext, out: Path, with_frames: bool = False) -> dict[str, int]:
    """Write the drama's dataset into ``out``; returns file (or folder) name -> rows. Files of an
    earlier export into ``out`` that this one does not write are removed; other files stay."""
    folder = ExportFolder(out)
    try:
        written = _write_all(ctx, folder, with_frames)
    except BaseException:
        folder.abort()  # the previous export stays as it was
        raise
    folder.commit()
    return written


def _write_all(ctx: StepContext, folder: ExportFolder, with_frames: bool) -> dict[str, int]:
    out = folder.stage
    written: dict[str, int] = {}
    ep_rows: list[dict[str, Any]] = []
    shot_rows: list[dict[str, Any]] = []
    kf_rows: list[dict[str, Any]] = []
    with ctx.db.session() as s:
        for ep in lineage.episodes_of(s, ctx.drama_id):
            ep_rows.append({
                "episode_id": ep.id, "source_name": ep.source_name,
                "status": "quarantined" if ep.status == "quarantined" else ("ok" if ep.status == "ok" else ep.status),
                "error": ep.error, "fps": ep.fps, "frame_count": ep.frame_count, "width": ep.width, "height": ep.height,
                "duration_s": ep.duration_s, "codec": ep.codec, "content_digest": ep.content_digest,
            })
            for sh in lineage.shots_of(s, ep.id):
                shot_rows.append({
                    "episode_id": ep.id, "shot_index": sh.shot_index, "start_frame": sh.start_frame, "end_frame": sh.end_frame,
                    "start_s": sh.start_s, "end_s": sh.end_s, "transition_in": sh.transition_in,
                    "camera_movement": sh.camera_movement, "camera_speed": sh.camera_speed,
                })
            for kf in lineage.keyframes_of(s, ep.id):
                row = {
                    "episode_id": ep.id, "shot_index": kf.shot_index, "frame_index": kf.frame_index, "keyframe_id": kf.id,
                    "timestamp_s": kf.timestamp_s, "valid": kf.valid, "invalid_reason": kf.invalid_reason,
                    "shot_type": kf.shot_type, "text_area_ratio": kf.text_area_ratio, "has_subtitle": kf.has_subtitle,
                    "face_count": kf.face_count, "sharpness": kf.sharpness, "public_digest": kf.public_digest,
                }
                if with_frames:
                    row["frame_file"] = _write_frame(ctx, folder, kf.public_key, kf.public_digest)
                kf_rows.append(row)
        loss_rows = [
            {"episode_id": lo.episode_id, "item_kind": lo.item_kind, "item_id": lo.item_id, "step": lo.step,
             "reason": lo.reason, "detail": lo.detail}
            for lo in lineage.losses_of(s, ctx.drama_id)
        ]
    written["episodes.parquet"] = _write(ep_rows, EPISODE_SCHEMA, out / "episodes.parquet")
    written["shots.parquet"] = _write(shot_rows, SHOT_SCHEMA, out / "shots.parquet")
    kf_fields = KEYFRAME_FIELDS + ([("frame_file", pa.string())] if with_frames else [])
    written["keyframes.parquet"] = _write(kf_rows, pa.schema(kf_fields), out / "keyframes.parquet")
    written["losses.parquet"] = _write(
        loss_rows,
        pa.schema([(k, pa.string()) for k in ("episode_id", "item_kind", "item_id", "step", "reason", "detail")]),
        out / "losses.parquet",
    )
    from skyscript.export.keyinfo import write_keyinfo_parquet

    written["keyinfo.parquet"] = write_keyinfo_parquet(ctx, out / "keyinfo.parquet")
    from skyscript.export.scene import write_scene_tables

    written.update(write_scene_tables(ctx, out))
    written.update(write_scripts_and_pairs(ctx, out))
    written.update(write_webdataset(ctx, out))
    written.update(write_card(ctx, out, written, kept=folder.kept))
    return written


def _write_frame(ctx: StepContext, folder: ExportFolder, public_key: str | None, public_digest: str | None) -> str | None:
    """Copy a published frame into the export; unmasked frames never leave the private area.
    A copy an earlier export left in place is kept only when its digest is the keyframe's current
    one (a re-run of the privacy step may have re-masked it)."""
    if not public_key:
        return None
    rel = (Path("frames") / public_key.removeprefix("frames/")).as_posix()
    if folder.is_current(rel, public_digest):
        folder.keep(rel)
    else:
        ctx.store.get_file(Area.public, public_key, folder.stage / rel)
    return rel
