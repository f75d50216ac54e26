"""Scan: the single decode pass over an episode. Writes its shots (with transition and camera
movement), its keyframes (unmasked JPEG in the private area, sharpness, validity) and a loss
row for every invalid keyframe. A re-run replaces all of these and nothing else."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from skyscript import ids
from skyscript.db import lineage
from skyscript.db.lineage import LossRecord
from skyscript.db.models import Episode
from skyscript.steps.base import BadInput, Step, StepContext, StepOutput
from skyscript.steps.media import local_copy
from skyscript.store import Area


class ScanStep(Step):
    name = "scan"
    version = "3"  # 2: lazy keyframe assessment, occlusion against the shot, pass-width signals; 3: times from frame timestamps
    reads = ("private:raw/",)
    writes = ("shot", "keyframe", "private:frames/", "loss(keyframe)")
    description = "one decode pass: shots, transitions, keyframes, frame quality, camera movement"

    def run(self, ctx: StepContext, step_run_id: int, episode_id: str | None) -> StepOutput:
        from skyscript.video.scan import scan_video

        assert episode_id is not None
        log = ctx.logger(self.name, episode_id)
        vs = ctx.settings.video
        keys = ids.Keys(ctx.drama_id)
        with ctx.db.session() as s:
            ep = s.get(Episode, episode_id)
            if ep is None:
                raise LookupError(f"no episode {episode_id!r}")
            raw_key, name, probed = ep.raw_key, ep.source_name, ep.frame_count
        with tempfile.TemporaryDirectory(prefix="skyscript-scan-") as tmp, local_copy(ctx, raw_key) as path:
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
                    "step_run_id": step_run_id,
                })
                for kf in shot.keyframes:
                    kid = ids.keyframe_id(episode_id, kf.frame_index)
                    key = keys.frame(episode_id, sp.index, kf.frame_index)
                    stored = ctx.store.put_bytes(Area.private, key, kf.jpeg_path.read_bytes(), "image/jpeg")
                    q = kf.quality
                    kf_rows.append({
                        "id": kid, "episode_id": episode_id, "shot_id": sid, "shot_index": sp.index,
                        "frame_index": kf.frame_index, "timestamp_s": round(result.time_of(kf.frame_index), 6),
                        "sharpness": round(kf.sharpness, 3), "valid": kf.verdict.valid,
                        "invalid_reason": kf.verdict.reason,
                        "private_key": key, "private_digest": stored.digest,
                        "extra": {
                            "directional_sharpness": round(q.directional_min, 3),
                            "blur_anisotropy": round(q.anisotropy, 4),
                            "flat_share": round(q.flat_share, 4),
                            "luma_mean": round(q.luma_mean, 2), "luma_std": round(q.luma_std, 2),
                            "dhash": f"{kf.dhash:016x}", "width": kf.width, "height": kf.height,
                            "analysis_width": result.analysis_size[0],
                        },
                        "step_run_id": step_run_id,
                    })
                    if not kf.verdict.valid:
                        losses.append(LossRecord(
                            "keyframe", kid, kf.verdict.reason or "invalid",
                            f"sharpness {kf.sharpness:.1f}, weakest direction {q.directional_min:.1f}, flat {q.flat_share:.2f}",
                        ))
        with ctx.db.session() as s:
            stale = {k.private_key for k in lineage.keyframes_of(s, episode_id)} - {r["private_key"] for r in kf_rows}
            lineage.replace_shots(s, episode_id, shot_rows)
            lineage.replace_keyframes(s, episode_id, kf_rows)
            lineage.replace_losses(s, ctx.drama_id, self.name, episode_id, losses, step_run_id)
        for key in stale:  # frames of keyframes this run no longer picks: the private and the published copy
            if key:
                for area in (Area.private, Area.public):
                    if ctx.store.exists(area, key):
                        ctx.store.delete(area, key)
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
            counts=counts,
            params={
                "analysis_width": result.analysis_size[0],
                "pass_width": result.pass_size[0],
                "pass_interpolation": vs.pass_interpolation,
                "content_threshold": vs.content_threshold,
                "adaptive_threshold": vs.adaptive_threshold,
                "keyframes_per_shot": vs.keyframes_per_shot,
                "blur_threshold": vs.blur_threshold,
                "motion_blur_threshold": vs.motion_blur_threshold,
                "occlusion_threshold": vs.occlusion_threshold,
                "occlusion_rise": vs.occlusion_rise,
            },
        )
