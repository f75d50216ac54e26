"""Keyframe candidates during the pass, keyframe choice after it.

During the pass the :class:`CandidatePool` keeps, for each stretch of at most
``keyframe_window_s`` (a stretch also ends where the content score says a cut may be), the
sharpest frame by the pass's own small-frame sharpness (its *rank*). Nothing more is done to it
then: its full-resolution picture stays as the decoder produced it, with no colour conversion,
no quality measure and no JPEG. After the pass, :func:`select_keyframes` assesses candidates
(quality at the analysis width, verdict, dHash) only as far as the choice needs them, and only
the chosen ones are converted and encoded (:meth:`CandidatePool.write`). Memory stays bounded
whatever the episode's length: past ``memory_bytes`` of held pictures the oldest candidates are
measured and their pictures written to the spill folder as the decoder's raw planes (a copy, no
conversion: about 0.2 ms a 720p picture against 4 ms for a JPEG, and most spilled candidates are
never chosen), read back only if chosen; a pixel format PyAV cannot turn back into a frame is
JPEG-encoded at once instead.

:func:`select_keyframes` takes for each shot ``keyframes_per_shot`` stretches and the best
candidate of each (valid before invalid, then sharpest), skips frames inside transitions and
next to the shot's ends when the shot has others, and drops near-duplicates (dHash distance).
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
    rank: float  # sharpness on the pass's small frame: orders candidates, no threshold applies to it
    width: int
    height: int
    quality: FrameQuality | None = None  # measured at the analysis width once assessed
    verdict: Verdict | None = None
    dhash: int | None = None
    jpeg_path: Path | None = None  # set once the picture is encoded (chosen keyframes always are)

    @property
    def measured(self) -> bool:
        return self.quality is not None and self.dhash is not None

    @property
    def sharpness(self) -> float:
        """Variance of the Laplacian at the analysis width (an assessed candidate's)."""
        if self.quality is None:
            raise ValueError(f"candidate {self.frame_index} has not been assessed")
        return self.quality.sharpness


class CandidatePool:
    """Keeps the sharpest frame of each stretch; encodes pictures only when asked to.

    ``to_grey`` turns a kept decoder frame into the grey analysis frame its quality is
    measured on (``measure``); ``to_bgr`` into a full-resolution BGR array for the JPEG;
    ``frame_bytes`` tells how much memory such a frame holds. Judging a measured candidate
    (its :class:`Verdict`) is the caller's: it needs the shot, which the pool does not know.
    """

    def __init__(
        self,
        spill_dir: Path,
        window_frames: int,
        cut_score: float,
        jpeg_quality: int,
        to_bgr: Callable[[Any], np.ndarray],
        to_grey: Callable[[Any], np.ndarray],
        measure: Callable[[np.ndarray], FrameQuality],
        memory_bytes: int = 256 << 20,
        frame_bytes: Callable[[Any], int] = lambda f: int(f.width * f.height * 3 // 2),
    ) -> None:
        self.spill_dir = spill_dir
        spill_dir.mkdir(parents=True, exist_ok=True)
        self.window = max(1, window_frames)
        self.cut_score = cut_score
        self.jpeg_quality = jpeg_quality
        self.memory_bytes = memory_bytes
        self._to_bgr = to_bgr
        self._to_grey = to_grey
        self._measure = measure
        self._frame_bytes = frame_bytes
        self.candidates: list[Candidate] = []
        self.spilled = 0  # candidates written to disk early because the memory budget was reached
        self._held: dict[int, tuple[Candidate, Any, int]] = {}  # frame index -> (candidate, frame, bytes)
        self._raw: dict[int, tuple[Path, str]] = {}  # frame index -> (spilled planes, pixel format)
        self._held_bytes = 0
        self._start = 0
        self._best: tuple[int, float, Any] | None = None

    def offer(self, index: int, frame: Any, sharp: float, content_score: float) -> None:
        """Offer decoded frame ``index``; ``sharp`` ranks it within its stretch (any scale)."""
        if self._best is not None and (index - self._start >= self.window or content_score >= self.cut_score):
            self._close()
        if self._best is None:
            self._start = index
        if self._best is None or sharp > self._best[1]:
            self._best = (index, sharp, frame)

    def finish(self) -> list[Candidate]:
        if self._best is not None:
            self._close()
        return self.candidates

    def measure(self, cand: Candidate) -> None:
        """Measure ``cand``'s quality at the analysis width and hash it (once)."""
        if not cand.measured:
            self._measure_frame(cand, self._frame_of(cand))

    def write(self, chosen: Sequence[Candidate]) -> None:
        """Encode the pictures of ``chosen`` (those not spilled yet), then let every held picture go."""
        for c in chosen:
            if c.jpeg_path is None:
                self._encode(c, self._frame_of(c))
        self._held.clear()
        self._held_bytes = 0
        for path, _fmt in self._raw.values():  # spilled and not chosen
            path.unlink(missing_ok=True)
        self._raw.clear()

    def _frame_of(self, cand: Candidate) -> Any:
        held = self._held.get(cand.frame_index)
        if held is not None:
            return held[1]
        raw = self._raw.pop(cand.frame_index, None)
        if raw is None:
            raise KeyError(f"frame {cand.frame_index}'s picture is not held by this pool")
        import av

        path, fmt = raw
        frame = av.VideoFrame.from_ndarray(np.load(path), format=fmt)
        path.unlink(missing_ok=True)
        return frame

    def _measure_frame(self, cand: Candidate, frame: Any) -> None:
        gray = self._to_grey(frame)
        cand.quality, cand.dhash = self._measure(gray), dhash(gray)

    def _close(self) -> None:
        assert self._best is not None
        index, rank, frame = self._best
        self._best = None
        cand = Candidate(index, rank, int(frame.width), int(frame.height))
        self.candidates.append(cand)
        size = self._frame_bytes(frame)
        self._held[index] = (cand, frame, size)
        self._held_bytes += size
        while self._held_bytes > self.memory_bytes and len(self._held) > 1:
            oldest = next(iter(self._held))
            old, old_frame, old_size = self._held.pop(oldest)
            if not old.measured:
                self._measure_frame(old, old_frame)
            self._spill(old, old_frame)
            self._held_bytes -= old_size
            self.spilled += 1

    def _spill(self, cand: Candidate, frame: Any) -> None:
        """Write a let-go candidate's picture to disk: its raw planes when PyAV can rebuild the
        frame from them, else its JPEG."""
        fmt = getattr(getattr(frame, "format", None), "name", None)
        try:
            planes = frame.to_ndarray()
            if fmt is None or planes.dtype != np.uint8:
                raise ValueError(fmt)
        except (AttributeError, ValueError, TypeError):  # not a decoder frame, or a format it cannot copy out
            self._encode(cand, frame)
            return
        path = self.spill_dir / f"f{cand.frame_index:07d}.npy"
        np.save(path, planes, allow_pickle=False)
        self._raw[cand.frame_index] = (path, fmt)

    def _encode(self, cand: Candidate, frame: Any) -> None:
        import cv2

        bgr = self._to_bgr(frame)
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:  # pragma: no cover - cv2 encodes any uint8 BGR array
            raise RuntimeError(f"JPEG encoding failed for frame {cand.frame_index}")
        path = self.spill_dir / f"f{cand.frame_index:07d}.jpg"
        path.write_bytes(buf.tobytes())
        cand.jpeg_path = path
        cand.width, cand.height = int(bgr.shape[1]), int(bgr.shape[0])


def select_keyframes(
    shots: Sequence[ShotSpan],
    candidates: Sequence[Candidate],
    per_shot: int,
    duplicate_distance: int,
    assess: Callable[[Candidate], None] | None = None,
) -> dict[int, list[Candidate]]:
    """Keyframes per shot index (see module doc). Every shot with a candidate gets one.

    ``assess`` fills in a candidate's quality, dHash and verdict; it is called in rank order
    within each stretch until a valid candidate turns up, so most candidates are never assessed.
    Without it every candidate must come with its verdict and dHash."""

    def best_of(part: list[Candidate]) -> Candidate:
        ordered = sorted(part, key=lambda c: -c.rank)
        for c in ordered:
            if assess is not None:
                assess(c)
            if c.verdict is None:
                raise ValueError(f"candidate {c.frame_index} has not been assessed")
            if c.verdict.valid:
                return c
        return ordered[0]

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
            best = best_of(part)
            if best in chosen:
                continue
            if any(hamming(best.dhash or 0, o.dhash or 0) <= duplicate_distance for o in chosen):
                continue
            chosen.append(best)
        by_shot[shot.index] = sorted(chosen, key=lambda c: c.frame_index)
    return by_shot
