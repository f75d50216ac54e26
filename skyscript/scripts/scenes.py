"""Scene grouping and the offline scene estimates.

A scene is a run of consecutive shots in one place at one time. Rules:

* an episode starts a scene;
* a **fade** (to or from black) starts a scene: editors use it for a jump in time or place;
* otherwise a shot **continues** the scene when its background resembles the background of any of
  the scene's last ``lookback`` shots, or when one of the next ``lookback`` shots returns to that
  background (so shot/reverse-shot dialogue, A B A B, stays one scene even though neighbouring
  shots look different); it starts a new scene when neither holds;
* with scene descriptions from a VLM, a change of location or time of day between two shots'
  answers starts a scene too.

Background: an HSV colour histogram of the frame's border (top band and side bands, where people
rarely are), compared with histogram correlation. Offline estimates, marked ``estimate``:

* **time of day**: NIGHT when the frame's median brightness is low (V < ``night_value``) and most
  of it is dark, else DAY;
* **INT./EXT.**: EXT when enough of the top band is sky (blue, or bright and unsaturated), else INT;
* **location** (``rule``): from the key objects (a bed makes a BEDROOM); missing otherwise;
* **description** (``rule``): who and what is on screen, from the key information.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from skyscript.schemas.script import Valued

# key objects that name a place (checked in order; the first hit wins)
PLACE_RULES: tuple[tuple[frozenset[str], str, str | None], ...] = (
    (frozenset({"bed"}), "BEDROOM", "INT"),
    (frozenset({"car"}), "STREET", "EXT"),
    (frozenset({"sofa", "television"}), "LIVING ROOM", "INT"),
    (frozenset({"laptop"}), "OFFICE", "INT"),
    (frozenset({"plate", "bowl", "knife"}), "DINING ROOM", "INT"),
    (frozenset({"table", "chair"}), "ROOM", "INT"),
)


@dataclass
class FrameLook:
    """What the offline rules need from a keyframe."""

    background: np.ndarray  # normalised HSV histogram of the border
    median_value: float  # 0-255
    dark_share: float  # share of pixels with V < 50
    sky_share: float  # share of the top band that looks like sky


def look_at(bgr: np.ndarray) -> FrameLook:
    import cv2

    h, w = bgr.shape[:2]
    scale = 320.0 / max(w, 1)
    small = cv2.resize(bgr, (320, max(1, int(h * scale))), interpolation=cv2.INTER_AREA) if w > 320 else bgr
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    sh, sw = hsv.shape[:2]
    band, side = max(1, sh // 4), max(1, sw // 6)
    mask = np.zeros((sh, sw), np.uint8)
    mask[:band, :] = 255
    mask[:, :side] = 255
    mask[:, sw - side:] = 255
    hist = cv2.calcHist([hsv], [0, 1, 2], mask, [12, 4, 4], [0, 180, 0, 256, 0, 256])
    hist = cv2.normalize(hist, None).flatten()
    v = hsv[..., 2]
    top = hsv[:band]
    blue = (top[..., 0] >= 90) & (top[..., 0] <= 130) & (top[..., 1] > 50) & (top[..., 2] > 110)
    bright_white = (top[..., 1] < 30) & (top[..., 2] > 200)
    return FrameLook(
        background=hist, median_value=float(np.median(v)), dark_share=float((v < 50).mean()),
        sky_share=float((blue | bright_white).mean()),
    )


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    import cv2

    return float(cv2.compareHist(a.astype(np.float32), b.astype(np.float32), cv2.HISTCMP_CORREL))


@dataclass
class ShotLook:
    shot_index: int
    transition_in: str | None
    looks: list[FrameLook] = field(default_factory=list)
    vlm: Mapping[str, Any] | None = None  # the VLM's scene answer for this shot, when asked


@dataclass
class SceneSpan:
    shots: list[int]  # indices into the episode's shot list
    break_reason: str


def _resembles(shots: Sequence[ShotLook], i: int, others: Sequence[int], threshold: float) -> bool | None:
    """Whether shot ``i``'s background matches any of ``others`` (None: nothing to compare)."""
    mine = shots[i].looks
    theirs = [lk for j in others for lk in shots[j].looks]
    if not mine or not theirs:
        return None
    return max(similarity(a.background, b.background) for a in theirs for b in mine) >= threshold


def group(shots: Sequence[ShotLook], *, threshold: float, lookback: int) -> list[SceneSpan]:
    """Consecutive shots grouped into scenes (see the module doc).

    A shot whose background matches none of the scene's last ``lookback`` shots still belongs to
    the scene when one of the next ``lookback`` shots returns to it: that is a reverse shot or a
    cutaway (A B A B), not a new place."""
    spans: list[SceneSpan] = []
    for i, sh in enumerate(shots):
        if not spans:
            spans.append(SceneSpan([i], "episode_start"))
            continue
        cur = spans[-1]
        recent = cur.shots[-lookback:]
        reason = None
        if sh.transition_in == "fade":
            reason = "fade"
        elif sh.vlm and shots[cur.shots[-1]].vlm and _vlm_changed(shots[cur.shots[-1]].vlm, sh.vlm):
            reason = "vlm_location_or_time_change"
        elif _resembles(shots, i, recent, threshold) is False:
            returns = False
            for j in range(i + 1, min(len(shots), i + 1 + lookback)):
                if shots[j].transition_in == "fade":
                    break  # the scene ends at a fade: nothing after it can bring the place back
                if _resembles(shots, j, recent, threshold):
                    returns = True
                    break
            if not returns:
                reason = "dissolve_and_background_change" if sh.transition_in == "dissolve" else "background_change"
        if reason:
            spans.append(SceneSpan([i], reason))
        else:
            cur.shots.append(i)
    return spans


def _vlm_changed(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    def norm(x: Any) -> str:
        return " ".join(str(x or "").upper().split())

    return any(norm(a.get(k)) and norm(b.get(k)) and norm(a.get(k)) != norm(b.get(k)) for k in ("location", "time_of_day"))


def estimate_time(looks: Sequence[FrameLook], night_value: float) -> Valued:
    if not looks:
        return Valued.gap("no readable keyframe in the scene to estimate the light from")
    med = float(np.median([lk.median_value for lk in looks]))
    dark = float(np.mean([lk.dark_share for lk in looks]))
    word = "NIGHT" if med < night_value and dark > 0.5 else "DAY"
    return Valued.of(word, "estimate", f"offline: median brightness {med:.0f}, dark share {dark:.2f}")


def estimate_int_ext(looks: Sequence[FrameLook], sky_share: float, objects: set[str]) -> Valued:
    for names, _place, io in PLACE_RULES:
        if io and names & objects:
            return Valued.of(io, "rule", f"key objects: {', '.join(sorted(names & objects))}")
    if not looks:
        return Valued.gap("no readable keyframe in the scene to look for sky")
    sky = float(np.mean([lk.sky_share for lk in looks]))
    return Valued.of("EXT" if sky >= sky_share else "INT", "estimate", f"offline: sky share of the top band {sky:.2f}")


def estimate_location(objects: set[str], have_keyinfo: bool) -> Valued:
    for names, place, _io in PLACE_RULES:
        if names & objects:
            return Valued.of(place, "rule", f"key objects: {', '.join(sorted(names & objects))}")
    if not have_keyinfo:
        return Valued.gap("no VLM configured and keyinfo has not run: nothing names the place")
    return Valued.gap("no VLM configured and no key object names the place")


def describe(people: Sequence[Mapping[str, Any]], objects: Sequence[str], have_keyinfo: bool, n_shots: int) -> Valued:
    if not have_keyinfo:
        return Valued.gap("no VLM configured and keyinfo has not run: nothing to describe the scene from")
    who = []
    for p in people:
        bits = [str(x) for x in (p.get("age"), p.get("gender")) if x]
        who.append(" ".join(bits) or "person")
    counts: dict[str, int] = {}
    for w in who:
        counts[w] = counts.get(w, 0) + 1
    people_txt = ", ".join(f"{n} {w}{'s' if n > 1 else ''}" if n > 1 else f"one {w}" for w, n in counts.items())
    objs = sorted(set(objects))
    parts = []
    if people_txt:
        parts.append(f"On screen: {people_txt}.")
    if objs:
        parts.append(f"Key objects: {', '.join(objs)}.")
    if not parts:
        parts.append("No person or key object was recognised.")
    parts.append(f"{n_shots} shot{'s' if n_shots != 1 else ''}.")
    return Valued.of(" ".join(parts), "rule", "description: keyinfo people and objects of the scene")
