"""A generated episode with a real face and a burnt-in subtitle, through the whole local
pipeline: the subtitle is read and flagged, the face is counted, and the PUBLISHED keyframe has
both mosaicked while the private one keeps the original pixels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from fixtures.videos import subtitled_portrait_clip
from skyscript.db import lineage
from skyscript.pipeline import run_drama
from skyscript.context import StepContext
from skyscript.store import Area

pytestmark = pytest.mark.integration
SUBTITLE = "WHERE WERE YOU LAST NIGHT"


def _portrait() -> np.ndarray:
    from skimage import data

    img = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)  # a real portrait photo, 512x512
    return img[:384, :]  # 512x384 frame; the face stays inside


def _decode(jpeg: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)


def test_subtitle_read_face_counted_and_both_masked_in_published_frame(ctx: StepContext, tmp_path: Path) -> None:
    clip = subtitled_portrait_clip(tmp_path / "ep01.avi", _portrait(), SUBTITLE)
    summary = run_drama(ctx, [str(clip.path)])
    assert summary.failed == [] and summary.quarantined == {}
    ep = "test-drama--ep01"
    with ctx.db.session() as s:
        shots = [(sh.start_frame, sh.end_frame, sh.transition_in) for sh in lineage.shots_of(s, ep)]
        kfs = lineage.keyframes_of(s, ep)
        ocr = {k.shot_index: lineage.annotation_of(s, k.id, "ocr") for k in kfs}
        faces = {k.shot_index: lineage.annotation_of(s, k.id, "faces") for k in kfs}
    assert shots == [(0, 30, None), (30, 60, "cut")]
    by_shot = {k.shot_index: k for k in kfs}
    talk, plain = by_shot[0], by_shot[1]

    assert talk.has_subtitle is True
    assert 0.005 < (talk.text_area_ratio or 0) < 0.2
    read = "".join(ch for b in ocr[0].payload["boxes"] for ch in b["text"].upper() if ch.isalnum())  # type: ignore[union-attr]
    assert SUBTITLE.replace(" ", "") in read
    assert talk.face_count == 1
    assert talk.shot_type in ("medium", "close_up")
    assert (plain.has_subtitle, plain.text_area_ratio, plain.face_count) == (False, 0.0, 0)

    private = _decode(ctx.store.get_bytes(Area.private, talk.private_key))
    public = _decode(ctx.store.get_bytes(Area.public, talk.public_key))
    assert faces[0].payload["count"] == 1  # type: ignore[union-attr]
    x1, y1, x2, y2 = (int(v) for v in faces[0].payload["faces"][0]["xyxy"])  # type: ignore[union-attr]
    assert 150 < (x1 + x2) / 2 < 320 and 60 < (y1 + y2) / 2 < 200  # the astronaut's face
    # inside the face: the mosaic replaced the detail (much lower local variation than the original)
    def detail(img: np.ndarray) -> float:
        return float(np.abs(np.diff(img[y1:y2, x1:x2].astype(np.int16), axis=1)).mean())
    assert detail(public) < 0.5 * detail(private)
    # the subtitle band is masked too: its strokes are gone from the published copy
    band = slice(int(0.8 * private.shape[0]), private.shape[0])
    assert np.abs(public[band].astype(np.int16) - private[band].astype(np.int16)).mean() > 5
    # far from both, the published copy equals the private one up to JPEG noise
    corner = (slice(0, 40), slice(private.shape[1] - 60, private.shape[1]))
    assert np.abs(public[corner].astype(np.int16) - private[corner].astype(np.int16)).mean() < 4
