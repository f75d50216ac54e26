"""Export of the scene-understanding outputs: the character library and who is who per keyframe,
poses (AlphaPose layout: 51 numbers, x y score per COCO keypoint), 3D layout rows, and the
highlight curve (per keyframe, per shot, per episode), plus per episode ``highlight/<episode>.parquet``
and a plot ``highlight/<episode>.png``.

The plot is drawn with OpenCV (already in every image; matplotlib would be a new dependency of
the CPU image for one chart).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from skyscript.context import StepContext
from skyscript.db.models import Annotation, Character, Episode, Keyframe, Shot

CHARACTER_SCHEMA = pa.schema([
    ("character_id", pa.string()), ("name", pa.string()), ("name_source", pa.string()), ("age_group", pa.string()),
    ("age_source", pa.string()), ("gender", pa.string()), ("gender_source", pa.string()),
    ("first_keyframe_id", pa.string()), ("appearances", pa.int64()), ("episodes", pa.int64()),
])
_BASE = [("episode_id", pa.string()), ("keyframe_id", pa.string()), ("shot_index", pa.int64()), ("frame_index", pa.int64())]
APPEARANCE_SCHEMA = pa.schema(_BASE + [
    ("person", pa.int64()), ("character_id", pa.string()), ("name", pa.string()), ("name_source", pa.string()),
    ("confidence", pa.float64()), ("evidence", pa.string()), ("unassigned_reason", pa.string()),
])
POSE_SCHEMA = pa.schema(_BASE + [
    ("person", pa.int64()), ("keypoints", pa.list_(pa.float64())), ("box", pa.list_(pa.float64())),
    ("score", pa.float64()), ("posture", pa.string()), ("backend", pa.string()),
])
LAYOUT_SCHEMA = pa.schema(_BASE + [
    ("kind", pa.string()), ("item_index", pa.int64()), ("camera_x_cm", pa.float64()), ("camera_y_cm", pa.float64()),
    ("camera_z_cm", pa.float64()), ("world_x_cm", pa.float64()), ("world_y_cm", pa.float64()), ("world_z_cm", pa.float64()),
    ("path", pa.string()), ("scale_cue", pa.string()), ("camera_height_cm", pa.float64()), ("flags", pa.string()),
])
HIGHLIGHT_SCHEMA = pa.schema(_BASE + [
    ("timestamp_s", pa.float64()), ("score", pa.float64()), ("raw", pa.float64()), ("components", pa.string()),
    ("formula", pa.string()),
])
SHOT_HIGHLIGHT_SCHEMA = pa.schema([("episode_id", pa.string()), ("shot_index", pa.int64()), ("start_s", pa.float64()),
                                   ("end_s", pa.float64()), ("score", pa.float64()), ("peak", pa.float64())])
EPISODE_HIGHLIGHT_SCHEMA = pa.schema([("episode_id", pa.string()), ("score", pa.float64()), ("peak", pa.float64()),
                                      ("keyframes", pa.int64())])


def _current(ctx: StepContext, kind: str) -> Iterator[tuple[Annotation, Keyframe]]:
    with ctx.db.session() as s:
        q = (
            select(Annotation, Keyframe)
            .join(Keyframe, Annotation.keyframe_id == Keyframe.id)
            .join(Episode, Keyframe.episode_id == Episode.id)
            .where(Episode.drama_id == ctx.drama_id, Annotation.kind == kind, Annotation.current.is_(True))
            .order_by(Keyframe.episode_id, Keyframe.frame_index)
        )
        rows = [(a, k) for a, k in s.execute(q)]
        s.expunge_all()
    yield from rows


def _base(kf: Keyframe) -> dict[str, Any]:
    return {"episode_id": kf.episode_id, "keyframe_id": kf.id, "shot_index": kf.shot_index, "frame_index": kf.frame_index}


def _write(rows: list[dict[str, Any]], schema: pa.Schema, path: Path) -> int:
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, path)
    return table.num_rows


def write_scene_tables(ctx: StepContext, out: Path) -> dict[str, int]:
    """Write the scene tables into ``out``; returns file name -> rows."""
    written: dict[str, int] = {}
    with ctx.db.session() as s:
        chars = [{"character_id": c.id, "name": c.name, "name_source": c.name_source, "age_group": c.age_group,
                  "age_source": c.age_source, "gender": c.gender, "gender_source": c.gender_source,
                  "first_keyframe_id": c.first_keyframe_id, "appearances": c.appearances, "episodes": c.episodes}
                 for c in s.scalars(select(Character).where(Character.drama_id == ctx.drama_id).order_by(Character.id))]
        shots = [(sh.episode_id, sh.shot_index, sh.start_s, sh.end_s, dict(sh.extra or {}))
                 for sh in s.scalars(select(Shot).join(Episode, Shot.episode_id == Episode.id)
                                     .where(Episode.drama_id == ctx.drama_id).order_by(Shot.episode_id, Shot.shot_index))]
    written["characters.parquet"] = _write(chars, CHARACTER_SCHEMA, out / "characters.parquet")

    appearances = []
    for ann, kf in _current(ctx, "characters"):
        for p in ann.payload.get("people", []):
            appearances.append({**_base(kf), "person": p["person"], "character_id": p["character_id"], "name": p["name"],
                                "name_source": p["name_source"], "confidence": p["confidence"], "evidence": p.get("evidence"),
                                "unassigned_reason": None})
        for u in ann.payload.get("unassigned", []):
            appearances.append({**_base(kf), "person": u["person"], "character_id": None, "name": None, "name_source": None,
                                "confidence": None, "evidence": None, "unassigned_reason": u["reason"]})
    written["character_appearances.parquet"] = _write(appearances, APPEARANCE_SCHEMA, out / "character_appearances.parquet")

    poses = []
    for ann, kf in _current(ctx, "pose"):
        for p in ann.payload.get("people", []):
            poses.append({**_base(kf), "person": p["person"], "keypoints": [float(v) for k in p["keypoints"] for v in k],
                          "box": [float(v) for v in p["box"]], "score": p["score"], "posture": p["posture"],
                          "backend": ann.payload.get("backend")})
    written["poses.parquet"] = _write(poses, POSE_SCHEMA, out / "poses.parquet")

    layout = []
    for ann, kf in _current(ctx, "layout"):
        pl = ann.payload
        flags = json.dumps(pl.get("flags", []))
        for kind, key, items in (("person", "person", pl.get("people", [])), ("object", "object", pl.get("objects", []))):
            for it in items:
                c, w = it["camera_xyz_cm"], it["world_xyz_cm"]
                layout.append({**_base(kf), "kind": kind, "item_index": it[key], "camera_x_cm": c[0], "camera_y_cm": c[1],
                               "camera_z_cm": c[2], "world_x_cm": w[0], "world_y_cm": w[1], "world_z_cm": w[2],
                               "path": it["path"], "scale_cue": it.get("scale_cue"),
                               "camera_height_cm": pl["camera_height_cm"], "flags": flags})
    written["layout.parquet"] = _write(layout, LAYOUT_SCHEMA, out / "layout.parquet")

    curve: dict[str, list[dict[str, Any]]] = {}
    for ann, kf in _current(ctx, "highlight"):
        h = ann.payload
        curve.setdefault(kf.episode_id, []).append({**_base(kf), "timestamp_s": kf.timestamp_s, "score": h["score"],
                                                    "raw": h["raw"], "components": json.dumps(h["components"], sort_keys=True),
                                                    "formula": h["formula"]})
    all_rows = [r for ep in sorted(curve) for r in sorted(curve[ep], key=lambda r: r["timestamp_s"])]
    written["highlight.parquet"] = _write(all_rows, HIGHLIGHT_SCHEMA, out / "highlight.parquet")
    shot_rows = [{"episode_id": ep, "shot_index": i, "start_s": a, "end_s": b, "score": x["highlight"]["score"],
                  "peak": x["highlight"]["peak"]} for ep, i, a, b, x in shots if "highlight" in x]
    written["highlight_shots.parquet"] = _write(shot_rows, SHOT_HIGHLIGHT_SCHEMA, out / "highlight_shots.parquet")
    ep_rows = [{"episode_id": ep, "score": round(sum(r["score"] for r in rows) / len(rows), 2),
                "peak": max(r["score"] for r in rows), "keyframes": len(rows)} for ep, rows in sorted(curve.items())]
    written["highlight_episodes.parquet"] = _write(ep_rows, EPISODE_HIGHLIGHT_SCHEMA, out / "highlight_episodes.parquet")
    folder = out / "highlight"
    for ep, rows in sorted(curve.items()):
        folder.mkdir(exist_ok=True)
        rows = sorted(rows, key=lambda r: r["timestamp_s"])
        written[f"highlight/{ep}.parquet"] = _write(rows, HIGHLIGHT_SCHEMA, folder / f"{ep}.parquet")
        cuts = [a for e, i, a, _, _ in shots if e == ep and i > 0]
        (folder / f"{ep}.png").write_bytes(plot_curve(ep, [r["timestamp_s"] for r in rows], [r["score"] for r in rows],
                                                      [r["raw"] for r in rows], cuts))
        written[f"highlight/{ep}.png"] = len(rows)
    return written


def plot_curve(title: str, t: list[float], score: list[float], raw: list[float], cuts: list[float],
               size: tuple[int, int] = (960, 320), top: float = 5.0) -> bytes:
    """A PNG of the highlight curve: smoothed score (red), raw (grey), shot cuts (dashed blue)."""
    import cv2
    import numpy as np

    w, h = size
    left, right, upper, lower = 48, 16, 28, 32
    img = np.full((h, w, 3), 255, np.uint8)
    t_end = max(t + cuts + [1e-6])

    def xy(ts: float, v: float) -> tuple[int, int]:
        return (int(left + (w - left - right) * ts / t_end), int(h - lower - (h - upper - lower) * min(v, top) / top))

    for v in range(int(top) + 1):
        y = xy(0, v)[1]
        cv2.line(img, (left, y), (w - right, y), (230, 230, 230), 1)
        cv2.putText(img, str(v), (left - 18, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (80, 80, 80), 1, cv2.LINE_AA)
    for c in cuts:
        x = xy(c, 0)[0]
        for y in range(upper, h - lower, 8):
            cv2.line(img, (x, y), (x, min(y + 4, h - lower)), (200, 120, 40), 1)
    for values, colour, width in ((raw, (170, 170, 170), 1), (score, (40, 40, 220), 2)):
        pts = np.array([xy(a, b) for a, b in zip(t, values)], np.int32)
        if len(pts) > 1:
            cv2.polylines(img, [pts], False, colour, width, cv2.LINE_AA)
        elif len(pts) == 1:
            cv2.circle(img, tuple(int(v) for v in pts[0]), 3, colour, -1)
    cv2.line(img, (left, h - lower), (w - right, h - lower), (0, 0, 0), 1)
    cv2.line(img, (left, upper), (left, h - lower), (0, 0, 0), 1)
    cv2.putText(img, f"highlight {title}", (left, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, f"{t_end:.1f} s", (w - right - 50, h - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    ok, buf = cv2.imencode(".png", img)
    if not ok:  # pragma: no cover
        raise ValueError("could not encode the highlight plot")
    return buf.tobytes()
