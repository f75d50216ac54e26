"""Privacy on a real film clip: with 16 keyframes per shot (Megamind.avi), OpenCV's frontal cascade
(minNeighbors 5, smallest face a tenth of the frame height: it found faces on 13 of 49 published
frames before face-sized cells and blur) finds none of the faces on any published frame, and every
frame passed the independent check, so none was withheld. (The cascade also fires on a hand holding
a glass in frame 160, masked or not: a false positive off every face, which the test tells apart by
position.)"""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from skyscript.context import StepContext
from skyscript.db import lineage
from skyscript.imaging import decode_jpeg
from skyscript.pipeline import run_drama
from skyscript.store import Area

pytestmark = pytest.mark.integration


def test_no_cascade_face_on_any_published_frame(ctx: StepContext, sample_media: Path) -> None:
    ctx.settings.scan.keyframes_per_shot = 16
    summary = run_drama(ctx, [str(sample_media / "Megamind.avi")], steps=["ingest", "probe", "scan", "text", "privacy"])
    assert summary.ok
    casc = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    with ctx.db.session() as s:
        keyframes = lineage.keyframes_of(s, f"{ctx.drama_id}--megamind")
        withheld = [lo for lo in lineage.losses_of(s, ctx.drama_id) if lo.reason == "privacy_unverified"]
    published = [k for k in keyframes if k.public_key]
    assert len(keyframes) >= 8 and len(published) == len(keyframes) and withheld == []
    faces_before = faces_after = 0
    for k in published:
        with ctx.db.session() as s:
            faces = lineage.annotation_of(s, k.id, "faces").payload  # type: ignore[union-attr]
        face_boxes = [d["xyxy"] for d in faces["detections"]]
        for area, key in ((Area.private, k.private_key), (Area.public, k.public_key)):
            grey = cv2.cvtColor(decode_jpeg(ctx.store.get_bytes(area, key)), cv2.COLOR_BGR2GRAY)  # type: ignore[arg-type]
            h = grey.shape[0]
            on_faces = [
                (x, y, w, hh) for x, y, w, hh in casc.detectMultiScale(grey, 1.1, 5, minSize=(h // 10, h // 10))
                if any(b[0] <= x + w / 2 <= b[2] and b[1] <= y + hh / 2 <= b[3] for b in face_boxes)
            ]
            if area is Area.private:
                faces_before += bool(on_faces)
            else:
                faces_after += bool(on_faces)
    assert faces_before >= 3  # the cascade does see the unmasked faces
    assert faces_after == 0
