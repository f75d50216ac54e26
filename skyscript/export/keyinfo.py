"""Export of key information: one row per object or person of every current ``keyinfo``
annotation of a drama (``keyinfo.parquet``). ``source`` says where the row's main content came
from (``vlm`` for the VLM path, the face model or detector for offline rows); ``sources`` (JSON)
names the producer of every single field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from skyscript.db.models import Annotation, Episode, Keyframe
from skyscript.keyinfo.schema import KeyInfo
from skyscript.context import StepContext

KEYINFO_SCHEMA = pa.schema([
    ("episode_id", pa.string()), ("keyframe_id", pa.string()), ("shot_index", pa.int64()), ("frame_index", pa.int64()),
    ("kind", pa.string()), ("item_index", pa.int64()), ("origin", pa.string()), ("source", pa.string()),
    ("type", pa.string()), ("description", pa.string()), ("shot_type", pa.string()),
    ("box", pa.list_(pa.int64())), ("score", pa.float64()), ("verified", pa.bool_()),
    ("age", pa.string()), ("age_years", pa.float64()), ("gender", pa.string()), ("looks", pa.string()),
    ("emotion", pa.string()), ("emotion_basic", pa.string()), ("valence", pa.int64()), ("arousal", pa.int64()),
    ("dominance", pa.int64()), ("temperament", pa.string()), ("attractiveness", pa.int64()), ("race", pa.string()),
    ("face_box", pa.list_(pa.int64())), ("body_box", pa.list_(pa.int64())), ("conflicts", pa.string()),
    ("sources", pa.string()), ("annotation_version", pa.int64()), ("annotation_source", pa.string()),
])


def _box(b: Any) -> list[int] | None:
    return [int(v) for v in b] if b is not None else None


def _main_source(sources: dict[str, Any], *fields: str) -> str | None:
    for f in fields:
        if f in sources:
            return str(sources[f].value if hasattr(sources[f], "value") else sources[f])
    return None


def rows_of(info: KeyInfo, base: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    empty = {name: None for name in KEYINFO_SCHEMA.names}
    for i, o in enumerate(info.objects):
        srcs = {k: v.value for k, v in o.sources.items()}
        rows.append({**empty, **base, "kind": "object", "item_index": i, "origin": info.origin,
                     "source": _main_source(srcs, "type"), "type": o.type, "description": o.description,
                     "shot_type": o.shot_type.value if o.shot_type else None, "box": _box(o.box), "score": o.score,
                     "verified": o.verified, "sources": json.dumps(srcs, sort_keys=True), "conflicts": "[]"})
    for i, p in enumerate(info.people):
        srcs = {k: v.value for k, v in p.sources.items()}
        rows.append({**empty, **base, "kind": "person", "item_index": i, "origin": info.origin,
                     "source": _main_source(srcs, "looks", "gender", "age", "face_box"), "type": "person",
                     "shot_type": p.shot_type.value if p.shot_type else None,
                     "box": _box(p.body_box or p.face_box), "verified": p.verified,
                     "age": p.age.value if p.age else None, "age_years": p.age_years,
                     "gender": p.gender.value if p.gender else None, "looks": p.looks, "emotion": p.emotion,
                     "emotion_basic": p.emotion_basic, "valence": p.valence, "arousal": p.arousal,
                     "dominance": p.dominance, "temperament": p.temperament, "attractiveness": p.attractiveness,
                     "race": p.race, "face_box": _box(p.face_box), "body_box": _box(p.body_box),
                     "conflicts": json.dumps([c.model_dump(mode="json") for c in p.conflicts]),
                     "sources": json.dumps(srcs, sort_keys=True)})
    return rows


def keyinfo_rows(ctx: StepContext) -> list[dict[str, Any]]:
    """One row per object or person of the drama's current ``keyinfo`` annotations, in
    (episode, frame, kind, index) order."""
    out: list[dict[str, Any]] = []
    with ctx.db.session() as s:
        q = (
            select(Annotation, Keyframe)
            .join(Keyframe, Annotation.keyframe_id == Keyframe.id)
            .join(Episode, Keyframe.episode_id == Episode.id)
            .where(Episode.drama_id == ctx.drama_id, Annotation.kind == "keyinfo", Annotation.current.is_(True))
            .order_by(Keyframe.episode_id, Keyframe.frame_index)
        )
        for ann, kf in s.execute(q):
            info = KeyInfo.model_validate(ann.payload)
            base = {"episode_id": kf.episode_id, "keyframe_id": kf.id, "shot_index": kf.shot_index,
                    "frame_index": kf.frame_index, "annotation_version": ann.version, "annotation_source": ann.source}
            out.extend(rows_of(info, base))
    return out


def write_keyinfo_parquet(ctx: StepContext, path: Path) -> int:
    rows = keyinfo_rows(ctx)
    table = pa.Table.from_pylist(rows, schema=KEYINFO_SCHEMA)
    pq.write_table(table, path)
    return table.num_rows
