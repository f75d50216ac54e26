"""Scan: the single decode pass over an episode. Returns its shots (with transition and camera
movement), its keyframes (unmasked JPEG for the private area, sharpness, validity) and a loss
row for every invalid keyframe. The runner replaces all of these and nothing else (and removes
the frames of keyframes a re-run no longer picks)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from skyscript import ids
from skyscript.config import ScanSettings
from skyscript.errors import BadInput
from skyscript.losses import LossRecord
from skyscript.steps.base import CPU_VIDEO, ObjectRecord, RowSet, Step, StepOutput
from skyscript.steps.view import EpisodeView


class ScanStep(Step[ScanSettings]):
    name = "scan"
    version = "4"  # 2: lazy keyframe assessment, occlusion against the shot, pass-width signals; 3: times from frame timestamps; 4: grey footage needs luma to agree on a cut
    resources = CPU_VIDEO
    reads = ("private:raw", "episode.frame_count")
    writes = ("shot", "keyframe", "private:frames")
    params_model = ScanSettings
    settings_field = "scan"
    uses_settings = ("scan",)
    description = "one decode pass: shots and transitions, keyframes, frame quality, camera movement"

    def run(self, view: EpisodeView, vs: ScanSettings) -> StepOutput:  # type: ignore[override]
        from skyscript.store import Area
        from skyscript.video.scan import scan_video

        log = view.log
        ep = view.episode
        episode_id = ep.id
        keys = ids.Keys(view.drama_id)
        raw_key, name, probed = ep.raw_key, ids.one_line(ep.source_name), ep.frame_count  # name: for messages
        objects: list[ObjectRecord] = []
        with tempfile.TemporaryDirectory(prefix="scan-", dir=view.media.scratch) as tmp, view.media.raw_video(raw_key) as path:
            result = scan_video(path, vs, Path(tmp), label=name, log=log)
            if probed and result.frames < vs.min_decoded_ratio * probed:
                raise BadInput("truncated", f"{name}: {result.frames} frames decode, probe counted {probed}")
            shot_rows: list[dict[str, Any]] = []
            kf_rows: list[dict[str, Any]] = []
            losses: list[LossRecord] = []
            for shot in result.shots:
                sp = shot.span
                sid = ids.shot_id(episode_id, sp.index)
                shot_rows.append({
                    "id": sid, "episode_id": episode_id, "shot_index": sp.index,
                    "start_frame": sp.start, "end_frame": sp.end,
                    "start_s": round(shot.start_s, 6), "end_s": round(shot.end_s, 6),
                    "transition_in": sp.transition_in,
                    "camera_movement": shot.camera.label,
                    "camera_speed": None if shot.camera.speed is None else round(shot.camera.speed, 5),
                    "extra": {
                        "transition_span": list(sp.transition_span) if sp.transition_span else None,
                        "mean_luma": round(shot.mean_luma, 2),
                        "mean_sharpness": round(shot.mean_sharpness, 2),
                        **shot.camera.as_extra(),
                        **({"camera_handheld": True} if shot.camera.detail.get("handheld") else {}),
                    },
                })
                for kf in shot.keyframes:
                    kid = ids.keyframe_id(episode_id, kf.frame_index)
                    key = keys.frame(episode_id, sp.index, kf.frame_index)
                    jpeg = kf.jpeg_path.read_bytes()
                    objects.append(ObjectRecord(Area.private, key, data=jpeg, content_type="image/jpeg"))
                    q = kf.quality
                    kf_rows.append({
                        "id": kid, "episode_id": episode_id, "shot_id": sid, "shot_index": sp.index,
                        "frame_index": kf.frame_index, "timestamp_s": round(result.time_of(kf.frame_index), 6),
                        "sharpness": round(kf.sharpness, 3), "valid": kf.verdict.valid,
                        "invalid_reason": kf.verdict.reason,
                        "private_key": key, "private_digest": ids.content_digest(jpeg),
                        "extra": {
                            "directional_sharpness": round(q.directional_min, 3),
                            "blur_anisotropy": round(q.anisotropy, 4),
                            "flat_share": round(q.flat_share, 4),
                            "luma_mean": round(q.luma_mean, 2), "luma_std": round(q.luma_std, 2),
                            "dhash": f"{kf.dhash:016x}", "width": kf.width, "height": kf.height,
                            "analysis_width": result.analysis_size[0],
                        },
                    })
                    if not kf.verdict.valid:
                        losses.append(LossRecord(
                            "keyframe", kid, kf.verdict.reason or "invalid",
                            f"sharpness {kf.sharpness:.1f}, weakest direction {q.directional_min:.1f}, flat {q.flat_share:.2f}",
                        ))
        counts = {
            "frames": result.frames,
            "shots": len(shot_rows),
            "keyframes": len(kf_rows),
            "invalid_keyframes": len(losses),
            "cuts": sum(1 for r in shot_rows if r["transition_in"] == "cut"),
            "gradual": sum(1 for r in shot_rows if r["transition_in"] in ("dissolve", "fade")),
        }
        log.info("%s", counts)
        return StepOutput(
            rows=[RowSet("shot", shot_rows, "replace"), RowSet("keyframe", kf_rows, "replace")],
            objects=objects,
            losses=losses,
            counts=counts,
            params={
                "effective_analysis_width": result.analysis_size[0],
                "effective_pass_width": result.pass_size[0],
            },
        )
