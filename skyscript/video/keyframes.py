"""Keyframe candidates during the pass, keyframe choice after it.

During the pass the :class:`CandidatePool` keeps, for each stretch of at most
``keyframe_window_s`` (a stretch also ends where the content score says a cut may be), the
sharpest frame: its full-resolution picture is JPEG-encoded to a spill folder when the stretch
closes, so memory stays bounded whatever the episode's length.

After the pass, :func:`select_keyframes` takes for each shot ``keyframes_per_shot`` stretches
and the best candidate of each (valid before invalid, then sharpest), skips frames inside
transitions and next to the shot's ends when the shot has others, and drops near-duplicates (dHash distance).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from skyscript.video.quality import FrameQuality, Verdict
from skyscript.video.shots import ShotSpan


def dhash(gray: np.ndarray, size: int = 8) -> int:
    """64-bit difference hash of a grey image."""
    import cv2

    small = cv2.resize(gray, (size + 1, size), interpolation=cv2.INTER_AREA)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


@dataclass
class Candidate:
    frame_index: int
    sharpness: float
    quality: FrameQuality
    verdict: Verdict
    dhash: int
    jpeg_path: Path
    width: int
    height: int


class CandidatePool:
    """Keeps the sharpest frame of each stretch; encodes it when the stretch closes.

    ``to_bgr`` turns the kept decoder frame into a full-resolution BGR array; ``judge`` gives
    the quality verdict of an analysis grey frame.
    """

    def __init__(
        self,
        spill_dir: Path,
        window_frames: int,
        cut_score: float,
        jpeg_quality: int,
        to_bgr: Callable[[Any], np.ndarray],
        measure: Callable[[np.ndarray], FrameQuality],
        judge: Callable[[FrameQuality], Verdict],
    ) -> None:
        self.spill_dir = spill_dir
        spill_dir.mkdir(parents=True, exist_ok=True)
        self.window = max(1, window_frames)
        self.cut_score = cut_score
        self.jpeg_quality = jpeg_quality
        self._to_bgr = to_bgr
        self._measure = measure
        self._judge = judge
        self.candidates: list[Candidate] = []
        self._start = 0
        self._best: tuple[int, float, Any, np.ndarray] | None = None

    def offer(self, index: int, frame: Any, gray: np.ndarray, sharp: float, content_score: float) -> None:
        if self._best is not None and (index - self._start >= self.window or content_score >= self.cut_score):
            self._close()
        if self._best is None:
            self._start = index
        if self._best is None or sharp > self._best[1]:
            self._best = (index, sharp, frame, gray.copy())

    def finish(self) -> list[Candidate]:
        if self._best is not None:
            self._close()
        return self.candidates

    def _close(self) -> None:
        import cv2

        assert self._best is not None
        index, sharp, frame, gray = self._best
        self._best = None
        bgr = self._to_bgr(frame)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:  # pragma: no cover - cv2 encodes any uint8 BGR array
            raise RuntimeError(f"JPEG encoding failed for frame {index}")
        path = self.spill_dir / f"f{index:07d}.jpg"
        path.write_bytes(buf.tobytes())
        q = self._measure(gray)
        self.candidates.append(
            Candidate(index, sharp, q, self._judge(q), dhash(gray), path, int(bgr.shape[1]), int(bgr.shape[0]))
        )


def select_keyframes(
    shots: Sequence[ShotSpan],
    candidates: Sequence[Candidate],
    per_shot: int,
    duplicate_distance: int,
) -> dict[int, list[Candidate]]:
    """Keyframes per shot index (see module doc). Every shot with a candidate gets one."""
    by_shot: dict[int, list[Candidate]] = {}
    spans = [s.transition_span for s in shots]
    for i, shot in enumerate(shots):
        inside = [c for c in candidates if shot.start <= c.frame_index < shot.end]
        if not inside:
            by_shot[shot.index] = []
            continue
        in_transition = []
        for sp in (spans[i], spans[i + 1] if i + 1 < len(shots) else None):
            if sp is not None:
                in_transition.append(sp)
        # frames next to a boundary are the likeliest to carry transition or encoder artefacts
        margin = max(2, (shot.end - shot.start) // 10)
        clean = [
            c for c in inside
            if not any(a <= c.frame_index < b for a, b in in_transition)
            and shot.start + margin <= c.frame_index < shot.end - margin
        ]
        pool = clean or [c for c in inside if not any(a <= c.frame_index < b for a, b in in_transition)] or inside
        k = min(per_shot, len(pool))
        edges = np.linspace(shot.start, shot.end, k + 1)
        chosen: list[Candidate] = []
        for j in range(k):
            part = [c for c in pool if edges[j] <= c.frame_index < edges[j + 1]] or pool
            best = max(part, key=lambda c: (c.verdict.valid, c.sharpness))
            if best in chosen:
                continue
            if any(hamming(best.dhash, o.dhash) <= duplicate_distance for o in chosen):
                continue
            chosen.append(best)
        by_shot[shot.index] = sorted(chosen, key=lambda c: c.frame_index)
    return by_shot
