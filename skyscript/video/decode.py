"""One decode of a video file, frame by frame, with frames numbered by decode order.

Frames are counted here (0-based decode index), never derived from timestamps: some files
start at a non-zero pts (Megamind.avi's first frame has pts 1). Decoding runs in a producer
thread (PyAV releases the GIL inside FFmpeg), so on two cores the analysis of frame ``n``
overlaps the decode of frame ``n+1``.

A file that stops decoding early, or decodes to far fewer frames than its header promises,
raises :class:`~skyscript.errors.BadInput` (``decode_error`` / ``truncated``). Where the
header has no frame count (Matroska, WebM), "promises" is its duration, compared with the span
the decoded frames' timestamps cover: a duration times a nominal rate is no frame count for a
variable-frame-rate file (a phone recording), and counting against it would quarantine good
episodes as truncated.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from skyscript.errors import BadInput

if TYPE_CHECKING:  # pragma: no cover
    import av


@dataclass(frozen=True)
class StreamInfo:
    """What the container says about the video stream before decoding."""

    fps: float
    width: int
    height: int
    expected_frames: int  # from the header (0 when unknown; an estimate unless frames_exact)
    codec: str
    duration_s: float = 0.0  # the header's duration (0 when unknown)
    frames_exact: bool = False  # expected_frames is the header's own frame count


@dataclass
class DecodeReport:
    """How the decode went: filled in while frames are consumed."""

    frames: int = 0
    error: str | None = None  # an FFmpeg error that ended decoding early (tolerated)
    tail_error: str | None = None  # an error on the file's last packet only: a cut-off file
    first_time: float | None = None  # the first and last decoded frames' timestamps, seconds
    last_time: float | None = None

    def count(self, frame: Any) -> None:
        self.frames += 1
        t = frame.time
        if t is not None:
            if self.first_time is None:
                self.first_time = float(t)
            self.last_time = float(t)

    def covered_s(self, fps: float) -> float | None:
        """The span the decoded frames cover, the last frame's own duration (1/fps) included."""
        if self.first_time is None or self.last_time is None:
            return None
        return self.last_time - self.first_time + (1.0 / fps if fps else 0.0)


_END = object()


def open_stream(path: str | Path, label: str | None = None, threads: int = 1) -> tuple[Any, Any, StreamInfo]:
    """Open the container and its first video stream (the one way the project opens a video:
    the probe and the decoder both use it); BadInput when that is impossible. ``threads``: the
    decoder's threads, 1 by default (the least CPU), 0 for FFmpeg's choice (frame threads on
    every core: the least wall time, about 10 % more CPU)."""
    import av

    path = Path(path)
    name = label or path.name
    if not path.is_file() or path.stat().st_size == 0:
        raise BadInput("missing_file" if not path.is_file() else "empty_file", f"{name} cannot be read")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise BadInput("not_a_video", f"{name}: not a readable video container ({type(exc).__name__})") from exc
    if not container.streams.video:
        container.close()
        raise BadInput("not_a_video", f"{name} has no video stream")
    stream = container.streams.video[0]
    if threads == 1:
        stream.thread_count = 1
    else:
        stream.thread_type = "AUTO"
        if threads > 1:
            stream.thread_count = threads
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        container.close()
        raise BadInput("unreadable_codec", f"{name}: no frame rate in the video stream")
    fps = float(rate)
    expected = int(stream.frames or 0)
    duration_s = header_duration_s(container, stream)
    exact = expected > 0
    if not exact and duration_s:
        expected = int(round(duration_s * fps))
    codec = stream.codec_context.name if stream.codec_context else "unknown"
    # without a decoder PyAV's stream has no picture size: the probe then reports the decoder error
    width, height = (int(stream.width), int(stream.height)) if stream.codec_context else (0, 0)
    info = StreamInfo(
        fps=fps, width=width, height=height, expected_frames=expected, codec=codec,
        duration_s=duration_s, frames_exact=exact,
    )
    return container, stream, info


def header_duration_s(container: Any, stream: Any) -> float:
    """The video stream's duration from the header, else the container's; 0 when neither says."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return 0.0


def _decode(container: Any, stream: Any, report: DecodeReport) -> Iterator[Any]:
    """Decode packet by packet. An FFmpeg error on a packet is held until the next packet: when
    data follows, the stream is damaged there and decoding stops with ``report.error`` set;
    when nothing follows, the error was the file's last, partial packet (a download cut off
    mid-packet), which is a short file, not a damaged one: ``report.tail_error`` notes it and
    :func:`check_complete` judges the count. A single-threaded decoder reports that partial
    packet at once, FFmpeg's frame threads swallow it; both end the same way here."""
    import av

    held: str | None = None
    for packet in container.demux(stream):
        if held is not None and packet.size:
            report.error = held
            return
        try:
            frames = packet.decode()
        except av.error.FFmpegError as exc:
            held = held or f"{type(exc).__name__}: {exc}"
            continue
        yield from frames
    report.tail_error = held


def _produce(container: Any, stream: Any, out: "queue.Queue[Any]", stop: threading.Event, report: DecodeReport) -> None:
    try:
        for frame in _decode(container, stream, report):
            while not stop.is_set():
                try:
                    out.put(frame, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
    except Exception as exc:  # noqa: BLE001 - a demuxer error; handed to the consumer via the report
        report.error = f"{type(exc).__name__}: {exc}"
    finally:
        while True:
            try:
                out.put(_END, timeout=0.1)
                break
            except queue.Full:
                if stop.is_set():
                    return


def iter_frames(
    path: str | Path,
    *,
    min_decoded_ratio: float = 0.95,
    threaded: bool = True,
    queue_size: int = 8,
    label: str | None = None,
    threads: int = 1,
) -> Iterator[tuple[int, "av.VideoFrame", StreamInfo]]:
    """Yield ``(decode_index, frame, info)`` for every decodable frame.

    After the last frame, checks the count against the header: fewer than
    ``min_decoded_ratio`` of the expected frames is ``truncated``; an FFmpeg error before that
    point is ``decode_error``. An error after enough frames (a damaged tail) is tolerated.
    """
    container, stream, info = open_stream(path, threads=threads)
    name = label or Path(path).name
    report = DecodeReport()
    try:
        if threaded:
            q: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
            stop = threading.Event()
            worker = threading.Thread(target=_produce, args=(container, stream, q, stop, report), daemon=True)
            worker.start()
            try:
                while True:
                    item = q.get()
                    if item is _END:
                        break
                    yield report.frames, item, info
                    report.count(item)
            finally:
                stop.set()
                worker.join(timeout=5)
        else:
            import av

            try:
                for frame in _decode(container, stream, report):
                    yield report.frames, frame, info
                    report.count(frame)
            except av.error.FFmpegError as exc:  # a demuxer error
                report.error = f"{type(exc).__name__}: {exc}"
    finally:
        container.close()
    check_complete(report, info, min_decoded_ratio, name)


def check_complete(report: DecodeReport, info: StreamInfo, min_ratio: float, name: str) -> None:
    """Raise BadInput when the decode ended early (see :func:`iter_frames`)."""
    expected = info.expected_frames
    covered = report.covered_s(info.fps)
    by_time = not info.frames_exact and info.duration_s > 0 and covered is not None
    if by_time:
        enough = covered >= min_ratio * info.duration_s  # type: ignore[operator]
        promised = f"covering {covered:.2f} s of the {info.duration_s:.2f} s the header gives"
    else:
        enough = expected <= 0 or report.frames >= min_ratio * expected
        promised = f"the header promises {expected}"
    if report.frames == 0:
        raise BadInput("decode_error" if report.error else "no_frames", f"{name}: no frame decodes ({report.error or 'empty stream'})")
    if report.error and not enough:
        raise BadInput("decode_error", f"{name}: decoding failed after frame {report.frames} ({promised}): {report.error}")
    if not enough:
        cut = f" (its last packet is cut off: {report.tail_error})" if report.tail_error else ""
        raise BadInput("truncated", f"{name}: {report.frames} frames decode, {promised}{cut}")


def pure_decode(path: str | Path, *, to_bgr: bool = False, threaded: bool = False) -> int:
    """Decode every frame and do nothing else (the baseline the bench compares against)."""
    from av.video.reformatter import VideoReformatter

    scaler = VideoReformatter()
    n = 0
    for _, frame, _ in iter_frames(path, threaded=threaded, min_decoded_ratio=0.0):
        if to_bgr:
            scaler.reformat(frame, format="bgr24", threads=1).to_ndarray()
        n += 1
    return n
