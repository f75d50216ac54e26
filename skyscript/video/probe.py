"""Probe a video file with PyAV: what it is, and whether it can be decoded end to end."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from skyscript.steps.base import BadInput
from skyscript.video.decode import header_duration_s


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
    try:
        container = av.open(str(path))
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise BadInput("not_a_video", f"{label}: not a readable video container ({type(exc).__name__})") from exc
    with container:
        if not container.streams.video:
            raise BadInput("not_a_video", f"{label} has no video stream")
        fmt = container.format.name or ""
        if fmt == "image2" or fmt.endswith("_pipe"):
            raise BadInput("not_a_video", f"{label} is a still image ({fmt}), not a video")
        stream = container.streams.video[0]
        codec = stream.codec_context.name if stream.codec_context else "unknown"
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate:
            raise BadInput("unreadable_codec", f"{label}: no frame rate in the {codec} stream")
        fps = float(rate)
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
        header_s = header_duration_s(container, stream)
        if stream.frames:
            frame_count = int(stream.frames)
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
            duration_s=header_s or (frame_count / fps if fps else 0.0),
            codec=codec,
            start_pts_frames=round(start, 3),
        )
