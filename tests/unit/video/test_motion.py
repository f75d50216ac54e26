"""Camera movement per shot: every label on generated camera moves, speeds in frame sizes per
second, a real static camera (vtest.avi) and the pure classifier."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.videos import camera_clip

from skyscript.config import ScanSettings
from skyscript.video.motion import MotionSample, classify
from skyscript.video.scan import scan_video

# camera_shot defaults: 3 px/frame at 256x144, 24 fps; zoom 1.5 % per frame
PAN_SPEED = 3 * 24 / 256
TILT_SPEED = 3 * 24 / 144


@pytest.mark.parametrize(
    "move, speed",
    [
        ("static", 0.0),
        ("pan_left", PAN_SPEED),
        ("pan_right", PAN_SPEED),
        ("tilt_up", TILT_SPEED),
        ("tilt_down", TILT_SPEED),
        ("zoom_in", 0.3628),  # -ln(0.985) * 24
        ("zoom_out", 0.3574),  # ln(1.015) * 24
        ("handheld", None),
    ],
)
def test_each_camera_move_is_named(move: str, speed: float | None, tmp_path: Path) -> None:
    clip = camera_clip(tmp_path / f"{move}.avi", move)
    r = scan_video(clip.path, ScanSettings(), tmp_path / "work")
    assert len(r.shots) == 1
    cam = r.shots[0].camera
    assert cam.label == move
    if speed is not None:
        assert cam.speed == pytest.approx(speed, rel=0.1, abs=0.01)
    else:
        assert cam.shake > ScanSettings().camera_jitter


def test_pan_direction_convention(tmp_path: Path) -> None:
    """Pan right: the camera turns right, content moves left (negative dx in the samples)."""
    clip = camera_clip(tmp_path / "pr.avi", "pan_right")
    r = scan_video(clip.path, ScanSettings(), tmp_path / "work")
    assert all(m.dx < 0 for m in r.motion if m.reliable)
    assert r.shots[0].camera.pan > 0


def test_real_static_camera_with_walking_people_is_static(sample_media: Path, tmp_path: Path) -> None:
    r = scan_video(sample_media / "vtest.avi", ScanSettings(), tmp_path)
    assert len(r.shots) == 1
    assert r.shots[0].camera.label == "static"
    assert r.shots[0].camera.pairs > 100
    # and its (sharp, uncovered) keyframe passes the quality check
    assert r.keyframes and all(k.verdict.valid for k in r.keyframes)


def _samples(dxs: list[float], dys: list[float] | None = None, scales: list[float] | None = None) -> list[MotionSample]:
    dys = dys or [0.0] * len(dxs)
    scales = scales or [1.0] * len(dxs)
    return [MotionSample(3 * i, 3 * i + 3, dx, dy, s, 0.0, 50, 60) for i, (dx, dy, s) in enumerate(zip(dxs, dys, scales))]


def test_classifier_labels_trend_shake_and_mixture() -> None:
    kw = dict(fps=24.0, width=320, height=180, min_speed=0.03, min_zoom=0.04, jitter=0.04)
    assert classify(_samples([-4.0] * 10), **kw).label == "pan_right"  # type: ignore[arg-type]
    assert classify(_samples([0.0] * 10, [4.0] * 10), **kw).label == "tilt_up"  # type: ignore[arg-type]
    mixed = classify(_samples([-4.0] * 10, [-2.5] * 10), **kw)  # type: ignore[arg-type]
    assert mixed.label == "complex"
    shaky = classify(_samples([3.0, -3.0] * 5, [-2.0, 2.0] * 5), **kw)  # type: ignore[arg-type]
    assert shaky.label == "handheld"
    assert classify(_samples([0.1, -0.1] * 5), **kw).label == "static"  # type: ignore[arg-type]
    unreliable = [MotionSample(0, 3, 9.0, 0.0, 1.0, 0.0, 2, 60)]
    assert classify(unreliable, **kw).label is None  # type: ignore[arg-type]


def test_speed_follows_the_frames_own_times() -> None:
    """The same -4 px per 3-frame pair is twice as fast when those frames last half as long."""
    import numpy as np

    kw = dict(fps=24.0, width=320, height=180, min_speed=0.03, min_zoom=0.04, jitter=0.04)
    nominal = classify(_samples([-4.0] * 10), **kw)  # type: ignore[arg-type]
    assert nominal.speed == pytest.approx(4 / 320 * 8, rel=1e-6)  # 3 frames at 24 fps: 1/8 s
    fast = classify(_samples([-4.0] * 10), times=np.arange(40) / 48.0, **kw)  # type: ignore[arg-type]
    assert fast.label == "pan_right" and fast.speed == pytest.approx(2 * nominal.speed, rel=1e-6)
