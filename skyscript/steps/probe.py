"""Probe: read an episode's fps, frame count, size, duration and codec; quarantine a file that
is empty, not a video, or cannot be decoded."""

from __future__ import annotations

from skyscript.db import lineage
from skyscript.db.models import Episode
from skyscript.steps.base import Step, StepContext, StepOutput
from skyscript.steps.media import local_copy


class ProbeStep(Step):
    name = "probe"
    version = "2"  # 2: frame count from the packets where the header has none; duration from the header
    reads = ("private:raw/",)
    writes = ("episode.fps", "episode.frame_count", "episode.width", "episode.height", "episode.status")
    description = "probe the raw file; quarantine unreadable input"

    def run(self, ctx: StepContext, step_run_id: int, episode_id: str | None) -> StepOutput:
        from skyscript.video.probe import probe

        assert episode_id is not None
        with ctx.db.session() as s:
            ep = s.get(Episode, episode_id)
            assert ep is not None
            raw_key = ep.raw_key
            name = ep.source_name
        with local_copy(ctx, raw_key) as path:
            info = probe(path, name, min_side=ctx.settings.video.min_side)  # BadInput → the runner quarantines the episode
        with ctx.db.session() as s:
            lineage.upsert_episode(
                s, id=episode_id, drama_id=ctx.drama_id, status="ok", error=None,
                fps=info.fps, frame_count=info.frame_count, width=info.width, height=info.height,
                duration_s=info.duration_s, codec=info.codec, start_pts_frames=info.start_pts_frames,
                source_uri=ep.source_uri, source_name=ep.source_name,
            )
            lineage.replace_losses(s, ctx.drama_id, self.name, episode_id, [], step_run_id)
        return StepOutput(counts={"frames": info.frame_count})
