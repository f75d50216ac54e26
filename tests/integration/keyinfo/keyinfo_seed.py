"""Seeding an episode with real keyframes for the keyinfo step tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from skyscript import ids
from skyscript.db import lineage
from skyscript.context import StepContext
from skyscript.store import Area

EP = ids.episode_id("test-drama", "ep01.mp4")
ASTRONAUT_FACE = (180, 65, 265, 170)
MEGAMIND_FRAMES = (10, 60, 120, 170, 230, 250)


@dataclass
class Seeded:
    frame_index: int
    keyframe_id: str
    jpeg: bytes


def real_images(sample_media: Path) -> list[np.ndarray]:
    """BGR images: astronaut, messi, then Megamind decode frames 10, 60, 120, 170, 230, 250."""
    from skimage import data

    out = [cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), cv2.imread(str(sample_media / "messi5.jpg"))]
    cap = cv2.VideoCapture(str(sample_media / "Megamind.avi"))
    i = 0
    while len(out) < 2 + len(MEGAMIND_FRAMES):
        ok, frame = cap.read()
        assert ok, "Megamind.avi ended early"
        if i in MEGAMIND_FRAMES:
            out.append(frame)
        i += 1
    cap.release()
    return out


def seed(ctx: StepContext, images: list[np.ndarray], shots: list[int] | None = None,
         faces: dict[int, list[tuple[int, int, int, int]]] | None = None, invalid: tuple[int, ...] = ()) -> list[Seeded]:
    """One keyframe per image (frame index 10*i), in shot ``shots[i]`` (default: its own shot);
    ``faces`` gives privacy-style ``faces`` annotations by image index."""
    shots = shots or list(range(len(images)))
    keys = ids.Keys(ctx.drama_id)
    out: list[Seeded] = []
    with ctx.db.session() as s:
        lineage.ensure_drama(s, ctx.drama_id)
        lineage.upsert_episode(s, id=EP, drama_id=ctx.drama_id, source_uri="/v/ep01.mp4", source_name="ep01.mp4",
                               status="ok", fps=24.0, frame_count=10 * len(images) + 10)
        lineage.replace_shots(s, EP, [
            dict(id=ids.shot_id(EP, sh), episode_id=EP, shot_index=sh, start_frame=0, end_frame=1, start_s=0.0, end_s=1.0)
            for sh in sorted(set(shots))
        ])
        rows = []
        for i, (img, sh) in enumerate(zip(images, shots)):
            fi = 10 * i
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])
            assert ok
            key = keys.frame(EP, sh, fi)
            ctx.store.put_bytes(Area.private, key, buf.tobytes(), "image/jpeg")
            kf_id = ids.keyframe_id(EP, fi)
            rows.append(dict(id=kf_id, episode_id=EP, shot_id=ids.shot_id(EP, sh), shot_index=sh, frame_index=fi,
                             timestamp_s=fi / 24.0, valid=i not in invalid, private_key=key))
            out.append(Seeded(fi, kf_id, buf.tobytes()))
        lineage.replace_keyframes(s, EP, rows)
        for i, boxes in (faces or {}).items():
            h, w = images[i].shape[:2]
            lineage.put_annotation(s, out[i].keyframe_id, "faces", {
                "width": w, "height": h, "count": len(boxes),
                "faces": [{"xyxy": list(b), "detector": "haar", "weight": 1.0, "confirmed": True} for b in boxes],
            }, "haar", None)
    return out
