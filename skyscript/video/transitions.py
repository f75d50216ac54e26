"""Gradual transitions (fades and dissolves) from per-frame signals gathered in the decode pass.

The "video with transitions" case of the Open-Sora notes: hard cuts are found by PySceneDetect
(:mod:`skyscript.video.shots`), but a dissolve or a fade changes the picture a little every
frame, below any cut threshold. Both are found after the pass from small grey thumbnails:

* fade: a run of flat frames (grey std below ``fade_flat_std``: black, white, one colour)
  inside the video, with the ramps either side where the std falls into and rises out of it.
  A fade-out followed by a fade-in is one boundary, at the middle of the flat run.
* dissolve: frame ``t`` is close to the 50/50 blend of frames ``t-k`` and ``t+k`` while those
  two differ a lot, and no single step in between carries the change (that would be a cut).
  Camera motion fails the blend test (the blend of two shifted pictures is a double image),
  and a cut fails the no-single-step test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Transition:
    kind: str  # "fade" | "dissolve"
    start: int  # first frame of the transition (inclusive)
    end: int  # last frame + 1
    boundary: int  # first frame of the new shot
    score: float  # fade: flat frames; dissolve: 1 - relative blend error


def flat_runs(luma_std: np.ndarray, flat_std: float) -> list[tuple[int, int]]:
    """Maximal runs [a, b) of flat frames."""
    flat = luma_std < flat_std
    runs: list[tuple[int, int]] = []
    i, n = 0, len(flat)
    while i < n:
        if flat[i]:
            j = i
            while j < n and flat[j]:
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    return runs


def detect_fades(luma_std: np.ndarray, flat_std: float, max_ramp: int) -> list[Transition]:
    """Fades through a flat frame inside the video (not a fade-in at the start or out at the end)."""
    n = len(luma_std)
    out: list[Transition] = []
    for a, b in flat_runs(luma_std, flat_std):
        if a == 0 or b >= n:
            continue
        start = a
        while start > 0 and a - start < max_ramp and luma_std[start - 1] > luma_std[start] + 0.2:
            start -= 1
        end = b
        while end < n and end - b < max_ramp and luma_std[end] > luma_std[end - 1] + 0.2:
            end += 1
        # the loops stop on the last undimmed frame each side: the ramp lies between them
        start = start + 1 if start < a else start
        end = end - 1 if end > b else end
        out.append(Transition("fade", start, end, (a + b) // 2, float(b - a)))
    return out


def _mad(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.abs(x - y).mean())


def detect_dissolves(
    thumbs: Sequence[np.ndarray],
    fps: float,
    *,
    min_change: float,
    max_blend_error: float,
    max_len_s: float,
    blocked: Sequence[tuple[int, int]] = (),
) -> list[Transition]:
    """Dissolves in a sequence of grey thumbnails (uint8 or float, all one size).

    ``blocked`` spans (e.g. fades, the frames around hard cuts) are never the centre of a
    dissolve. Half-windows from about 0.15 s to ``max_len_s / 2`` are tried; runs of centre
    candidates collapse to the best-scoring centre.
    """
    n = len(thumbs)
    if n < 5:
        return []
    t = np.stack([np.asarray(x, dtype=np.float32) for x in thumbs])
    step = np.abs(np.diff(t, axis=0)).mean(axis=(1, 2))  # step[i]: frame i -> i+1
    block = np.zeros(n, dtype=bool)
    for a, b in blocked:
        block[max(a, 0) : min(b, n)] = True
    k_min = max(2, int(round(0.15 * fps)))
    k_max = max(k_min, int(round(max_len_s * fps / 2)))
    ks = sorted({k_min, *range(k_min, k_max + 1, max(1, (k_max - k_min) // 4 or 1)), k_max})
    best_score = np.full(n, -1.0)
    best_k = np.zeros(n, dtype=int)
    for k in ks:
        if n - 2 * k <= 0:
            continue
        changes = np.abs(t[2 * k :] - t[: n - 2 * k]).mean(axis=(1, 2))  # index c - k
        for c in np.nonzero(changes >= min_change)[0] + k:
            c = int(c)
            if block[c]:
                continue
            a, b = t[c - k], t[c + k]
            change = float(changes[c - k])
            # the change must be spread over the window, not one step (a cut)
            if step[c - k : c + k].max() > 0.5 * change:
                continue
            mid = t[c]
            blend_err = _mad(mid, 0.5 * (a + b)) / change
            hold_err = min(_mad(mid, a), _mad(mid, b)) / change
            if blend_err > max_blend_error or hold_err < 0.3:
                continue
            # quarter points must sit on the same blend line (a dissolve, not two pans)
            q1, q3 = t[c - k // 2], t[c + k // 2]
            q_err = max(_mad(q1, 0.75 * a + 0.25 * b), _mad(q3, 0.25 * a + 0.75 * b)) / change
            if q_err > max_blend_error * 1.5:
                continue
            score = 1.0 - max(blend_err, q_err / 1.5)
            if score > best_score[c]:
                best_score[c], best_k[c] = score, k
    out: list[Transition] = []
    c = 0
    while c < n:
        if best_score[c] < 0:
            c += 1
            continue
        j = c
        while j < n and best_score[j] >= 0:
            j += 1
        run = np.arange(c, j)
        centre = int(run[np.argmax(best_score[c:j])])
        k = int(best_k[centre])
        start = max(min(c, centre - k), 0)
        end = min(max(j, centre + k + 1), n)
        out.append(Transition("dissolve", start, end, centre, float(best_score[centre])))
        c = j
    return out
