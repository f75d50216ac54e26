"""Seed a lineage database with dramas whose keyframes carry real-shaped annotations (the
payloads the shot-size, privacy and key-information steps write), for calibration tests."""

from __future__ import annotations

from typing import Any

from skyscript import ids
from skyscript.db import lineage
from skyscript.db.engine import Database
from skyscript.keyinfo.schema import KeyInfo

SHOTS = ("close_up", "medium", "wide")


def keyinfo_payload(i: int, people: int) -> dict[str, Any]:
    ki = KeyInfo.model_validate(
        {
            "origin": "vlm" if i % 2 else "offline",
            "width": 720,
            "height": 528,
            "objects": [{"type": "cup", "box": [10, 20, 110, 220], "verified": True}] if i % 3 == 0 else [],
            "people": [
                {"age": "adult", "gender": "male" if j % 2 else "female", "emotion": "calm", "valence": 5,
                 "face_box": [200 + j * 100, 100, 280 + j * 100, 190]}
                for j in range(people)
            ],
        }
    )
    return ki.model_dump(mode="json")


def seed_drama(db: Database, drama: str, episodes: int = 2, per_episode: int = 10) -> list[str]:
    """``episodes`` x ``per_episode`` keyframes with shot_size, faces and keyinfo annotations."""
    out: list[str] = []
    with db.session() as s:
        lineage.ensure_drama(s, drama)
        for e in range(episodes):
            ep = ids.episode_id(drama, f"ep{e + 1:02d}")
            lineage.upsert_episode(s, id=ep, drama_id=drama, source_uri=f"/v/{ep}.mp4", source_name=f"{ep}.mp4", status="ok")
            shot_rows, kf_rows = [], []
            for k in range(per_episode):
                shot_rows.append(dict(id=ids.shot_id(ep, k), episode_id=ep, shot_index=k, start_frame=k * 50,
                                      end_frame=k * 50 + 50, start_s=k * 2.0, end_s=k * 2.0 + 2))
                people = k % 3  # 0, 1 or 2 people
                kf_rows.append(dict(id=ids.keyframe_id(ep, k * 50 + 10), episode_id=ep, shot_id=ids.shot_id(ep, k),
                                    shot_index=k, frame_index=k * 50 + 10, timestamp_s=k * 2.0 + 0.4, valid=True,
                                    shot_type=SHOTS[k % 3], face_count=people,
                                    public_key=f"frames/{drama}/{ep}/{k:04d}.jpg"))
            lineage.replace_shots(s, ep, shot_rows)
            lineage.replace_keyframes(s, ep, kf_rows)
            for k, row in enumerate(kf_rows):
                people = k % 3
                lineage.put_annotation(s, row["id"], "shot_size", {"shot_type": SHOTS[k % 3], "basis": "face", "ratio": 0.3, "box": None}, "shot-size-rules", None)
                lineage.put_annotation(s, row["id"], "faces", {
                    "width": 720, "height": 528, "count": people,
                    "faces": [{"xyxy": [200.0 + j * 100, 100.0, 280.0 + j * 100, 190.0], "detector": "dlib", "score": 0.8,
                               "weight": 1.0, "confirmed": True, "support": 2} for j in range(people)],
                    "detections": []}, "haar+dlib", None)
                lineage.put_annotation(s, row["id"], "keyinfo", keyinfo_payload(k, people), "vlm", None)
                out.append(row["id"])
    return out
