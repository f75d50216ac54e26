"""WebDataset shards of the drama's published keyframes: per keyframe its privacy-masked JPEG
(``.jpg``) and its JSON (``.json``: keyframe row, current key information, the scene and the
shooting script it belongs to), in ``webdataset/<drama>-NNNNNN.tar`` (``webdataset`` package's
``ShardWriter``, at most ``maxcount`` samples a shard). Unmasked frames never leave the private
area: a keyframe without a published copy is not in the shards."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select

from skyscript.context import StepContext
from skyscript.db import lineage
from skyscript.db.models import Annotation, Keyframe
from skyscript.store import Area

log = logging.getLogger("skyscript.export")


def write_webdataset(ctx: StepContext, out: Path, maxcount: int = 10000) -> dict[str, int]:
    try:
        import webdataset as wds
    except ImportError:
        log.warning("no WebDataset shards: the webdataset package is missing (pip install 'skyscript[dataset]')")
        return {}

    folder = out / "webdataset"
    folder.mkdir(parents=True, exist_ok=True)  # a fresh staging folder: no shards of an earlier export in it
    n = 0
    with ctx.db.session() as s:
        episodes = [e.id for e in lineage.episodes_of(s, ctx.drama_id)]
    with wds.ShardWriter(str(folder / f"{ctx.drama_id}-%06d.tar"), maxcount=maxcount, verbose=0) as sink:
        for ep in episodes:
            with ctx.db.session() as s:
                shots = {sh.shot_index: sh.extra or {} for sh in lineage.shots_of(s, ep)}
                kfs = [k for k in lineage.keyframes_of(s, ep) if k.public_key]
                infos = {a.keyframe_id: a for a in s.scalars(
                    select(Annotation).join(Keyframe, Annotation.keyframe_id == Keyframe.id)
                    .where(Keyframe.episode_id == ep, Annotation.kind == "keyinfo", Annotation.current.is_(True)))}
                rows = [(k, infos.get(k.id)) for k in kfs]
            for kf, info in rows:
                scene = shots.get(kf.shot_index, {}).get("scene")
                meta: dict[str, Any] = {
                    "keyframe_id": kf.id, "episode_id": ep, "shot_index": kf.shot_index, "frame_index": kf.frame_index,
                    "timestamp_s": kf.timestamp_s, "shot_type": kf.shot_type, "valid": kf.valid,
                    "public_digest": kf.public_digest,
                    "keyinfo": info.payload if info is not None else None,
                    "keyinfo_source": info.source if info is not None else None,
                    "script_id": scene.get("script_id") if scene else None,
                    "scene_index": scene.get("scene_index") if scene else None,
                }
                sink.write({"__key__": kf.id, "jpg": ctx.store.get_bytes(Area.public, kf.public_key), "json": meta})
                n += 1
    return {"webdataset/": n}
