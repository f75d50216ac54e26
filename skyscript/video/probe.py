"""Probe a video file with PyAV: what it is, and whether it can be decoded end to end."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from skyscript.errors import BadInput
from skyscript.video.decode import open_stream


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    frame_count: int
    width: int
    height: int
    duration_s: float
    codec: str
    start_pts_frames: float  # the first frame's timestamp, in frames (Megamind.avi: 1)


def probe(path: str | Path, name: str | None = None, min_side: int = 0) -> VideoInfo:
    """Read the stream's properties. Raises :class:`BadInput` with a reason for an empty file,
    a file that is not a video, a codec that cannot decode, a single frame (``too_short``) or
    a picture whose shorter side is under ``min_side`` pixels (``too_small``)."""
    import av

    path = Path(path)
    label = name or path.name
    if not path.is_file():
        raise BadInput("missing_file", f"{label} does not exist")
    if path.stat().st_size == 0:
        raise BadInput("empty_file", f"{label} is 0 bytes")
    container, stream, info = open_stream(path, label)
    with container:
        fmt = container.format.name or ""
        if fmt == "image2" or fmt.endswith("_pipe"):
            raise BadInput("not_a_video", f"{label} is a still image ({fmt}), not a video")
        codec, fps = info.codec, info.fps
        tb = stream.time_base or Fraction(1, 1)
        first_pts: int | None = None
        try:
            for frame in container.decode(stream):
                first_pts = frame.pts
                width, height = frame.width, frame.height
                break
        except av.error.FFmpegError as exc:
            raise BadInput("unreadable_codec", f"{label}: cannot decode {codec}: {exc}") from exc
        if first_pts is None:
            raise BadInput("no_frames", f"{label}: the {codec} stream decodes to no frames")
        if info.frames_exact:
            frame_count = info.expected_frames
        else:
            # no count in the header (Matroska, WebM): count the packets, one per frame. A
            # duration times the nominal rate is no count for a variable-frame-rate file.
            container.seek(0)
            frame_count = sum(1 for pkt in container.demux(stream) if pkt.size)
        if 0 < frame_count < 2:
            raise BadInput("too_short", f"{label} has {frame_count} frame(s)")
        if min(width, height) < min_side:
            raise BadInput("too_small", f"{label} is {width}x{height}, under {min_side} px on its shorter side")
        start = float(first_pts * tb) * fps if first_pts is not None else 0.0
        return VideoInfo(
            fps=fps,
            frame_count=frame_count,
            width=int(width),
            height=int(height),
            duration_s=info.duration_s or (frame_count / fps if fps else 0.0),
            codec=codec,
            start_pts_frames=round(start, 3),
        )
