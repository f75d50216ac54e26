"""Relationships between characters over time and a shipping compatibility score (paper 5.3).

Input: one :class:`Together` per keyframe and pair of characters on screen in it (built by the
``relationships`` step from the ``characters``, ``pose``, ``layout``, ``emotion`` and ``keyinfo``
annotations). Output: per pair, a strength series over windows of drama time and a shipping score.

**Evidence of a window** (``window_s`` seconds of drama time, episodes end to end) for a pair:

    evidence = together * closeness * (1 + 0.5 * gaze)

* ``together``: seconds on screen together in the window / ``window_s`` (capped at 1); each
  keyframe stands for its shot's duration divided by the shot's keyframes;
* ``closeness``: ``1 / (1 + d / 150 cm)`` with ``d`` the mean 3D distance when the layout step
  placed both, else ``1 - s`` with ``s`` the mean screen distance of the box centres over the frame
  diagonal;
* ``gaze``: share of the pair's keyframes where they face each other (pose: the nose lies on the
  side of the shoulders' midpoint towards the other person, for both); 0 without pose.

**Strength** is an exponential moving average: ``S_w = decay * S_(w-1) + (1 - decay) * evidence_w``.

**Shipping compatibility** (0..1) is a weighted mean of the components that are known (weights
renormalised over them; each missing one is reported with its reason):

* ``bond`` (0.35): the pair's peak strength over the drama's strongest pair's peak;
* ``attractiveness`` (0.25): mean facial attractiveness of the two, 1..5 mapped to 0..1, times
  ``1 - |a - b| / 4`` (a close match counts);
* ``temperament`` (0.2): temperaments mapped to warmth and energy in -1..1 (:data:`TEMPERAMENTS`):
  ``0.5 * (1 - |warmth_a - warmth_b| / 2) + 0.5 * |energy_a - energy_b| / 2`` (similar warmth,
  complementary energy);
* ``shared_emotion`` (0.2): mean over their keyframes together of
  ``positivity * agreement`` with ``positivity = (mean valence - 1) / 8`` and
  ``agreement = 1 - |valence_a - valence_b| / 8``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

TEMPERAMENTS: dict[str, tuple[float, float]] = {  # word -> (warmth, energy)
    "warm": (1.0, 0.0), "gentle": (0.8, -0.5), "kind": (0.9, 0.0), "calm": (0.3, -0.8), "shy": (0.2, -0.7),
    "lively": (0.6, 0.9), "cheerful": (0.8, 0.7), "confident": (0.2, 0.6), "passionate": (0.5, 1.0),
    "serious": (-0.2, -0.2), "reserved": (-0.2, -0.6), "cold": (-0.9, -0.3), "arrogant": (-0.7, 0.5),
    "aggressive": (-0.8, 0.9), "mysterious": (-0.3, -0.4), "elegant": (0.2, -0.3), "playful": (0.7, 0.8),
}
WEIGHTS = {"bond": 0.35, "attractiveness": 0.25, "temperament": 0.2, "shared_emotion": 0.2}
GAZE_MIN_SCORE = 0.3


@dataclass
class Person:
    character_id: str
    name: str
    box: tuple[float, float, float, float] | None = None
    xyz_cm: tuple[float, float, float] | None = None
    keypoints: list[list[float]] | None = None  # COCO-17 [x, y, score]
    valence: float | None = None
    arousal: float | None = None
    attractiveness: float | None = None
    temperament: str | None = None


@dataclass
class Together:
    t_s: float  # drama time of the keyframe
    weight_s: float  # seconds this keyframe stands for
    diagonal: float
    a: Person
    b: Person


def facing(p: Person) -> int | None:
    """-1 (towards smaller x), +1, or None when the keypoints cannot tell."""
    kp = p.keypoints
    if not kp or len(kp) < 7:
        return None
    nose, ls, rs = kp[0], kp[5], kp[6]
    if min(nose[2], ls[2], rs[2]) < GAZE_MIN_SCORE:
        return None
    mid = (ls[0] + rs[0]) / 2
    width = abs(ls[0] - rs[0]) or 1.0
    off = (nose[0] - mid) / width
    if abs(off) < 0.15:
        return None  # facing the camera
    return 1 if off > 0 else -1


def _centre(box: Any) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def mutual_gaze(a: Person, b: Person) -> bool | None:
    fa, fb = facing(a), facing(b)
    if fa is None or fb is None or a.box is None or b.box is None:
        return None
    ax, bx = _centre(a.box)[0], _centre(b.box)[0]
    return fa == (1 if bx > ax else -1) and fb == (1 if ax > bx else -1)


def temperament_vector(word: str | None) -> tuple[float, float] | None:
    if not word:
        return None
    for w in word.lower().replace(",", " ").split():
        if w in TEMPERAMENTS:
            return TEMPERAMENTS[w]
    return None


@dataclass
class Edge:
    a: str
    b: str
    names: tuple[str, str]
    keyframes: int = 0
    seconds_together: float = 0.0
    screen_distance: list[float] = field(default_factory=list)
    distance_cm: list[float] = field(default_factory=list)
    gaze: list[bool] = field(default_factory=list)
    valence: list[tuple[float, float]] = field(default_factory=list)
    arousal: list[tuple[float, float]] = field(default_factory=list)
    attractiveness: dict[str, list[float]] = field(default_factory=dict)
    temperament: dict[str, list[str]] = field(default_factory=dict)
    windows: dict[int, list[Together]] = field(default_factory=dict)


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def build_graph(samples: list[Together], *, window_s: float, decay: float, duration_s: float) -> dict[str, Any]:
    edges: dict[tuple[str, str], Edge] = {}
    nodes: dict[str, str] = {}
    for s in samples:
        a, b = sorted((s.a, s.b), key=lambda p: p.character_id)
        nodes[a.character_id], nodes[b.character_id] = a.name, b.name
        e = edges.setdefault((a.character_id, b.character_id), Edge(a.character_id, b.character_id, (a.name, b.name)))
        e.keyframes += 1
        e.seconds_together += s.weight_s
        if a.box is not None and b.box is not None:
            (ax, ay), (bx, by) = _centre(a.box), _centre(b.box)
            e.screen_distance.append(math.hypot(ax - bx, ay - by) / s.diagonal)
        if a.xyz_cm is not None and b.xyz_cm is not None:
            e.distance_cm.append(math.dist(a.xyz_cm, b.xyz_cm))
        g = mutual_gaze(a, b)
        if g is not None:
            e.gaze.append(g)
        if a.valence is not None and b.valence is not None:
            e.valence.append((a.valence, b.valence))
        if a.arousal is not None and b.arousal is not None:
            e.arousal.append((a.arousal, b.arousal))
        for p in (a, b):
            if p.attractiveness is not None:
                e.attractiveness.setdefault(p.character_id, []).append(p.attractiveness)
            if p.temperament:
                e.temperament.setdefault(p.character_id, []).append(p.temperament)
        e.windows.setdefault(int(s.t_s // window_s), []).append(s)
    n_windows = max(1, math.ceil(duration_s / window_s))
    out_edges = []
    peaks: dict[tuple[str, str], float] = {}
    for key, e in edges.items():
        series = []
        strength = 0.0
        for w in range(n_windows):
            ks = e.windows.get(w, [])
            together = min(1.0, sum(k.weight_s for k in ks) / window_s)
            d3 = [math.dist(k.a.xyz_cm, k.b.xyz_cm) for k in ks if k.a.xyz_cm is not None and k.b.xyz_cm is not None]
            sd = [math.hypot(_centre(k.a.box)[0] - _centre(k.b.box)[0], _centre(k.a.box)[1] - _centre(k.b.box)[1]) / k.diagonal
                  for k in ks if k.a.box is not None and k.b.box is not None]
            close = 1 / (1 + _mean(d3) / 150.0) if d3 else (1 - _mean(sd) if sd else 1.0) if ks else 0.0  # type: ignore[operator]
            gz = [g for k in ks if (g := mutual_gaze(k.a, k.b)) is not None]
            evidence = together * close * (1 + 0.5 * (sum(gz) / len(gz) if gz else 0.0))
            strength = decay * strength + (1 - decay) * evidence
            series.append({"window": w, "start_s": w * window_s, "evidence": round(evidence, 4), "strength": round(strength, 4)})
        peaks[key] = max(x["strength"] for x in series)
        out_edges.append((key, e, series))
    top = max(peaks.values(), default=0.0) or 1.0
    result_edges = []
    for key, e, series in out_edges:
        comps: dict[str, Any] = {"bond": {"value": round(peaks[key] / top, 4)}}
        atts = [_mean(e.attractiveness.get(c, [])) for c in key]
        if all(x is not None for x in atts):
            a1, a2 = atts  # type: ignore[misc]
            comps["attractiveness"] = {"value": round(((a1 + a2) / 2 - 1) / 4 * (1 - abs(a1 - a2) / 4), 4)}
        else:
            comps["attractiveness"] = {"value": None, "missing": "facial attractiveness unknown for one of the two"}
        vecs = [temperament_vector(e.temperament.get(c, [None])[0]) for c in key]
        if all(v is not None for v in vecs):
            (w1, e1), (w2, e2) = vecs  # type: ignore[misc]
            comps["temperament"] = {"value": round(0.5 * (1 - abs(w1 - w2) / 2) + 0.5 * abs(e1 - e2) / 2, 4)}
        else:
            comps["temperament"] = {"value": None, "missing": "temperament unknown or not in the vocabulary for one of the two"}
        if e.valence:
            comps["shared_emotion"] = {"value": round(_mean([((va + vb) / 2 - 1) / 8 * (1 - abs(va - vb) / 8)
                                                             for va, vb in e.valence]) or 0.0, 4)}
        else:
            comps["shared_emotion"] = {"value": None, "missing": "no valence for both while together (emotion step has not run)"}
        known = {k: v["value"] for k, v in comps.items() if v["value"] is not None}
        total = sum(WEIGHTS[k] for k in known)
        ship = round(sum(WEIGHTS[k] * v for k, v in known.items()) / total, 4) if total else None
        result_edges.append({
            "a": e.a, "b": e.b, "names": list(e.names), "keyframes": e.keyframes,
            "seconds_together": round(e.seconds_together, 3),
            "screen_distance": round(_mean(e.screen_distance), 4) if e.screen_distance else None,
            "distance_cm": round(_mean(e.distance_cm), 1) if e.distance_cm else None,
            "distance_missing": None if e.distance_cm else "layout step did not place both (no 3D distance)",
            "mutual_gaze_share": round(sum(e.gaze) / len(e.gaze), 4) if e.gaze else None,
            "gaze_missing": None if e.gaze else "pose cannot tell where they face (pose step has not run or no clear keypoints)",
            "valence_together": [round(_mean([v for v, _ in e.valence]) or 0, 2), round(_mean([v for _, v in e.valence]) or 0, 2)] if e.valence else None,
            "arousal_together": [round(_mean([v for v, _ in e.arousal]) or 0, 2), round(_mean([v for _, v in e.arousal]) or 0, 2)] if e.arousal else None,
            "strength": series, "shipping": {"score": ship, "components": comps, "weights": WEIGHTS},
        })
    result_edges.sort(key=lambda x: (-(x["shipping"]["score"] or 0), x["a"], x["b"]))
    return {"window_s": window_s, "decay": decay, "duration_s": round(duration_s, 3),
            "nodes": [{"character_id": k, "name": v} for k, v in sorted(nodes.items())], "edges": result_edges}
