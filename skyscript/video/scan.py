"""The single decode pass over an episode: shots, transitions, keyframes, frame quality and
camera movement from one read of the file.

Each decoded frame is reduced once, in FFmpeg's scaler, to one small colour picture at the pass
width (128 px by default; fast bilinear sampling, like PySceneDetect's own downscale). That
picture feeds PySceneDetect's detectors (their HSV score needs colour, not detail), the luma
statistics and grey thumbnails for fades and dissolves, the sharpness that ranks keyframe
candidates and, a few times a second, the global-motion estimate and the flat-cell share that
tells each shot's clear level for the occlusion test. The decoder's own full-size picture of
each stretch's best candidate is held as it is; after the pass only the candidates the choice
needs are measured at the analysis width (320 px, area-averaged) and only the chosen keyframes
are converted to BGR and JPEG-encoded. Everything that needs the whole episode (gradual
transitions, shot spans, per-shot camera movement, the keyframe choice) runs on those small
signals after the pass.

Measured on a 1280x720 H.264 episode with two cores (``bench/bench_scan.py --h264 1280x720
--loops 4``): the pass takes 1.07-1.36x the time of decoding alone (median 1.16 over five runs
on a shared machine); what made the difference was doing per frame only what cannot wait (one
small reduction, no full-size conversion, no JPEG, no quality measure). The pass's own cost is
about 0.5 ms a frame whatever the codec (measured on frames decoded beforehand), so on files that decode very cheaply (Megamind's
MPEG-4 Part 2, 2,100 frames/s) the ratio is about 1.6x. Reducing each frame in the decoding
thread instead (FFmpeg's scaler releases the GIL) was tried and measured no faster.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skyscript.config import ScanSettings
from skyscript.video import quality
from skyscript.video.decode import StreamInfo, iter_frames
from skyscript.video.keyframes import Candidate, CandidatePool, select_keyframes
from skyscript.video.motion import CameraMovement, GlobalMotion, MotionSample, classify
from skyscript.video.shots import CutDetector, ShotSpan, build_shots
from skyscript.video.transitions import Transition, detect_dissolves, detect_fades


@dataclass
class ShotResult:
    span: ShotSpan
    start_s: float
    end_s: float
    camera: CameraMovement
    keyframes: list[Candidate]
    mean_luma: float
    mean_sharpness: float  # variance of the Laplacian at the pass width, averaged over the shot


@dataclass
class ScanResult:
    info: StreamInfo
    frames: int
    fps: float
    analysis_size: tuple[int, int]  # keyframe candidates' quality is judged at this size
    pass_size: tuple[int, int]  # every frame is reduced to this size for the per-frame signals
    motion_size: tuple[int, int]
    cuts: list[int]
    transitions: list[Transition]
    shots: list[ShotResult]
    candidates: list[Candidate]
    motion: list[MotionSample]
    times: np.ndarray = field(default_factory=lambda: np.zeros(0))  # each frame's time, s from the first (n + 1: the end)
    timings: dict[str, float] = field(default_factory=dict)
    spilled: int = 0  # candidates encoded during the pass because their pictures outgrew the memory budget

    @property
    def keyframes(self) -> list[Candidate]:
        return [k for s in self.shots for k in s.keyframes]

    def time_of(self, index: int) -> float:
        """Seconds from the first frame to frame ``index`` (``frames``: the end of the last one)."""
        return float(self.times[index])


def frame_times(stamps: list[float | None], fps: float) -> np.ndarray:
    """Each frame's presentation time in seconds from the first frame, plus the end of the
    last frame (``len(stamps) + 1`` values). From the frames' own timestamps, so that times are
    right for variable-frame-rate files; ``index / fps`` when a timestamp is missing or the
    timestamps do not increase (a damaged or oddly muxed file)."""
    n = len(stamps)
    step = 1.0 / fps if fps else 0.0
    if n and all(t is not None for t in stamps):
        t = np.asarray(stamps, dtype=np.float64) - float(stamps[0])  # type: ignore[arg-type]
        if n == 1 or np.all(np.diff(t) > 0):
            last = float(np.median(np.diff(t[-9:]))) if n > 1 else step  # the last frame lasts like its neighbours
            return np.append(t, t[-1] + last)
    return np.arange(n + 1, dtype=np.float64) * step


def analysis_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """Analysis frame size: ``target_width`` wide (never upscaled), even dimensions."""
    w = min(target_width, width)
    w -= w % 2
    h = max(2, int(round(height * w / width / 2)) * 2)
    return w, h


def _scaled(size: tuple[int, int], width: int) -> tuple[int, int]:
    """``size`` scaled down (never up) to ``width``, keeping the aspect ratio."""
    w = min(width, size[0])
    return w, max(2, int(round(size[1] * w / size[0])))


def scan_video(
    path: str | Path,
    vs: ScanSettings,
    workdir: str | Path,
    *,
    label: str | None = None,
    log: logging.LoggerAdapter[logging.Logger] | logging.Logger | None = None,
) -> ScanResult:
    """Run the pass over ``path``; keyframe JPEGs are written under ``workdir``.

    Raises :class:`~skyscript.errors.BadInput` for a file that does not decode to the end.
    """
    import cv2

    log = log or logging.getLogger("skyscript.video.scan")
    workdir = Path(workdir)
    t0 = time.perf_counter()
    cut = CutDetector(vs.content_threshold, vs.adaptive_threshold, vs.min_shot_frames)
    gm = GlobalMotion()
    luma_mean: list[float] = []
    luma_std: list[float] = []
    thumbs: list[np.ndarray] = []
    sharp: list[float] = []  # at the pass width: ranks frames, no threshold applies to it
    flat: list[tuple[int, float]] = []  # sampled flat shares at the pass width: each shot's clear level
    motion: list[MotionSample] = []
    stamps: list[float | None] = []
    pool: CandidatePool | None = None
    info: StreamInfo | None = None
    size = pass_size = motion_size = thumb_size = (0, 0)
    stride = 1
    prev: tuple[int, np.ndarray] | None = None
    interpolation = vs.pass_interpolation.upper()

    from av.video.reformatter import VideoReformatter

    # each keeps its scaling context: a fresh one per frame (frame.to_ndarray) costs 3x more
    pass_scaler, grey_scaler, full_scaler = VideoReformatter(), VideoReformatter(), VideoReformatter()
    n = 0
    for i, frame, info in iter_frames(path, min_decoded_ratio=vs.min_decoded_ratio, label=label, threads=vs.decode_threads):
        if pool is None:
            size = analysis_size(frame.width, frame.height, vs.analysis_width)
            pass_size = analysis_size(frame.width, frame.height, min(vs.pass_width, size[0]))
            thumb_size = _scaled(pass_size, vs.thumb_width)
            motion_size = _scaled(pass_size, vs.motion_width)
            stride = max(1, int(round(info.fps / vs.motion_pairs_per_s)))
            grey_size = size
            pool = CandidatePool(
                workdir / "candidates",
                window_frames=max(1, int(round(vs.keyframe_window_s * info.fps))),
                cut_score=vs.content_threshold,
                jpeg_quality=vs.jpeg_quality,
                to_bgr=lambda f: full_scaler.reformat(f, format="bgr24", threads=1).to_ndarray(),
                to_grey=lambda f: grey_scaler.reformat(
                    f, width=grey_size[0], height=grey_size[1], format="gray", interpolation="AREA", threads=1
                ).to_ndarray(),
                measure=quality.measure,
                memory_bytes=int(vs.candidate_memory_mb * 2**20),
                frame_bytes=lambda f: sum(int(p.buffer_size) for p in f.planes),
            )
        small = pass_scaler.reformat(
            frame, width=pass_size[0], height=pass_size[1], format="bgr24", interpolation=interpolation, threads=1
        ).to_ndarray()
        stamps.append(frame.time)
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        score = cut.feed(i, small)
        m, s = cv2.meanStdDev(gray)
        luma_mean.append(float(m[0][0]))
        luma_std.append(float(s[0][0]))
        thumbs.append(gray if thumb_size == pass_size else cv2.resize(gray, thumb_size, interpolation=cv2.INTER_AREA))
        sharp.append(quality.sharpness(gray))
        pool.offer(i, frame, sharp[-1], score)
        if i % stride == 0:
            flat.append((i, quality.flat_share(gray)))
            mgray = gray if motion_size == pass_size else cv2.resize(gray, motion_size, interpolation=cv2.INTER_AREA)
            if prev is not None:
                motion.append(gm.estimate(prev[1], mgray, prev[0], i))
            prev = (i, mgray)
        n = i + 1
    assert info is not None and pool is not None  # iter_frames raises when nothing decodes
    t_pass = time.perf_counter() - t0
    candidates = pool.finish()
    cuts = cut.finish()
    fps = info.fps
    times = frame_times(stamps, fps)

    std = np.asarray(luma_std)
    fades = detect_fades(std, vs.fade_flat_std, max_ramp=max(1, int(round(vs.fade_max_s * fps))))
    dissolves = detect_dissolves(
        thumbs, fps, min_change=vs.dissolve_min_change, max_blend_error=vs.dissolve_max_blend_error,
        max_len_s=vs.dissolve_max_s, blocked=[(f.start, f.end) for f in fades],
        motion_compensation=vs.dissolve_motion_compensation, min_overlap=vs.dissolve_min_overlap,
    )
    dissolves = [d for d in dissolves if not any(d.start < f.end and f.start < d.end for f in fades)]
    gradual = sorted(fades + dissolves, key=lambda t: t.boundary)
    spans = build_shots(n, cuts, gradual, vs.min_shot_frames)
    clear = [_lower_quartile([v for j, v in flat if sp.start <= j < sp.end]) for sp in spans]  # each shot's clear frames
    shot_of = np.repeat(np.arange(len(spans)), [sp.end - sp.start for sp in spans])
    rule = quality.OcclusionRule(vs.occlusion_threshold, vs.occlusion_rise, vs.occlusion_blank)

    def assess(c: Candidate) -> None:
        pool.measure(c)
        if c.verdict is None and c.quality is not None:
            k = int(shot_of[c.frame_index])
            c.verdict = quality.judge(c.quality, vs.blur_threshold, vs.motion_blur_threshold, rule, clear[k])

    chosen = select_keyframes(spans, candidates, vs.keyframes_per_shot, vs.duplicate_hash_distance, assess=assess)
    pool.write([k for ks in chosen.values() for k in ks])  # only the chosen pictures are converted and encoded

    shots: list[ShotResult] = []
    lm, sa = np.asarray(luma_mean), np.asarray(sharp)
    for k, sp in enumerate(spans):
        excl = [x for x in (sp.transition_span, spans[k + 1].transition_span if k + 1 < len(spans) else None) if x]
        inside = [
            ms for ms in motion
            if sp.start <= ms.a and ms.b < sp.end and not any(a <= ms.b and ms.a < b for a, b in excl)
        ]
        cam = classify(
            inside, fps, motion_size[0], motion_size[1],
            min_speed=vs.camera_min_speed, min_zoom=vs.camera_min_zoom, jitter=vs.camera_jitter, times=times,
        )
        shots.append(
            ShotResult(
                span=sp, start_s=float(times[sp.start]), end_s=float(times[sp.end]), camera=cam, keyframes=chosen.get(sp.index, []),
                mean_luma=float(lm[sp.start : sp.end].mean()),
                mean_sharpness=float(sa[sp.start : sp.end].mean()),
            )
        )
    t_all = time.perf_counter() - t0
    log.info(
        "scanned %d frames in %.2fs (pass %.2fs): %d shots, %d cuts, %d fades, %d dissolves, %d keyframes",
        n, t_all, t_pass, len(shots), len(cuts), len(fades), len(dissolves), sum(len(s.keyframes) for s in shots),
    )
    return ScanResult(
        info=info, frames=n, fps=fps, analysis_size=size, pass_size=pass_size, motion_size=motion_size, cuts=cuts, transitions=gradual, shots=shots,
        candidates=candidates, motion=motion, times=times, timings={"pass_s": t_pass, "total_s": t_all}, spilled=pool.spilled,
    )


def _lower_quartile(values: list[float]) -> float | None:
    return float(np.percentile(values, 25)) if values else None


def summary(result: ScanResult) -> dict[str, Any]:
    """A compact, JSON-friendly view (for logs, the bench and debugging)."""
    return {
        "frames": result.frames,
        "fps": round(result.fps, 3),
        "shots": [
            {
                "index": s.span.index, "start": s.span.start, "end": s.span.end, "transition_in": s.span.transition_in,
                "camera": s.camera.label, "speed": None if s.camera.speed is None else round(s.camera.speed, 3),
                "keyframes": [(k.frame_index, k.verdict.reason) for k in s.keyframes],
            }
            for s in result.shots
        ],
    }
