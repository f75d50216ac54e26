"""Probe: read an episode's fps, frame count, size, duration and codec; quarantine a file that
is empty, not a video, or cannot be decoded."""

from __future__ import annotations

from typing import Any

from skyscript.config import ScanSettings
from skyscript.ids import one_line
from skyscript.steps.base import RowUpdate, Step, StepOutput
from skyscript.steps.view import EpisodeView


class ProbeStep(Step[ScanSettings]):
    name = "probe"
    version = "2"  # 2: frame count from the packets where the header has none; duration from the header
    reads = ("private:raw", "episode.raw_key")
    writes = ("episode.fps", "episode.frame_count", "episode.width", "episode.height", "episode.duration_s",
              "episode.codec", "episode.start_pts_frames", "episode.status", "episode.error")
    params_model = ScanSettings
    settings_field = "scan"
    uses_settings = ("scan",)
    description = "probe the raw file; quarantine unreadable input"

    def run(self, view: EpisodeView, params: ScanSettings) -> StepOutput:  # type: ignore[override]
        from skyscript.video.probe import probe

        ep = view.episode
        with view.media.raw_video(ep.raw_key) as path:
            info = probe(path, one_line(ep.source_name), min_side=params.min_side)  # BadInput: the runner quarantines
        fields: dict[str, Any] = dict(
            status="ok", error=None, fps=info.fps, frame_count=info.frame_count, width=info.width, height=info.height,
            duration_s=info.duration_s, codec=info.codec, start_pts_frames=info.start_pts_frames,
        )
        return StepOutput(updates=[RowUpdate("episode", ep.id, fields)], counts={"frames": info.frame_count},
                          params={"min_side": params.min_side})
