"""Shot boundaries: exact hard cuts, dissolves and fades labelled as one boundary near their
middle, Megamind.avi's four real shots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures.clips import clip_dir, cuts_clip_file, dissolve_clip_file, fade_clip_file  # noqa: F401
from fixtures.videos import Clip

from skyscript.config import ScanSettings
from skyscript.video.scan import ScanResult, scan_video
from skyscript.video.shots import build_shots
from skyscript.video.transitions import Transition, detect_fades


def _scan(path: Path, tmp_path: Path) -> ScanResult:
    return scan_video(path, ScanSettings(), tmp_path)


def _starts(r: ScanResult) -> list[int]:
    return [s.span.start for s in r.shots]


def test_hard_cuts_are_exact(cuts_clip_file: Clip, tmp_path: Path) -> None:
    r = _scan(cuts_clip_file.path, tmp_path)
    assert r.frames == 75
    assert _starts(r) == [0, 30, 50]
    assert [s.span.end for s in r.shots] == [30, 50, 75]
    assert [s.span.transition_in for s in r.shots] == [None, "cut", "cut"]
    assert r.shots[1].start_s == pytest.approx(30 / 24.0)


def test_dissolve_is_one_boundary_near_its_middle(dissolve_clip_file: Clip, tmp_path: Path) -> None:
    r = _scan(dissolve_clip_file.path, tmp_path)
    assert len(r.shots) == 2
    assert r.shots[1].span.transition_in == "dissolve"
    assert abs(r.shots[1].span.start - dissolve_clip_file.shot_starts[1]) <= 3
    a, b = r.shots[1].span.transition_span  # type: ignore[misc]
    assert a <= 30 and b >= 30  # the span covers the mixed frames (24..35)


def test_fade_out_and_in_is_one_fade_boundary(fade_clip_file: Clip, tmp_path: Path) -> None:
    r = _scan(fade_clip_file.path, tmp_path)
    assert len(r.shots) == 2
    assert r.shots[1].span.transition_in == "fade"
    assert abs(r.shots[1].span.start - fade_clip_file.shot_starts[1]) <= 2


def test_megamind_has_its_four_real_shots(sample_media: Path, tmp_path: Path) -> None:
    r = _scan(sample_media / "Megamind.avi", tmp_path)
    assert r.frames == 270
    assert [(s.span.start, s.span.end) for s in r.shots] == [(0, 98), (98, 154), (154, 200), (200, 270)]
    assert [s.span.transition_in for s in r.shots] == [None, "cut", "cut", "cut"]
    assert r.shots[3].end_s == pytest.approx(270 / r.fps)


def test_fade_in_at_start_and_out_at_end_are_not_boundaries() -> None:
    std = np.array([0, 0, 2, 10, 30, 40, 40, 40, 40, 40, 30, 10, 1, 0], dtype=float)
    assert detect_fades(std, 6.0, max_ramp=10) == []
    mid = np.array([40] * 10 + [20, 8, 2, 1, 3, 9, 25] + [40] * 10, dtype=float)
    (f,) = detect_fades(mid, 6.0, max_ramp=10)
    assert (f.kind, f.boundary) == ("fade", 13)
    assert f.start == 10 and f.end == 17


def test_build_shots_absorbs_cuts_inside_a_transition_and_keeps_min_length() -> None:
    gradual = [Transition("dissolve", 40, 52, 46, 0.9)]
    shots = build_shots(120, [20, 44, 50, 104, 116], gradual, min_shot_frames=8)
    assert [(s.start, s.end, s.transition_in) for s in shots] == [
        (0, 20, None), (20, 46, "cut"), (46, 104, "dissolve"), (104, 120, "cut"),
    ]
    assert shots[2].transition_span == (40, 52)


def _grey_clip(path: Path, scenes: list[int], frames_each: int, saturation: float, seed: int = 0) -> Path:
    """Static grey (or desaturated) shots of Megamind frames with light sensor noise, MPEG-4 with a
    keyframe every 12 frames: the GOP boundaries reshuffle the chroma noise."""
    import av
    import cv2

    from fixtures.photos import megamind_frame
    from pathlib import Path as P

    samples = P.home() / ".cache" / "skyscript" / "samples"
    rng = np.random.default_rng(seed)
    c = av.open(str(path), "w")
    s = c.add_stream("mpeg4", rate=24)
    s.width, s.height, s.pix_fmt = 720, 528, "yuv420p"
    s.codec_context.gop_size = 12
    s.bit_rate = 800_000
    for index in scenes:
        img = megamind_frame(samples, index)
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        hsv[..., 1] = (hsv[..., 1] * saturation).astype(np.uint8)
        base = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR).astype(np.int16)
        for _ in range(frames_each):
            noisy = np.clip(base + rng.normal(0, 3, base.shape[:2])[..., None], 0, 255).astype(np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(noisy, format="bgr24")):
                c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()
    return path


@pytest.mark.parametrize("saturation, seed", [(0.0, 0), (0.04, 1), (0.08, 2)])
def test_grey_footage_is_not_cut_at_its_gop_boundaries(saturation: float, seed: int, tmp_path: Path, sample_media: Path) -> None:
    """Without the luma-only check the desaturated clips were cut in two (one or more false cuts at
    the encoder's keyframes)."""
    clip = _grey_clip(tmp_path / "grey.avi", [30], 80, saturation, seed)
    assert len(_scan(clip, tmp_path).shots) == 1
    # a real cut between two grey scenes is still found
    clip = _grey_clip(tmp_path / "grey2.avi", [30, 120], 40, saturation)
    r = _scan(clip, tmp_path)
    assert [s.span.start for s in r.shots] == [0, 40]


@pytest.mark.parametrize("luma_only", [False, True])
def test_one_pass_score_equals_the_librarys_on_real_footage(sample_media: Path, luma_only: bool) -> None:
    """The fast content score is PySceneDetect's own, float for float, frame for frame, and the
    detector reports the same cuts (Megamind at the scan's pass width)."""
    from scenedetect.detectors import AdaptiveDetector

    from skyscript.video.decode import iter_frames
    from skyscript.video.shots import adaptive_detector

    kw = dict(adaptive_threshold=3.0, min_scene_len=8, min_content_val=13.5, luma_only=luma_only)
    ours, theirs = adaptive_detector()(**kw), AdaptiveDetector(**kw)
    cuts_ours: list[int] = []
    cuts_theirs: list[int] = []
    scores = 0
    for i, frame, _info in iter_frames(sample_media / "Megamind.avi"):
        small = frame.reformat(width=128, height=72, format="bgr24").to_ndarray()
        cuts_ours += ours.process_frame(i, small)
        cuts_theirs += theirs.process_frame(i, small)
        assert ours._frame_score == theirs._frame_score, i
        scores += ours._frame_score > 0
    cuts_ours += ours.post_process(i)
    cuts_theirs += theirs.post_process(i)
    assert cuts_ours == cuts_theirs and len(cuts_ours) == 3  # Megamind's four shots
    assert scores > 200  # the scores compared were real ones, not zeros
