"""Annotations shaped like the scene-understanding interface (characters, depth, pose, layout,
emotion, highlight) and key information for two people, for the shooting-script tests.

The payload models here are permissive stand-ins with the interface's field names; where the
scene branch's own models (``skyscript.schemas.scene``) are installed the tests use those."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from skyscript.keyinfo.schema import KeyInfo, KeyObject, Person, Source
from skyscript.steps.base import Kind


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


def scene_kinds() -> dict[str, Kind]:
    try:  # the scene branch's payload models, once merged
        from skyscript.schemas import scene as sc  # type: ignore[attr-defined]

        models: dict[str, type[BaseModel]] = {
            "characters": sc.CharactersPayload, "depth": sc.DepthPayload, "pose": sc.PosePayload,
            "layout": sc.LayoutPayload, "emotion": sc.EmotionPayload, "highlight": sc.HighlightPayload,
        }
    except ImportError:
        models = {k: _Open for k in ("characters", "depth", "pose", "layout", "emotion", "highlight")}
    return {k: Kind(k, m) for k, m in models.items()}


def keyinfo_two_people() -> KeyInfo:
    return KeyInfo(
        origin="vlm", width=720, height=528,
        objects=[KeyObject(type="table", description="round wooden table", shot_type="medium", box=(10, 300, 300, 500),
                           sources={"type": Source.vlm, "description": Source.vlm})],
        people=[
            Person(age="adult", gender="female", looks="red coat, long dark hair", emotion="happy", temperament="lively",
                   attractiveness=4, valence=7, arousal=6, dominance=5, body_box=(100, 50, 300, 520),
                   sources={k: Source.vlm for k in ("age", "gender", "looks", "emotion", "temperament", "attractiveness")}),
            Person(age="adult", gender="male", looks="grey suit", emotion="serious", temperament="calm", attractiveness=3,
                   body_box=(400, 80, 560, 500),
                   sources={"age": Source.age_gender, "gender": Source.age_gender, "looks": Source.vlm,
                            "emotion": Source.vlm, "temperament": Source.vlm, "attractiveness": Source.vlm}),
        ],
    )


def scene_payloads(names: tuple[str, str] = ("EMMA", "JACK"), score: float = 4.0) -> dict[str, dict[str, Any]]:
    kp = [[100.0 + i, 60.0 + 20 * i, 0.9] for i in range(17)]
    return {
        "characters": {"people": [
            {"person": 0, "character_id": f"c-{names[0].lower()}", "name": names[0], "name_source": "caption", "confidence": 0.9},
            {"person": 1, "character_id": f"c-{names[1].lower()}", "name": names[1], "name_source": "caption", "confidence": 0.8},
        ], "unassigned": []},
        "depth": {"map_key": None, "people": [{"person": 0, "median": 0.8}, {"person": 1, "median": 0.5}],
                  "objects": [], "source": "depth_anything_v2"},
        "pose": {"people": [
            {"person": 0, "keypoints": kp, "box": [100, 50, 300, 520], "score": 0.9, "posture": "walking"},
            {"person": 1, "keypoints": kp, "box": [400, 80, 560, 500], "score": 0.8, "posture": "walking"},
        ], "backend": "yolov8n-pose"},
        "layout": {"focal_px": 620.0, "hfov_deg": 60.0, "camera_height_cm": 250.0, "camera_height_source": "prior",
                   "people": [
                       {"person": 0, "camera_xyz_cm": [0, 0, 300], "world_xyz_cm": [0.0, 165.0, 300.0], "path": "geometry",
                        "scale_cue": "keypoints", "image_xy": [200, 50]},
                       {"person": 1, "camera_xyz_cm": [60, 0, 320], "world_xyz_cm": [60.0, 180.0, 320.0], "path": "geometry",
                        "scale_cue": "keypoints", "image_xy": [480, 80]},
                   ],
                   "objects": [{"object": 0, "camera_xyz_cm": [-80, -60, 250], "world_xyz_cm": [-80.0, 75.0, 250.0],
                                "path": "geometry", "scale_cue": "object_prior", "image_xy": [150, 400]}],
                   "flags": [], "source": "geometry"},
        "emotion": {"people": [
            {"person": 0, "valence": 8, "arousal": 6, "dominance": 5, "raw": [8.0, 6.0, 5.0], "source": "vlm"},
            {"person": 1, "valence": 4, "arousal": 3, "dominance": 6, "raw": [4.0, 3.0, 6.0], "source": "derived"},
        ]},
        "highlight": {"score": score, "raw": score, "components": {"arousal": 0.6}, "smoothed": True, "formula": "test"},
    }


def dialogue_episode(path: Any) -> Any:
    """A B A B (two camera set-ups of one conversation), a fade to C, a cut to D: 6 shots, 3 scenes."""
    from fixtures.videos import FPS, camera_shot, fade, texture, write_avi

    a1 = camera_shot(texture(21), 24, "static", seed=1)
    b1 = camera_shot(texture(22), 24, "static", seed=2)
    a2 = camera_shot(texture(21), 24, "static", seed=3)
    b2 = camera_shot(texture(22), 24, "static", seed=4)
    c = camera_shot(texture(23), 30, "static", seed=5)
    d = camera_shot(texture(24), 24, "static", seed=6)
    return write_avi(path, a1 + b1 + a2 + fade(b2, c, 6, 2, 6) + d, FPS)


def drama_with_scripts(ctx: Any, tmp_path: Any, keyinfo: bool = True) -> list[str]:
    """Ingest the dialogue episode, give every keyframe two people's key information, run scenes
    and shooting_scripts; returns the script ids."""
    import json

    from skyscript.db import lineage
    from skyscript.pipeline import run_drama
    from skyscript.steps.shooting_scripts import index_key
    from skyscript.store import Area

    src = dialogue_episode(tmp_path / "ep1.avi")
    run_drama(ctx, [str(src)], steps=["ingest", "probe", "scan"])
    if keyinfo:
        info = keyinfo_two_people().model_dump(mode="json")
        with ctx.db.session() as s:
            for kf in lineage.keyframes_of(s, f"{ctx.drama_id}--ep1"):
                lineage.put_annotation(s, kf.id, "keyinfo", info, "vlm:test", None)
    summary = run_drama(ctx, [str(src)], steps=["ingest", "scenes", "shooting_scripts"])
    assert summary.failed == [], summary.failed
    return [e["script_id"] for e in json.loads(ctx.store.get_bytes(Area.public, index_key(ctx.drama_id)))["scripts"]]
