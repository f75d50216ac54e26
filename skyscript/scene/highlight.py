"""The highlight curve (paper 5.1, Figure 8), after Hanjalic and Xu's affective curve ("Affective
video content representation and modeling", IEEE Trans. Multimedia 2005): arousal-like components
per keyframe, weighted, smoothed over time.

Components, each on 0..1:

* ``arousal``: the characters' mean arousal, (a - 1) / 8 on the 1-9 scale (0 without people);
* ``valence_swing``: the change of the mean valence since the previous keyframe, |dv| / 8;
* ``cut_density``: shot cuts per second within ``cut_window_s`` around the keyframe, over ``cuts_per_s_max``;
* ``motion``: the shot's camera speed over ``motion_max`` (frame widths per second).

``raw = scale * sum(w_i c_i) / sum(w_i)``; the score is ``raw`` smoothed with a Gaussian of
``smooth_sigma`` keyframes (Hanjalic and Xu smooth with a Kaiser window; a Gaussian is the same idea).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

COMPONENTS = ("arousal", "valence_swing", "cut_density", "motion")


@dataclass(frozen=True)
class Weights:
    arousal: float
    valence_swing: float
    cut_density: float
    motion: float
    scale: float = 5.0

    def formula(self) -> str:
        return (f"{self.scale:g} * ({self.arousal:g}*arousal + {self.valence_swing:g}*valence_swing + "
                f"{self.cut_density:g}*cut_density + {self.motion:g}*motion) / {self.total():g}")

    def total(self) -> float:
        return self.arousal + self.valence_swing + self.cut_density + self.motion


@dataclass(frozen=True)
class Sample:
    t: float  # seconds into the episode
    arousal: float | None  # mean arousal of the people, 1..9
    valence: float | None  # mean valence, 1..9
    camera_speed: float | None


def cut_density(t: float, cut_times: Sequence[float], window_s: float, max_per_s: float) -> float:
    n = sum(1 for c in cut_times if abs(c - t) <= window_s / 2)
    return min(1.0, n / window_s / max_per_s)


def components(samples: Sequence[Sample], cut_times: Sequence[float], window_s: float, max_cuts_per_s: float,
               motion_max: float) -> list[dict[str, float]]:
    out: list[dict[str, float]] = []
    prev_v: float | None = None
    for s in samples:
        swing = abs(s.valence - prev_v) / 8.0 if s.valence is not None and prev_v is not None else 0.0
        if s.valence is not None:
            prev_v = s.valence
        out.append({
            "arousal": (s.arousal - 1.0) / 8.0 if s.arousal is not None else 0.0,
            "valence_swing": min(1.0, swing),
            "cut_density": cut_density(s.t, cut_times, window_s, max_cuts_per_s),
            "motion": min(1.0, (s.camera_speed or 0.0) / motion_max),
        })
    return out


def curve(comps: Sequence[dict[str, float]], w: Weights, sigma: float) -> tuple[list[float], list[float]]:
    """(raw, smoothed) scores on 0..scale."""
    total = w.total() or 1.0
    raw = [w.scale * (w.arousal * c["arousal"] + w.valence_swing * c["valence_swing"] + w.cut_density * c["cut_density"]
                      + w.motion * c["motion"]) / total for c in comps]
    if not raw:
        return [], []
    if sigma > 0 and len(raw) > 1:
        from scipy.ndimage import gaussian_filter1d

        smooth = gaussian_filter1d(np.asarray(raw, dtype=float), sigma, mode="nearest").tolist()
    else:
        smooth = list(raw)
    return raw, [min(w.scale, max(0.0, s)) for s in smooth]
