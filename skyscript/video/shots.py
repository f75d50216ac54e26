"""Shot boundaries: PySceneDetect's content and adaptive detectors fed frame by frame, merged
with the gradual transitions of :mod:`skyscript.video.transitions` into shot spans.

Frame numbers are 0-based decode indices counted by the caller; a cut at frame ``n`` means
frame ``n`` is the first frame of the new shot.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from skyscript.video.transitions import Transition


@dataclass(frozen=True)
class ShotSpan:
    index: int
    start: int  # inclusive
    end: int  # exclusive
    transition_in: str | None  # cut | dissolve | fade | None (first shot)
    transition_span: tuple[int, int] | None = None  # frames of the incoming transition


@dataclass
class CutDetector:
    """Hard cuts from PySceneDetect 0.6, fed frame by frame.

    One :class:`~scenedetect.detectors.AdaptiveDetector` does both jobs: it computes the
    content detector's HSV score once per frame (its base class is ``ContentDetector``) and
    reports frames whose score stands out from their neighbours (adaptive ratio). A frame
    also counts as a cut when its content score alone is above twice the content threshold and
    is the highest in its neighbourhood (a cut so strong no neighbour average can hide it).

    Grey and desaturated frames (black-and-white flashbacks): their hue is noise, and an
    encoder's keyframe (a new GOP) reshuffles that noise, so the HSV score jumped at GOP
    boundaries of a static grey shot (a 12-frame-GOP MPEG-4 clip was cut into 7 shots). A second,
    luma-only detector runs beside the first; between two grey frames a cut needs it to agree.
    It is fed grey frames only (its verdict is asked for nothing else), one fresh detector per run
    of grey frames, so colour footage does not pay for a second HSV pass.
    """

    content_threshold: float
    adaptive_threshold: float
    min_shot_frames: int
    scores: list[float] = field(default_factory=list)
    grey_chroma: float = 4.0  # mean |Cr-128| + |Cb-128| below which a frame has no usable colour
    _adaptive: Any = None
    _luma: Any = None
    _adaptive_cuts: list[int] = field(default_factory=list)
    _luma_cuts: list[int] = field(default_factory=list)
    luma_scores: list[float] = field(default_factory=list)
    grey: list[bool] = field(default_factory=list)
    _last: int = -1
    _luma_last: int = -1  # the last frame the luma detector was fed

    def __post_init__(self) -> None:
        self._adaptive = adaptive_detector()(
            adaptive_threshold=self.adaptive_threshold, min_scene_len=self.min_shot_frames,
            min_content_val=self.content_threshold * 0.5,
        )
        self._luma = self._new_luma()

    def _new_luma(self) -> Any:
        return adaptive_detector()(
            adaptive_threshold=self.adaptive_threshold, min_scene_len=self.min_shot_frames,
            min_content_val=self.content_threshold * 0.5, luma_only=True,
        )

    def _flush_luma(self) -> None:
        if self._luma_last >= 0:
            self._luma_cuts += self._luma.post_process(self._luma_last)
        self._luma = self._new_luma()
        self._luma_last = -1

    def feed(self, frame_num: int, bgr: np.ndarray) -> float:
        """Process one analysis frame; returns the content score against the previous frame."""
        from skyscript.models.face_detect import is_low_chroma

        self._adaptive_cuts += self._adaptive.process_frame(frame_num, bgr)
        # the detector keeps the frame's content score (ContentDetector._frame_score in 0.6)
        score = float(getattr(self._adaptive, "_frame_score", 0.0) or 0.0)
        self.scores.append(score)
        grey = is_low_chroma(bgr, self.grey_chroma)
        self.grey.append(grey)
        if grey:
            if self._luma_last != frame_num - 1:
                self._flush_luma()  # a new run of grey frames: compared with each other only
            self._luma_cuts += self._luma.process_frame(frame_num, bgr)
            self._luma_last = frame_num
            self.luma_scores.append(float(getattr(self._luma, "_frame_score", 0.0) or 0.0))
        else:
            self.luma_scores.append(0.0)
        self._last = frame_num
        return score

    def _grey_pair(self, c: int) -> bool:
        return 0 < c < len(self.grey) and self.grey[c] and self.grey[c - 1]

    def _luma_agrees(self, c: int) -> bool:
        return any(abs(c - lc) <= 1 for lc in self._luma_cuts) or self.luma_scores[c] >= 2 * self.content_threshold

    def strong_cuts(self) -> list[int]:
        s = np.asarray(self.scores)
        r = max(1, self.min_shot_frames // 2)
        out = []
        for c in np.nonzero(s >= 2 * self.content_threshold)[0]:
            c = int(c)
            if c > 0 and s[c] >= s[max(0, c - r) : c + r + 1].max():
                out.append(c)
        return out

    def finish(self) -> list[int]:
        if self._last >= 0:
            self._adaptive_cuts += self._adaptive.post_process(self._last)
            self._flush_luma()
        cuts = sorted(c for c in set(self._adaptive_cuts) | set(self.strong_cuts())
                      if not self._grey_pair(c) or self._luma_agrees(c))
        merged: list[int] = []
        for c in cuts:
            if c <= 0:
                continue
            if merged and c - merged[-1] < self.min_shot_frames:
                if self.scores[c] > self.scores[merged[-1]]:
                    merged[-1] = c
                continue
            merged.append(c)
        return merged


@functools.cache
def adaptive_detector() -> type:
    """PySceneDetect's :class:`~scenedetect.detectors.AdaptiveDetector` with its per-frame content
    score computed in one pass: one HSV conversion, one absolute difference of all three channels
    against the previous frame's and one sum per channel (``cv2.absdiff`` + ``cv2.sumElems``),
    where the library makes two int32 copies, a difference and an absolute value per channel.
    The sums are the same integers, so the score is the same float (a test compares the two on
    real footage); at the scan's 128 px frames it costs about a quarter. Edge-weighted detectors
    and ones that record statistics keep the library's own computation. Everything else (the
    adaptive ratio, the minimum scene length, the flash filter) is the library's."""
    import cv2
    from scenedetect.detectors import AdaptiveDetector

    class OnePassAdaptiveDetector(AdaptiveDetector):  # type: ignore[misc]
        _previous_hsv: np.ndarray | None = None

        def _calculate_frame_score(self, frame_num: int, frame_img: np.ndarray) -> float:
            weights = self._weights
            if weights.delta_edges > 0.0 or self.stats_manager is not None:
                return float(super()._calculate_frame_score(frame_num, frame_img))
            hsv = cv2.cvtColor(frame_img, cv2.COLOR_BGR2HSV)
            previous, self._previous_hsv = self._previous_hsv, hsv
            if previous is None:
                return 0.0
            pixels = float(hsv.shape[0] * hsv.shape[1])
            d_hue, d_sat, d_lum, _ = cv2.sumElems(cv2.absdiff(hsv, previous))
            weighted = (d_hue / pixels) * weights.delta_hue + (d_sat / pixels) * weights.delta_sat + (d_lum / pixels) * weights.delta_lum
            return weighted / sum(abs(w) for w in weights)

    return OnePassAdaptiveDetector


def build_shots(
    n_frames: int,
    cuts: Sequence[int],
    gradual: Sequence[Transition],
    min_shot_frames: int,
) -> list[ShotSpan]:
    """Merge hard cuts and gradual transitions into shot spans covering ``[0, n_frames)``.

    A hard cut inside (or within two frames of) a gradual transition belongs to it; boundaries
    closer than ``min_shot_frames`` keep the stronger one (gradual before cut)."""
    events: list[tuple[int, str, tuple[int, int] | None]] = []
    for tr in gradual:
        events.append((tr.boundary, tr.kind, (tr.start, tr.end)))
    for c in cuts:
        if any(tr.start - 2 <= c <= tr.end + 2 for tr in gradual):
            continue
        events.append((c, "cut", (c, c)))
    events.sort(key=lambda e: e[0])
    kept: list[tuple[int, str, tuple[int, int] | None]] = []
    for ev in events:
        if ev[0] < min_shot_frames or ev[0] > n_frames - min_shot_frames:
            continue
        if kept and ev[0] - kept[-1][0] < min_shot_frames:
            if kept[-1][1] == "cut" and ev[1] != "cut":
                kept[-1] = ev
            continue
        kept.append(ev)
    bounds = [0] + [e[0] for e in kept] + [n_frames]
    shots: list[ShotSpan] = []
    for i in range(len(bounds) - 1):
        ev = kept[i - 1] if i > 0 else None
        span = ev[2] if ev is not None and ev[1] != "cut" else None
        shots.append(ShotSpan(i, bounds[i], bounds[i + 1], ev[1] if ev else None, span))
    return shots
