"""Dissolves between moving shots: found near their middle through the whole scan, while a
single camera move (a long pan, a zoom, a hand-held shot) and a hard cut between moving shots
are no dissolve; and :func:`detect_dissolves` itself on thumbnails made in memory."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest
from fixtures import videos as V

from skyscript.config import ScanSettings
from skyscript.video.scan import ScanResult, scan_video
from skyscript.video.transitions import Transition, _global_motion, detect_dissolves

THUMB = (32, 18)  # what the scan keeps per frame for a 256 x 144 video


def _scan(clip: V.Clip, tmp_path: Path) -> ScanResult:
    return scan_video(clip.path, ScanSettings(), tmp_path / "work")


def _thumbs(frames: V.Frames) -> list[np.ndarray]:
    """Grey 32 x 18 thumbnails of 256 x 144 BGR frames (area-averaged, as in the scan)."""
    return [cv2.resize(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY), THUMB, interpolation=cv2.INTER_AREA) for f in frames]


def _detect(thumbs: list[np.ndarray], **kw: object) -> list[Transition]:
    vs = ScanSettings()
    return detect_dissolves(
        thumbs, V.FPS, min_change=vs.dissolve_min_change, max_blend_error=vs.dissolve_max_blend_error,
        max_len_s=vs.dissolve_max_s, **kw,  # type: ignore[arg-type]
    )


def _shot(move: str, n: int, seed: int, **kw: float) -> V.Frames:
    return V.camera_shot(V.wide_texture(seed), n, move, seed=seed, **kw)


def _mixed(a: V.Frames, b: V.Frames, n: int) -> tuple[list[np.ndarray], int]:
    """Thumbnails of ``a`` dissolving over ``n`` frames into ``b``, and the first frame mostly B."""
    return _thumbs(V.dissolve(a, b, n)), len(a) - n + n // 2


# --- through the scan ---------------------------------------------------------------------


MOVING_DISSOLVES: dict[str, Callable[[Path, Path], V.Clip]] = {
    # both shots moving fast, in opposite directions
    "pan_into_pan": lambda p, _: V.moving_dissolve_clip(p, "pan_right", "pan_left", 12, speed=6.0),
    # a 30-frame mix of two pans: the ends of any window around the middle have moved apart
    "long_pan_into_pan": lambda p, _: V.moving_dissolve_clip(p, "pan_right", "pan_right", 30, length=60, speed=4.0),
    "pan_into_static": lambda p, _: V.moving_dissolve_clip(p, "pan_right", "static", 12, speed=8.0),
    "zoom_into_tilt": lambda p, _: V.moving_dissolve_clip(p, "zoom_in", "tilt_up", 12, speed=4.0),
    "handheld_into_pan": lambda p, _: V.moving_dissolve_clip(p, "handheld", "pan_right", 12, speed=5.0),
    "pan_into_tilt_36": lambda p, _: V.moving_dissolve_clip(p, "pan_left", "tilt_down", 36, length=64, speed=4.0),
    # a real photograph panned one way into the texture panned the other
    "photo_pan_into_pan": lambda p, samples: V.moving_dissolve_clip(
        p, "pan_right", "pan_left", 12, speed=5.0,
        pictures=(V.photo_texture(samples / "messi5.jpg", 2200), V.wide_texture(5)),
    ),
}


@pytest.mark.parametrize("name", sorted(MOVING_DISSOLVES))
def test_dissolve_between_moving_shots_is_one_boundary_near_its_middle(
    name: str, sample_media: Path, tmp_path: Path
) -> None:
    clip = MOVING_DISSOLVES[name](tmp_path / f"{name}.avi", sample_media)
    mid = clip.shot_starts[1]
    r = _scan(clip, tmp_path)
    assert r.frames == clip.frames
    assert [s.span.transition_in for s in r.shots] == [None, "dissolve"], [s.span for s in r.shots]
    assert abs(r.shots[1].span.start - mid) <= 3, (r.shots[1].span.start, mid)
    assert r.shots[0].span.start == 0 and r.shots[1].span.end == clip.frames
    (d,) = r.transitions
    assert d.kind == "dissolve" and d.boundary == r.shots[1].span.start
    assert d.start <= mid - 3 and d.end >= mid + 3  # the span covers the middle of the mix
    assert 0.5 < d.score <= 1.0


CAMERA_MOVES: dict[str, Callable[[Path], V.Clip]] = {
    "long_pan": lambda p: V.long_move_clip(p, "pan_right", 200),
    "fast_pan": lambda p: V.long_move_clip(p, "pan_left", 120, speed=8.0),
    "tilt": lambda p: V.long_move_clip(p, "tilt_down", 100),
    "zoom_in": lambda p: V.long_move_clip(p, "zoom_in", 120, zoom_rate=0.015),
    "zoom_out": lambda p: V.long_move_clip(p, "zoom_out", 120),
    "handheld": lambda p: V.long_move_clip(p, "handheld", 150, shake=4.0),
}


@pytest.mark.parametrize("name", sorted(CAMERA_MOVES))
def test_a_single_camera_move_is_one_shot_without_a_dissolve(name: str, tmp_path: Path) -> None:
    clip = CAMERA_MOVES[name](tmp_path / f"{name}.avi")
    r = _scan(clip, tmp_path)
    assert r.frames == clip.frames
    assert [(s.span.start, s.span.end, s.span.transition_in) for s in r.shots] == [(0, clip.frames, None)]
    assert r.transitions == []


def test_hard_cut_between_moving_shots_stays_an_exact_cut(tmp_path: Path) -> None:
    clip = V.moving_cut_clip(tmp_path / "cut.avi", "pan_right", "tilt_up", 40, speed=6.0)
    r = _scan(clip, tmp_path)
    assert [(s.span.start, s.span.transition_in) for s in r.shots] == [(0, None), (40, "cut")]
    assert r.transitions == []


# --- detect_dissolves on thumbnails ---------------------------------------------------------


def test_moving_dissolve_needs_the_motion_compensated_test() -> None:
    thumbs, mid = _mixed(_shot("pan_right", 48, 4, speed=6.0), _shot("pan_left", 48, 5, speed=6.0), 24)
    (d,) = _detect(thumbs)
    assert d.kind == "dissolve"
    assert abs(d.boundary - mid) <= 2, (d, mid)
    assert d.start <= 28 and d.end >= 44  # the mixed frames are 24..47
    assert d.score > 0.8
    # the blend test on the frames as they stand does not see it: both ends have moved
    assert _detect(thumbs, motion_compensation=False) == []


def test_still_dissolve_is_found_the_same_with_or_without_motion_compensation() -> None:
    thumbs, mid = _mixed(_shot("static", 40, 4), _shot("static", 40, 5), 12)
    with_mc, without = _detect(thumbs), _detect(thumbs, motion_compensation=False)
    assert [d.boundary for d in with_mc] == [d.boundary for d in without]
    (d,) = with_mc
    assert abs(d.boundary - mid) <= 1 and d.start <= mid - 3 and d.end >= mid + 3
    assert d.score > 0.9


@pytest.mark.parametrize(
    "move,kw",
    [
        ("pan_right", {"speed": 3.0}),
        ("pan_left", {"speed": 8.0}),
        ("tilt_up", {"speed": 4.0}),
        ("zoom_in", {"zoom_rate": 0.02}),
        ("zoom_out", {"zoom_rate": 0.01}),
        ("handheld", {"shake": 5.0}),
    ],
)
def test_camera_moves_are_not_dissolves(move: str, kw: dict[str, float]) -> None:
    assert _detect(_thumbs(_shot(move, 110, 6, **kw))) == []


def _smooth_noise(seed: int, cells: tuple[int, int] = (50, 30), size: tuple[int, int] = (400, 240)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.random(cells[::-1]).astype(np.float32) * 255, size, interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize("rate", [0.004, -0.005, 0.0085])
def test_slow_zoom_over_fine_detail_is_not_a_dissolve(rate: float) -> None:
    """Fine detail zoomed slowly changes every thumbnail pixel smoothly, so the middle of a
    window is close to the mean of its ends: the plain blend test calls it a dissolve. Carried
    to the middle along the measured zoom, the two ends are the same picture."""
    world = _smooth_noise(7)
    thumbs = [
        cv2.resize(
            cv2.warpAffine(world, cv2.getRotationMatrix2D((200, 120), 0, (1 + rate) ** i), (400, 240),
                           borderMode=cv2.BORDER_REFLECT)[60:180, 100:300],
            THUMB, interpolation=cv2.INTER_AREA,
        )
        for i in range(80)
    ]
    assert _detect(thumbs, motion_compensation=False) != []
    assert _detect(thumbs) == []


def test_cut_between_moving_shots_is_not_a_dissolve() -> None:
    a, b = _shot("pan_right", 40, 4, speed=6.0), _shot("zoom_in", 40, 5)
    assert _detect(_thumbs(a + b)) == []


def test_dissolve_shortly_after_a_cut_keeps_its_own_middle() -> None:
    still = _shot("static", 30, 6)
    thumbs, mid = _mixed(_shot("pan_right", 20, 4, speed=5.0), _shot("pan_left", 48, 5, speed=5.0), 12)
    (d,) = _detect(_thumbs(still) + thumbs)
    assert abs(d.boundary - (30 + mid)) <= 3, (d, 30 + mid)
    assert d.start > 30  # not reaching back over the cut


@pytest.mark.parametrize(
    "move,speed,gain,offset",
    [("static", 0.0, 0.6, 0.0), ("pan_right", 2.0, 0.0, 40.0), ("pan_right", 6.0, -0.4, 0.0)],
)
def test_light_change_within_a_shot_is_not_a_dissolve(move: str, speed: float, gain: float, offset: float) -> None:
    """Brighter or darker over half a second: the plain blend test took it for a dissolve (a
    mix of the picture with a brighter copy of itself); the carried ends are one picture."""
    frames = _shot(move, 90, 6, speed=speed)
    ramp = [min(max((i - 40) / 12, 0.0), 1.0) for i in range(90)]
    lit = [np.clip(f.astype(np.float32) * (1 + gain * r) + offset * r, 0, 255).astype(np.uint8) for f, r in zip(frames, ramp)]
    thumbs = _thumbs(lit)
    assert float(np.abs(thumbs[60].astype(float) - thumbs[30]).mean()) > 18  # a change to find
    assert _detect(thumbs) == []


def test_blocked_frames_are_never_the_centre() -> None:
    thumbs, mid = _mixed(_shot("pan_right", 48, 4, speed=6.0), _shot("pan_left", 48, 5, speed=6.0), 24)
    assert _detect(thumbs, blocked=[(mid - 12, mid + 12)]) == []
    (d,) = _detect(thumbs, blocked=[(0, 10)])
    assert abs(d.boundary - mid) <= 2


def test_too_few_frames_or_no_change_is_nothing() -> None:
    flat = [np.full((18, 32), 90, np.uint8)] * 60
    assert _detect(flat) == []
    assert _detect(_thumbs(_shot("pan_right", 4, 4))) == []
    assert _detect([]) == []


def test_global_motion_reads_shift_and_zoom_of_thumbnails() -> None:
    def motion(frames: V.Frames) -> np.ndarray:
        t = np.stack(_thumbs(frames)).astype(np.float32)
        return np.median(_global_motion(t[:-1], t[1:]), axis=0)

    # a pan right at 4 px per frame moves the content left by 4 / 8 thumbnail pixels per frame
    tx, ty, ds = motion(_shot("pan_right", 20, 4, speed=4.0, noise=0.0))
    assert tx == pytest.approx(-0.5, abs=0.04) and abs(ty) < 0.03 and abs(ds) < 0.003
    tx, ty, ds = motion(_shot("tilt_up", 20, 4, speed=4.0, noise=0.0))
    assert ty == pytest.approx(0.5, abs=0.04) and abs(tx) < 0.03
    # zooming in at 1.5% a frame grows the content by 1 / 0.985 a frame
    tx, ty, ds = motion(_shot("zoom_in", 20, 4, zoom_rate=0.015, noise=0.0))
    assert ds == pytest.approx(1 / 0.985 - 1, rel=0.2) and abs(tx) < 0.05 and abs(ty) < 0.05
