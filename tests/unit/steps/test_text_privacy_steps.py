"""The text, privacy and shot-size steps on an episode whose keyframes the test writes itself:
a film frame with a subtitle and a name card, the astronaut portrait (marked invalid: it is
processed all the same) and a corrupt JPEG."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from skyscript.db import lineage
from skyscript.db.models import Annotation, Keyframe, Loss, StepRun
from skyscript.ids import Keys, keyframe_id, shot_id
from skyscript.context import StepContext
from skyscript.steps.privacy import PrivacyStep
from skyscript.steps.runner import run_step
from skyscript.steps.shot_size import ShotSizeStep
from skyscript.steps.text import TextStep
from skyscript.store import Area
from skyscript.imaging import decode_jpeg, encode_jpeg

EP = "test-drama--ep01"
SUBTITLE = "I never said that to anyone"
ASTRONAUT_FACE = (180.0, 65.0, 265.0, 170.0)


def norm(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def put_text(img: np.ndarray, text: str, org: tuple[int, int], scale: float) -> None:
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, text, org, font, scale, (0, 0, 0), 7, cv2.LINE_AA)
    cv2.putText(img, text, org, font, scale, (255, 255, 255), 3, cv2.LINE_AA)


def film_frame_with_text(samples: Path) -> np.ndarray:
    cap = cv2.VideoCapture(str(samples / "Megamind.avi"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 40)
    ok, img = cap.read()
    cap.release()
    assert ok
    (tw, _), _ = cv2.getTextSize(SUBTITLE, cv2.FONT_HERSHEY_SIMPLEX, 1.4, 3)
    put_text(img, SUBTITLE, ((img.shape[1] - tw) // 2, img.shape[0] - 40), 1.4)
    put_text(img, "Li Wei", (40, 90), 1.2)
    return img


@pytest.fixture
def episode(ctx: StepContext, sample_media: Path) -> dict[int, str]:
    """Three keyframes (frame index -> keyframe id) in two shots, private JPEGs in the store."""
    from skimage import data

    q = ctx.settings.scan.jpeg_quality
    images: dict[int, bytes] = {
        10: encode_jpeg(film_frame_with_text(sample_media), q),
        60: encode_jpeg(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), q),
        70: b"\xff\xd8 this is not a JPEG" * 40,
    }
    keys = Keys(ctx.drama_id)
    shot_of = {10: 0, 60: 1, 70: 1}
    with ctx.db.session() as s:
        lineage.ensure_drama(s, ctx.drama_id)
        lineage.upsert_episode(
            s, id=EP, drama_id=ctx.drama_id, source_uri="file:///dramas/ep01.mp4", source_name="ep01.mp4", status="ok"
        )
        lineage.replace_shots(
            s,
            EP,
            [
                {"id": shot_id(EP, 0), "episode_id": EP, "shot_index": 0, "start_frame": 0, "end_frame": 50, "start_s": 0.0, "end_s": 2.0},
                {"id": shot_id(EP, 1), "episode_id": EP, "shot_index": 1, "start_frame": 50, "end_frame": 100, "start_s": 2.0, "end_s": 4.0},
            ],
        )
        rows = []
        for frame, data_ in images.items():
            key = keys.frame(EP, shot_of[frame], frame)
            obj = ctx.store.put_bytes(Area.private, key, data_, "image/jpeg")
            rows.append(
                {
                    "id": keyframe_id(EP, frame),
                    "episode_id": EP,
                    "shot_id": shot_id(EP, shot_of[frame]),
                    "shot_index": shot_of[frame],
                    "frame_index": frame,
                    "timestamp_s": frame / 25.0,
                    "valid": frame != 60,
                    "invalid_reason": "blurred" if frame == 60 else None,
                    "private_key": key,
                    "private_digest": obj.digest,
                }
            )
        lineage.replace_keyframes(s, EP, rows)
    return {f: keyframe_id(EP, f) for f in images}


def keyframe(ctx: StepContext, kf_id: str) -> Keyframe:
    with ctx.db.session() as s:
        kf = s.get(Keyframe, kf_id)
        assert kf is not None
        return kf


def annotation(ctx: StepContext, kf_id: str, kind: str) -> dict[str, Any]:
    with ctx.db.session() as s:
        ann = lineage.annotation_of(s, kf_id, kind)
        assert ann is not None, f"no {kind} annotation on {kf_id}"
        return ann.payload


def losses(ctx: StepContext, step: str) -> list[tuple[str, str, str]]:
    with ctx.db.session() as s:
        rows = s.scalars(select(Loss).where(Loss.step == step).order_by(Loss.item_id))
        return [(r.item_kind, r.item_id, r.reason) for r in rows]


def snapshot(ctx: StepContext) -> dict[str, Any]:
    with ctx.db.session() as s:
        anns = sorted(
            (a.keyframe_id, a.kind, a.version, a.current, repr(a.payload)) for a in s.scalars(select(Annotation))
        )
        kfs = sorted(
            (k.id, k.text_area_ratio, k.has_subtitle, k.face_count, k.public_key, k.public_digest, k.shot_type)
            for k in s.scalars(select(Keyframe))
        )
        loss_rows = sorted((r.step, r.item_id, r.reason) for r in s.scalars(select(Loss)))
        return {"counts": lineage.table_counts(s, ctx.drama_id), "annotations": anns, "keyframes": kfs, "losses": loss_rows}


def run_all(ctx: StepContext) -> list[Any]:
    return [run_step(step, ctx, EP, raise_errors=True) for step in (TextStep(), PrivacyStep(), ShotSizeStep())]


def test_steps_write_text_masks_and_shot_sizes_and_rerun_cleanly(ctx: StepContext, episode: dict[int, str]) -> None:
    film, portrait, corrupt = episode[10], episode[60], episode[70]
    text, privacy, shot = run_all(ctx)

    # --- text ---
    assert text.status == "success"
    assert text.counts["keyframes"] == 3 and text.counts["read"] == 2 and text.counts["lost"] == 1
    kf = keyframe(ctx, film)
    assert kf.has_subtitle is True
    assert 0.005 < kf.text_area_ratio < 0.2  # type: ignore[operator]
    ocr = annotation(ctx, film, "ocr")
    assert norm(ocr["subtitle_text"]) == norm(SUBTITLE)
    assert ocr["text_area_ratio"] == pytest.approx(kf.text_area_ratio, abs=1e-6)
    [card] = [b for b in ocr["boxes"] if norm(b["text"]) == "liwei"]
    assert card["kind"] == "name_card" and card["mask"] is True
    assert keyframe(ctx, portrait).has_subtitle is False  # processed although marked invalid
    assert keyframe(ctx, corrupt).text_area_ratio is None
    assert losses(ctx, "text") == [("keyframe", corrupt, "frame_unreadable")]
    with ctx.db.session() as s:
        run = s.get(StepRun, text.step_run_id)
        assert run is not None and run.model_id.startswith("rapidocr 3.")  # type: ignore[union-attr]
        assert run.weights_digest.startswith("sha256:") and run.params["ocr_max_side"] == 480  # type: ignore[union-attr,index]
        ann = lineage.annotation_of(s, film, "ocr")
        assert ann is not None and ann.source.startswith("rapidocr-") and ann.step_run_id == text.step_run_id

    # --- privacy ---
    assert privacy.status == "success"
    assert privacy.counts["published"] == 2 and privacy.counts["lost"] == 1
    assert losses(ctx, "privacy") == [("keyframe", corrupt, "frame_unreadable")]
    kf_p = keyframe(ctx, portrait)
    assert kf_p.face_count == 1 and annotation(ctx, portrait, "faces")["count"] == 1
    assert kf_p.public_key == kf_p.private_key
    public = ctx.store.get_bytes(Area.public, kf_p.public_key)  # type: ignore[arg-type]
    assert kf_p.public_digest == ctx.store.stat(Area.public, kf_p.public_key).digest  # type: ignore[arg-type]
    private_img = decode_jpeg(ctx.store.get_bytes(Area.private, kf_p.private_key)).astype(int)  # type: ignore[arg-type]
    public_img = decode_jpeg(public).astype(int)
    regions = annotation(ctx, portrait, "privacy")["regions"]
    faces = [r["xyxy"] for r in regions if r["source"] == "face"]
    assert faces and any(
        x0 <= ASTRONAUT_FACE[0] and y0 <= ASTRONAUT_FACE[1] and x1 >= ASTRONAUT_FACE[2] and y1 >= ASTRONAUT_FACE[3]
        for x0, y0, x1, y1 in faces
    )
    fx0, fy0, fx1, fy1 = (int(v) for v in ASTRONAUT_FACE)
    assert np.abs(public_img[fy0:fy1, fx0:fx1] - private_img[fy0:fy1, fx0:fx1]).mean() > 8  # the face is gone
    outside = np.ones(private_img.shape[:2], bool)
    for x0, y0, x1, y1 in (r["xyxy"] for r in regions):
        outside[y0:y1, x0:x1] = False
    assert outside.mean() > 0.5
    assert np.abs(public_img[outside] - private_img[outside]).mean() < 2.5  # only JPEG re-encoding noise
    # the film frame: its face and both text overlays are mosaicked
    kf_f = keyframe(ctx, film)
    assert kf_f.face_count == 2  # she, and the man at the table behind her (blurred, about 80 px high)
    film_regions = annotation(ctx, film, "privacy")["regions"]
    assert sorted(r["source"] for r in film_regions).count("text") == 2
    film_private = decode_jpeg(ctx.store.get_bytes(Area.private, kf_f.private_key)).astype(int)  # type: ignore[arg-type]
    film_public = decode_jpeg(ctx.store.get_bytes(Area.public, kf_f.public_key)).astype(int)  # type: ignore[arg-type]
    cx0, cy0, cx1, cy1 = (int(v) for v in card["xyxy"])
    assert np.abs(film_public[cy0:cy1, cx0:cx1] - film_private[cy0:cy1, cx0:cx1]).mean() > 20  # name card unreadable
    assert not ctx.store.exists(Area.public, keyframe(ctx, corrupt).private_key)  # type: ignore[arg-type]

    # --- shot size ---
    assert shot.status == "success"
    assert keyframe(ctx, portrait).shot_type == "medium"
    assert keyframe(ctx, film).shot_type == "close_up"
    assert annotation(ctx, portrait, "shot_size")["basis"] == "face"
    assert losses(ctx, "shot_size") == [("keyframe", corrupt, "frame_unreadable")]

    # --- a re-run changes nothing and adds nothing (forced: an unchanged step would be skipped) ---
    before = snapshot(ctx)
    ctx.force = True
    assert [r.status for r in run_all(ctx)] == ["success"] * 3
    after = snapshot(ctx)
    assert after["annotations"] == before["annotations"]
    assert all(v == 1 for (_, _, v, _, _) in after["annotations"])
    assert after["keyframes"] == before["keyframes"]
    assert after["losses"] == before["losses"]
    assert {k: v for k, v in after["counts"].items() if k != "step_run"} == {
        k: v for k, v in before["counts"].items() if k != "step_run"
    }
    assert after["counts"]["step_run"] == before["counts"]["step_run"] + 3


def test_privacy_waits_for_text_and_annotator_corrections_win(ctx: StepContext, episode: dict[int, str]) -> None:
    portrait = episode[60]
    res = run_step(PrivacyStep(), ctx, EP, raise_errors=True)
    assert res.status == "success" and res.counts["published"] == 0
    assert ("keyframe", portrait, "ocr_missing") in losses(ctx, "privacy")
    assert keyframe(ctx, portrait).public_key is None  # nothing published before its text was read

    run_all(ctx)
    assert ("keyframe", portrait, "ocr_missing") not in losses(ctx, "privacy")
    assert keyframe(ctx, portrait).shot_type == "medium"

    # an annotator relabels the shot and marks a second face the detector missed
    with ctx.db.session() as s:
        lineage.put_annotation(
            s, portrait, "shot_size", {"shot_type": "close_up", "basis": "human"}, "human", None, author="alice", correction=True
        )
        faces = dict(lineage.annotation_of(s, portrait, "faces").payload)  # type: ignore[union-attr]
        extra_face = {"xyxy": [400.0, 20.0, 460.0, 80.0], "detector": "human", "score": 1.0, "confirmed": True}
        faces["faces"] = [*faces["faces"], extra_face]
        lineage.put_annotation(s, portrait, "faces", faces, "human", None, author="alice", correction=True)
    run_step(PrivacyStep(), ctx, EP, raise_errors=True)
    run_step(ShotSizeStep(), ctx, EP, raise_errors=True)
    kf = keyframe(ctx, portrait)
    assert kf.shot_type == "close_up"
    assert kf.face_count == 2
    with ctx.db.session() as s:
        assert [a.version for a in lineage.annotation_history(s, portrait, "shot_size")] == [1, 2]
        assert lineage.annotation_of(s, portrait, "faces").author == "alice"  # type: ignore[union-attr]
    public = decode_jpeg(ctx.store.get_bytes(Area.public, kf.public_key)).astype(int)  # type: ignore[arg-type]
    private = decode_jpeg(ctx.store.get_bytes(Area.private, kf.private_key)).astype(int)  # type: ignore[arg-type]
    # the region the annotator added is masked like any face: no fine structure left after JPEG
    regions = annotation(ctx, portrait, "privacy")["regions"]
    [(x0, y0, x1, y1)] = [r["xyxy"] for r in regions if r["xyxy"][0] <= 400 <= 460 <= r["xyxy"][2] and r["xyxy"][1] <= 20]

    def detail(img: np.ndarray) -> float:
        grey = cv2.cvtColor(img[y0:y1, x0:x1].astype(np.uint8), cv2.COLOR_BGR2GRAY)
        return float(np.abs(cv2.Laplacian(grey, cv2.CV_64F)).mean())

    assert detail(public) < 0.35 * detail(private)
    assert np.abs(public[20:80, 400:460] - private[20:80, 400:460]).mean() > 3


def test_a_frame_with_a_face_left_in_clear_is_withheld(ctx: StepContext, episode: dict[int, str]) -> None:
    """Verification: a detector the masking did not use (BlazeFace short range) checks every
    masked copy; where the masking missed a face (here: the masking detector is blinded) the frame
    is not published and a privacy_unverified loss names the box."""
    from skyscript.models.face_detect import FaceResult

    film, portrait = episode[10], episode[60]
    run_step(TextStep(), ctx, EP, raise_errors=True)
    step = PrivacyStep()
    from skyscript.steps.runner import ensure_setup

    ensure_setup(step, ctx.settings)
    step.detector.detect = lambda img: FaceResult(img.shape[1], img.shape[0])  # type: ignore[method-assign]
    res = run_step(step, ctx, EP, raise_errors=True)
    assert res.status == "success" and res.counts["withheld"] == 2 and res.counts["verified"] == 0
    assert ("keyframe", film, "privacy_unverified") in losses(ctx, "privacy")
    assert ("keyframe", portrait, "privacy_unverified") in losses(ctx, "privacy")
    assert keyframe(ctx, portrait).public_key is None
    assert not ctx.store.exists(Area.public, keyframe(ctx, portrait).private_key)  # type: ignore[arg-type]
    with ctx.db.session() as s:
        details = [lo.detail or "" for lo in s.scalars(select(Loss)) if lo.reason == "privacy_unverified"]
    assert len(details) == 2 and all("blazeface-short finds a face at [" in d for d in details)
    # with the real detector the same frames are masked (the film's background man too), verified, published
    # (--force: the inputs are unchanged, only the detector the test blinded differs)
    ctx.force = True
    res = run_step(PrivacyStep(), ctx, EP, raise_errors=True)
    assert res.counts["withheld"] == 0 and res.counts["verified"] == 2
    assert keyframe(ctx, portrait).public_key is not None and keyframe(ctx, film).public_key is not None
    assert ("keyframe", portrait, "privacy_unverified") not in losses(ctx, "privacy")
