"""Gradual transitions (fades and dissolves) from per-frame signals gathered in the decode pass.

The "video with transitions" case of the Open-Sora notes: hard cuts are found by PySceneDetect
(:mod:`skyscript.video.shots`), but a dissolve or a fade changes the picture a little every
frame, below any cut threshold. Both are found after the pass from small grey thumbnails:

* fade: a run of flat frames (grey std below ``fade_flat_std``: black, white, one colour)
  inside the video, with the ramps either side where the std falls into and rises out of it.
  A fade-out followed by a fade-in is one boundary, at the middle of the flat run.
* dissolve: frame ``t`` is close to the 50/50 blend of frames ``t-k`` and ``t+k`` while those
  two differ a lot, and no single step in between carries the change (that would be a cut),
  nor stands out from the steps around it (a cut inside the window).
  When a shot moves, ``t-k`` and ``t+k`` are not the pictures that were mixed at ``t``: each
  end is first carried to ``t`` along its own shot's global motion (shift and zoom, read by
  Lucas-Kanade on the thumbnails just outside the window, before ``t-k`` and after ``t+k``),
  then the same blend test runs on the carried ends, and the mix fitted at the quarter points
  must rise through 0.5 at ``t``, steadily and symmetrically. A single camera move (a pan, a
  zoom, a hand-held shot) is no dissolve: carried to ``t``, its two ends are the same picture.
  The same check drops still windows that only look like a blend: a slow zoom over fine detail,
  or a light change (the carried ends are one picture, lit differently).
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


# ---------------------------------------------------------------------------------------------
# dissolves

_HOLD_MIN = 0.3  # the middle frame must be this far (relative to the change) from both ends
_SPIKE = 3.0  # a step this many times the median of the six around it ...
_SPIKE_SHARE = 0.25  # ... and above this share of the change is a cut inside the window
_SAME_PICTURE = 0.9  # carried ends this correlated are one picture (a light change, not a dissolve)


def _mad(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean absolute difference per picture of two stacks (M, h, w)."""
    d = np.abs(x - y)
    if not len(d):
        return np.zeros(0, d.dtype)
    return d.reshape(len(d), -1).mean(axis=1)


def _masked_mad(x: np.ndarray, y: np.ndarray, w: np.ndarray, wsum: np.ndarray) -> np.ndarray:
    return np.einsum("mij,mij->m", np.abs(x - y), w) / wsum


def _sliding_max(x: np.ndarray, width: int) -> np.ndarray:
    """``out[i] = x[i : i + width].max()`` for every full window."""
    return np.lib.stride_tricks.sliding_window_view(x, width).max(axis=1)


def _warp(img: np.ndarray, tx: np.ndarray, ty: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each picture of ``img`` (M, h, w) with its content scaled by ``s`` about the centre and
    moved by ``(tx, ty)`` pixels (bilinear). Returns the pictures and where they are defined
    (the source point lies inside the picture)."""
    import cv2

    m, h, w = img.shape
    xc, yc = (w - 1) / 2, (h - 1) / 2
    xs = (np.arange(w, dtype=np.float32) - xc - tx[:, None]) / s[:, None] + xc
    ys = (np.arange(h, dtype=np.float32) - yc - ty[:, None]) / s[:, None] + yc
    inside = ((ys >= -0.01) & (ys <= h - 0.99))[:, :, None] & ((xs >= -0.01) & (xs <= w - 0.99))[:, None, :]
    xs = np.clip(xs, 0, w - 1).astype(np.float32)
    ys = np.clip(ys, 0, h - 1).astype(np.float32)
    out = np.empty_like(img)
    per = max(1, 30000 // h)  # the pictures are stacked into one tall image; cv2 wants < 32767 rows
    for a in range(0, m, per):
        b = min(m, a + per)
        my = ys[a:b] + (np.arange(b - a, dtype=np.float32) * h)[:, None]
        out[a:b] = cv2.remap(
            np.ascontiguousarray(img[a:b]).reshape(-1, w),
            np.broadcast_to(xs[a:b, None, :], (b - a, h, w)).reshape(-1, w),
            np.broadcast_to(my[:, :, None], (b - a, h, w)).reshape(-1, w),
            cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
        ).reshape(b - a, h, w)
    return out, inside


def _smooth(t: np.ndarray) -> np.ndarray:
    """[1 2 1] / 4 in both directions, edges replicated."""
    v = np.concatenate([t[:, :1], t, t[:, -1:]], axis=1)
    v = v[:, :-2] + 2 * v[:, 1:-1] + v[:, 2:]
    v = np.concatenate([v[:, :, :1], v, v[:, :, -1:]], axis=2)
    return (v[:, :, :-2] + 2 * v[:, :, 1:-1] + v[:, :, 2:]) * (1 / 16)


def _global_motion(f0: np.ndarray, f1: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Global motion (tx, ty, ds) from each picture of ``f0`` to the same one of ``f1``: the
    content moves by (tx, ty) pixels and grows by ``1 + ds`` about the centre. Lucas-Kanade on
    lightly smoothed pictures brought to the same mean and contrast, the second pass on ``f0``
    warped by the first estimate (one linearised step misreads the motion of a thumbnail by
    about 10%)."""
    f0, f1 = _smooth(f0), _smooth(f1)
    m, h, w = f0.shape
    # the same contrast and brightness for both (a light change is no motion)
    m0, m1 = f0.mean(axis=(1, 2), keepdims=True), f1.mean(axis=(1, 2), keepdims=True)
    s0, s1 = f0.std(axis=(1, 2), keepdims=True), f1.std(axis=(1, 2), keepdims=True)
    f1 = (f1 - m1) * np.clip((s0 + 1e-3) / (s1 + 1e-3), 0.25, 4.0) + m0
    xx = (np.arange(1, w - 1, dtype=np.float32) - (w - 1) / 2)[None, None, :]
    yy = (np.arange(1, h - 1, dtype=np.float32) - (h - 1) / 2)[None, :, None]
    p = np.zeros((m, 3), np.float32)
    eye = np.eye(3, dtype=np.float32) * 1e-2

    def dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.einsum("mij,mij->m", u, v)

    for it in range(iterations):
        w0 = f0 if it == 0 else _warp(f0, p[:, 0], p[:, 1], 1 + p[:, 2])[0]
        g = 0.5 * (w0 + f1)
        gx = 0.5 * (g[:, 1:-1, 2:] - g[:, 1:-1, :-2])
        gy = 0.5 * (g[:, 2:, 1:-1] - g[:, :-2, 1:-1])
        gs = xx * gx + yy * gy
        r = (f1 - w0)[:, 1:-1, 1:-1]
        hxx, hyy, hss = dot(gx, gx), dot(gy, gy), dot(gs, gs)
        hxy, hxs, hys = dot(gx, gy), dot(gx, gs), dot(gy, gs)
        hm = np.stack([hxx, hxy, hxs, hxy, hyy, hys, hxs, hys, hss], axis=1).reshape(m, 3, 3) + eye
        rhs = -np.stack([dot(gx, r), dot(gy, r), dot(gs, r)], axis=1)
        dp = np.linalg.solve(hm, rhs[..., None])[..., 0]
        p[:, :2] += dp[:, :2]
        p[:, 2] = (1 + p[:, 2]) * (1 + dp[:, 2]) - 1
        np.clip(p[:, :2], -3.0, 3.0, out=p[:, :2])
        np.clip(p[:, 2], -0.2, 0.2, out=p[:, 2])
    return p


class _Motion:
    """Per-frame global motion ``d[i]`` (frame i to i+1), estimated only where asked for."""

    def __init__(self, t: np.ndarray) -> None:
        self.t = t
        self.d = np.zeros((max(len(t) - 1, 0), 3), np.float32)
        self.known = np.zeros(len(self.d), dtype=bool)

    def velocity(
        self, lo: np.ndarray, hi: np.ndarray, segment: np.ndarray, anchor: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean per-frame motion over the pairs ``lo[j] .. hi[j]-1`` (clipped to the video) whose
        two frames lie in the same stretch between cuts as frame ``anchor[j]``, and how many
        pairs that was (the motion is zero where none). The mean, not the median: over a
        shaking hand-held shot it is the small net drift, not one shake."""
        nd = len(self.d)
        width = int((hi - lo).max()) if len(lo) else 0
        if width <= 0 or nd == 0:
            return np.zeros((len(lo), 3), np.float32), np.zeros(len(lo), dtype=int)
        pairs = lo[:, None] + np.arange(width)[None, :]
        idx = np.clip(pairs, 0, nd - 1)
        seg = segment[anchor][:, None]
        use = (pairs >= 0) & (pairs < np.minimum(hi, nd)[:, None]) & (segment[idx] == seg) & (segment[idx + 1] == seg)
        need = np.unique(idx[use])
        need = need[~self.known[need]]
        if need.size:
            self.d[need] = _global_motion(self.t[need], self.t[need + 1])
            self.known[need] = True
        count = use.sum(axis=1)
        total = np.einsum("mj,mjc->mc", use.astype(np.float32), self.d[idx])
        return (total / np.maximum(count, 1)[:, None]).astype(np.float32), count

    def end_velocities(self, k: int, c: np.ndarray, segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The motion of the shot at each end of the windows ``[c - k, c + k]``, measured just
        outside the window; inside it, next to the end, where the video or the shot (a cut)
        leaves too little room outside."""
        m = max(3, k // 2)
        out = []
        for end, outside, inside in ((c - k, (c - k - m, c - k), (c - k, c - k + m)), (c + k, (c + k, c + k + m), (c + k - m, c + k))):
            v, count = self.velocity(*outside, segment, end)
            short = count < 2
            if short.any():
                v[short] = self.velocity(inside[0][short], inside[1][short], segment, end[short])[0]
            out.append(v)
        return out[0], out[1]


def _layer(t: np.ndarray, frames: np.ndarray, v: np.ndarray, steps: float) -> tuple[np.ndarray, np.ndarray]:
    """``t[frames]`` carried ``steps`` frames along its own motion ``v`` (negative: back in time)."""
    return _warp(t[frames], steps * v[:, 0], steps * v[:, 1], (1 + v[:, 2]) ** steps)


def _fit_alpha(q: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray, wsum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares ``alpha`` of ``q ~ (1 - alpha) a + alpha b`` over the weights ``w``, clipped to
    [0, 1], and the mean absolute residual."""
    d = (b - a) * w
    alpha = np.einsum("mij,mij->m", q - a, d) / np.maximum(np.einsum("mij,mij->m", d, b - a), 1e-6)
    alpha = np.clip(alpha, 0.0, 1.0)
    return alpha, _masked_mad(q, a + alpha[:, None, None] * (b - a), w, wsum)


def _correlation(a: np.ndarray, b: np.ndarray, w: np.ndarray, wsum: np.ndarray) -> np.ndarray:
    """Pearson correlation of two picture stacks over the weights ``w``."""
    da = (a - (np.einsum("mij,mij->m", a, w) / wsum)[:, None, None]) * w
    db = (b - (np.einsum("mij,mij->m", b, w) / wsum)[:, None, None]) * w
    num = np.einsum("mij,mij->m", da, db)
    return num / np.sqrt(np.maximum(np.einsum("mij,mij->m", da, da) * np.einsum("mij,mij->m", db, db), 1e-6))


def _carried_ends(
    t: np.ndarray, motion: _Motion, k: int, c: np.ndarray, segment: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Frames ``c - k`` and ``c + k`` carried to ``c`` along their own shot's motion, measured
    over the frames just outside the window (up to a cut): the two pictures, where both are
    defined (weights), and the two motions."""
    va, vb = motion.end_velocities(k, c, segment)
    a_mid, in_a = _layer(t, c - k, va, k)
    b_mid, in_b = _layer(t, c + k, vb, -k)
    return a_mid, b_mid, (in_a & in_b).astype(np.float32), va, vb


def _different_pictures(
    t: np.ndarray, motion: _Motion, k: int, c: np.ndarray, segment: np.ndarray, min_change: float
) -> np.ndarray:
    """Whether the two ends of each window, carried to its centre, are two pictures: they
    differ by ``min_change`` and are not one picture lit differently."""
    a_mid, b_mid, w, _, _ = _carried_ends(t, motion, k, c, segment)
    wsum = np.maximum(w.sum(axis=(1, 2)), 1.0)
    return (_masked_mad(a_mid, b_mid, w, wsum) >= min_change) & (_correlation(a_mid, b_mid, w, wsum) <= _SAME_PICTURE)


def _moving_dissolves(
    t: np.ndarray,
    motion: _Motion,
    k: int,
    c: np.ndarray,
    step_max: np.ndarray,
    spike_max: np.ndarray,
    segment: np.ndarray,
    *,
    min_change: float,
    max_blend_error: float,
    min_overlap: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The motion-compensated blend test on centres ``c`` with half-window ``k``: both ends are
    carried to the centre along their own shot's motion (measured just outside the window), and
    the window must then be a cross-fade of those two moving pictures. Returns the passing
    centres and their scores."""
    a_mid, b_mid, w, va, vb = _carried_ends(t, motion, k, c, segment)
    wsum = w.sum(axis=(1, 2))
    mid = t[c]
    change = _masked_mad(a_mid, b_mid, w, np.maximum(wsum, 1.0))
    rel = 1.0 / np.maximum(change, 1e-6)
    wsum = np.maximum(wsum, 1.0)
    blend = _masked_mad(mid, 0.5 * (a_mid + b_mid), w, wsum) * rel
    hold = np.minimum(_masked_mad(mid, a_mid, w, wsum), _masked_mad(mid, b_mid, w, wsum)) * rel
    # nor close to either end as it stands (the window has not started to mix at its centre)
    hold = np.minimum(hold, np.minimum(_mad(mid, t[c - k]), _mad(mid, t[c + k])) * rel)
    ok = (
        (wsum >= min_overlap * w[0].size)
        & (change >= min_change)
        & (blend <= max_blend_error)
        & (hold >= _HOLD_MIN)
        & (step_max <= 0.5 * change)
        & (spike_max <= _SPIKE_SHARE * change)
    )
    if not ok.any():
        return c[:0], np.zeros(0)
    c, va, vb, blend, change = c[ok], va[ok], vb[ok], blend[ok], change[ok]
    mid, a_mid, b_mid, w, wsum = mid[ok], a_mid[ok], b_mid[ok], w[ok], wsum[ok]
    rel = 1.0 / change
    # the whole window: every frame on the line between the two carried ends, the mix rising
    # through 0.5 at the centre, symmetric about it
    alpha0, _ = _fit_alpha(mid, a_mid, b_mid, w, wsum)
    good = (np.abs(alpha0 - 0.5) <= 0.15) & (_correlation(a_mid, b_mid, w, wsum) <= _SAME_PICTURE)
    worst = np.zeros(len(c))
    offsets = sorted({int(round(f * k)) for f in (0.25, 0.5, 0.75)} - {0, k})
    prev_lo, prev_hi = alpha0, alpha0
    for j in offsets:
        a_lo, in_a = _layer(t, c - k, va, k - j)
        b_lo, in_b = _layer(t, c + k, vb, -(k + j))
        a_hi, in_a2 = _layer(t, c - k, va, k + j)
        b_hi, in_b2 = _layer(t, c + k, vb, -(k - j))
        w_lo = (in_a & in_b).astype(np.float32)
        w_hi = (in_a2 & in_b2).astype(np.float32)
        s_lo, s_hi = w_lo.sum(axis=(1, 2)), w_hi.sum(axis=(1, 2))
        al_lo, e_lo = _fit_alpha(t[c - j], a_lo, b_lo, w_lo, np.maximum(s_lo, 1.0))
        al_hi, e_hi = _fit_alpha(t[c + j], a_hi, b_hi, w_hi, np.maximum(s_hi, 1.0))
        worst = np.maximum(worst, np.maximum(e_lo, e_hi) * rel)
        good &= (al_lo <= prev_lo + 0.15) & (al_hi >= prev_hi - 0.15) & (np.abs(al_lo + al_hi - 1.0) <= 0.3)
        # a cross-fade rises at least as fast as one spread over the whole window
        good &= al_hi - al_lo >= 0.6 * j / k
        prev_lo, prev_hi = al_lo, al_hi
    good &= worst <= 1.5 * max_blend_error
    return c[good], 1.0 - np.maximum(blend[good], worst[good] / 1.5)


def detect_dissolves(
    thumbs: Sequence[np.ndarray],
    fps: float,
    *,
    min_change: float,
    max_blend_error: float,
    max_len_s: float,
    blocked: Sequence[tuple[int, int]] = (),
    motion_compensation: bool = True,
    min_overlap: float = 0.25,
) -> list[Transition]:
    """Dissolves in a sequence of grey thumbnails (uint8 or float, all one size).

    ``blocked`` spans (e.g. fades, the frames around hard cuts) are never the centre of a
    dissolve. Half-windows from about 0.15 s to ``max_len_s / 2`` are tried; runs of centre
    candidates (runs closer than a half-window count as one) collapse to the middle of their
    best-scoring stretch.

    A window first gets the plain blend test (still shots either side). Where that fails,
    ``motion_compensation`` tries again with both ends carried to the centre along their own
    shot's global motion (shift and zoom, measured on the thumbnails just outside the window),
    so a dissolve between two moving shots (a pan into a pan, a zoom into a tilt) is found while
    a single moving shot is not (once carried along, its two ends are the same picture); it
    also drops plain-test windows whose carried ends are one picture. ``min_overlap`` is the
    least share of the thumbnail both carried ends must still cover (a fast move carries them
    out of the picture). Without ``motion_compensation`` this is the plain test alone.
    """
    n = len(thumbs)
    if n < 5:
        return []
    t = np.stack([np.asarray(x, dtype=np.float32) for x in thumbs])
    step = np.abs(np.diff(t, axis=0)).mean(axis=(1, 2))  # step[i]: frame i -> i+1
    # a step standing out from the steps around it: a cut (its size is compared with the change)
    around = np.lib.stride_tricks.sliding_window_view(np.pad(step, 3, mode="edge"), 7)
    around = np.median(np.delete(around, 3, axis=1), axis=1)
    spike = np.where(step > _SPIKE * np.maximum(around, 0.5), step, 0.0)
    segment = np.r_[0, np.cumsum(spike > 0)]  # frame -> stretch between such cuts
    block = np.zeros(n, dtype=bool)
    for a, b in blocked:
        block[max(a, 0) : min(b, n)] = True
    k_min = max(2, int(round(0.15 * fps)))
    k_max = max(k_min, int(round(max_len_s * fps / 2)))
    ks = sorted({k_min, *range(k_min, k_max + 1, max(1, (k_max - k_min) // 4 or 1)), k_max})
    best_score = np.full(n, -1.0)  # best score over the half-windows passing at each centre
    best_k = np.zeros(n, dtype=int)
    top_k = np.zeros(n, dtype=int)  # the widest half-window passing at each centre
    motion = _Motion(t) if motion_compensation else None

    def keep(centres: np.ndarray, scores: np.ndarray, k: int) -> None:
        better = scores > best_score[centres]
        best_score[centres[better]] = scores[better]
        best_k[centres[better]] = k
        top_k[centres] = k  # ks rise

    for k in ks:
        if n - 2 * k <= 0:
            continue
        changes = _mad(t[2 * k :], t[: n - 2 * k])  # index c - k
        step_max = _sliding_max(step, 2 * k)  # index c - k: steps c-k .. c+k-1
        spike_max = _sliding_max(spike, 2 * k)
        # the change must be spread over the window, not one step (a cut), and no cut may lie
        # inside it (a step standing out from its neighbours)
        cand = np.nonzero(
            (changes >= min_change) & (step_max <= 0.5 * changes) & (spike_max <= _SPIKE_SHARE * changes) & ~block[k : n - k]
        )[0]
        if not cand.size:
            continue
        c = cand + k
        change = changes[cand]
        a, b, mid = t[c - k], t[c + k], t[c]
        blend_err = _mad(mid, 0.5 * (a + b)) / change
        close = np.nonzero(blend_err <= max_blend_error)[0]  # most candidates (camera moves) stop here
        hold_err = np.minimum(_mad(mid[close], a[close]), _mad(mid[close], b[close])) / change[close]
        # quarter points must sit on the same blend line (a dissolve, not two pans)
        q1, q3 = t[c[close] - k // 2], t[c[close] + k // 2]
        q_err = np.maximum(
            _mad(q1, 0.75 * a[close] + 0.25 * b[close]), _mad(q3, 0.25 * a[close] + 0.75 * b[close])
        ) / change[close]
        ok = (hold_err >= _HOLD_MIN) & (q_err <= max_blend_error * 1.5)
        if motion is not None and ok.any():
            # a slow camera move over fine detail can pass the plain test, and so does a light
            # change: once both ends are carried to the centre along their own motion they are
            # the same picture
            ok[ok] = _different_pictures(t, motion, k, c[close[ok]], segment, min_change)
        still = np.zeros(len(c), dtype=bool)
        still[close[ok]] = True
        keep(c[still], 1.0 - np.maximum(blend_err[still], q_err[ok] / 1.5), k)
        if motion is not None and not still.all():
            rest = cand[~still]
            mc, score = _moving_dissolves(
                t, motion, k, rest + k, step_max[rest], spike_max[rest], segment,
                min_change=min_change, max_blend_error=max_blend_error, min_overlap=min_overlap,
            )
            keep(mc, score, k)
    # runs of consecutive centres; runs closer than a half-window are one transition (a long
    # or fast-moving dissolve can leave a gap where no window passes)
    groups: list[list[int]] = []
    c = 0
    while c < n:
        if best_score[c] < 0:
            c += 1
            continue
        j = c
        while j < n and best_score[j] >= 0:
            j += 1
        if groups and c - groups[-1][1] < max(best_k[groups[-1][1] - 1], best_k[c]):
            groups[-1][1] = j
        else:
            groups.append([c, j])
        c = j
    out: list[Transition] = []
    for c, j in groups:
        idx = np.arange(c, j)
        idx = idx[best_score[idx] >= 0]
        # the middle of the best-scoring stretch, among centres whose widest passing window is
        # at least half the widest of the run: narrow windows inside a long dissolve have one
        # end already mixed and find the middle of their own stretch of it
        wide = top_k[idx] >= 0.5 * top_k[idx].max()
        score = np.where(wide, best_score[idx], -np.inf)
        near = idx[score >= score.max() - 0.05]
        centre = int(near[len(near) // 2])
        k = int(best_k[centre])
        start = max(min(c, centre - k), 0)
        end = min(max(j, centre + k + 1), n)
        out.append(Transition("dissolve", start, end, centre, float(best_score[centre])))
    return out
