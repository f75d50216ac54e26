"""Posture rules on drawn skeletons, the NRC VAD table on the 1-9 scale, the highlight curve."""

from __future__ import annotations

import pytest

from skyscript.scene.highlight import Sample, Weights, components, curve
from skyscript.scene.posture import moving_posture, static_posture
from skyscript.scene.vad import NRC_VAD, clamp_int, vad_of


def skeleton(parts: dict[int, tuple[float, float]]) -> list[list[float]]:
    kps = [[0.0, 0.0, 0.0] for _ in range(17)]
    for i, (x, y) in parts.items():
        kps[i] = [x, y, 0.9]
    return kps


# shoulders 5/6, hips 11/12, knees 13/14, ankles 15/16
STANDING = skeleton({5: (90, 100), 6: (110, 100), 11: (92, 160), 12: (108, 160), 13: (92, 210), 14: (108, 210),
                     15: (92, 260), 16: (108, 260)})
SITTING = skeleton({5: (90, 100), 6: (110, 100), 11: (92, 160), 12: (108, 160), 13: (150, 165), 14: (165, 165),
                    15: (150, 215), 16: (165, 215)})
LYING = skeleton({5: (100, 200), 6: (100, 215), 11: (170, 200), 12: (170, 215), 15: (280, 205), 16: (280, 212)})


def test_static_postures() -> None:
    assert static_posture(STANDING) == "standing"
    assert static_posture(SITTING) == "sitting"
    assert static_posture(LYING) == "lying"
    assert static_posture(skeleton({0: (100, 50)})) == "unknown"


def test_walking_and_running_from_hip_motion() -> None:
    person = 180.0  # three torso lengths of 60 px
    def shifted(dx: float) -> list[list[float]]:
        return [[x + dx, y, s] for x, y, s in STANDING]

    assert moving_posture(STANDING, shifted(0.1 * person * 0.5), 0.5, walk=0.3, run=1.5) is None  # 0.1 heights/s: still
    assert moving_posture(STANDING, shifted(0.5 * person * 0.5), 0.5, walk=0.3, run=1.5) == "walking"  # 0.5 heights/s
    assert moving_posture(STANDING, shifted(2.0 * person * 0.5), 0.5, walk=0.3, run=1.5) == "running"  # 2 heights/s
    assert moving_posture(STANDING, shifted(50), 0.0, walk=0.3, run=1.5) is None


def test_vad_table_on_the_sam_scale() -> None:
    assert set(NRC_VAD) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
    v, a, d = vad_of("angry")
    assert (round(v, 3), round(a, 3), round(d, 3)) == (2.336, 7.92, 6.256)  # 1 + 8 * (0.167, 0.865, 0.657)
    assert vad_of("happy")[0] == 9.0 and vad_of("sad")[1] < vad_of("fear")[1]
    assert [clamp_int(x) for x in (0.2, 4.5, 4.49, 12)] == [1, 5, 4, 9]
    with pytest.raises(KeyError):
        vad_of("bored")


def test_highlight_curve_rises_with_arousal_and_cuts() -> None:
    w = Weights(0.45, 0.2, 0.2, 0.15, 5.0)
    calm = [Sample(t, 2.0, 5.0, 0.0) for t in range(10)]
    tense = [Sample(t + 10, 8.0, 2.0 if t % 2 else 8.0, 0.5) for t in range(10)]
    cuts = [10.0 + i for i in range(10)]  # a cut every second during the tense part
    comps = components(calm + tense, cuts, window_s=4.0, max_cuts_per_s=1.0, motion_max=0.5)
    assert comps[0] == {"arousal": 0.125, "valence_swing": 0.0, "cut_density": 0.0, "motion": 0.0}
    assert comps[15]["cut_density"] == 1.0 and comps[15]["valence_swing"] == 0.75 and comps[15]["motion"] == 1.0
    raw, smooth = curve(comps, w, sigma=1.5)
    assert raw[0] == pytest.approx(5 * 0.45 * 0.125)
    assert max(smooth[:5]) < 1.0 and min(smooth[13:17]) > 4.0
    assert all(0 <= s <= 5 for s in smooth)
    assert curve([], w, 1.5) == ([], [])
    assert w.formula() == "5 * (0.45*arousal + 0.2*valence_swing + 0.2*cut_density + 0.15*motion) / 1"
