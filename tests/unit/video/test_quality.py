"""Frame quality: motion blur and occlusion on real photographs and generated clips."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from fixtures.clips import blur_clip_file, clip_dir  # noqa: F401
from fixtures.videos import Clip, camera_shot, motion_blurred, texture, write_avi

from skyscript.config import ScanSettings
from skyscript.video import quality
from skyscript.video.scan import analysis_size, scan_video

VS = ScanSettings()


def _analysis_gray(img: np.ndarray) -> np.ndarray:
    w, h = analysis_size(img.shape[1], img.shape[0], VS.analysis_width)
    return cv2.cvtColor(cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)


def _verdict(img: np.ndarray) -> quality.Verdict:
    q = quality.measure(_analysis_gray(img))
    return quality.judge(q, VS.blur_threshold, VS.motion_blur_threshold, VS.occlusion_threshold)


def test_sharp_photo_valid_its_smeared_copy_and_the_blurred_samples_not(sample_media: Path) -> None:
    messi = cv2.imread(str(sample_media / "messi5.jpg"))
    assert _verdict(messi) == quality.Verdict(True, None)
    assert _verdict(motion_blurred([messi], 25)[0]) == quality.Verdict(False, "motion_blur")
    assert _verdict(cv2.imread(str(sample_media / "text_motion.jpg"))).reason == "motion_blur"
    assert _verdict(cv2.imread(str(sample_media / "text_defocus.jpg"))).reason == "motion_blur"


def test_smear_is_directional(sample_media: Path) -> None:
    messi = cv2.imread(str(sample_media / "messi5.jpg"))
    sharp = quality.measure(_analysis_gray(messi))
    smeared = quality.measure(_analysis_gray(motion_blurred([messi], 25)[0]))
    assert smeared.anisotropy > 0.9 > sharp.anisotropy
    assert smeared.directional_min < 0.1 * sharp.directional_min


def test_covered_lens_is_occlusion(sample_media: Path) -> None:
    messi = cv2.imread(str(sample_media / "messi5.jpg"))
    covered = messi.copy()
    covered[:, : int(messi.shape[1] * 0.75)] = (30, 32, 35)  # a dark object over three quarters
    assert _verdict(covered) == quality.Verdict(False, "occlusion")
    assert quality.flat_share(_analysis_gray(covered)) >= 0.7
    assert quality.flat_share(_analysis_gray(messi)) < 0.1


def test_blurred_shot_keyframe_is_invalid_sharp_one_valid(blur_clip_file: Clip, tmp_path: Path) -> None:
    r = scan_video(blur_clip_file.path, VS, tmp_path)
    assert [s.span.start for s in r.shots] == [0, 30]
    (k0,) = r.shots[0].keyframes
    (k1,) = r.shots[1].keyframes
    assert k0.verdict == quality.Verdict(True, None)
    assert k1.verdict == quality.Verdict(False, "motion_blur")
    assert 30 <= k1.frame_index < 60


def test_directional_energy_from_moments_equals_the_direct_sum(sample_media: Path) -> None:
    """The quadratic-form shortcut gives the same numbers as filtering along each direction."""
    g = _analysis_gray(motion_blurred([cv2.imread(str(sample_media / "messi5.jpg"))], 9)[0]).astype(np.float32)
    dxx = cv2.Sobel(g, cv2.CV_32F, 2, 0, ksize=3)
    dyy = cv2.Sobel(g, cv2.CV_32F, 0, 2, ksize=3)
    dxy = cv2.Sobel(g, cv2.CV_32F, 1, 1, ksize=3)
    direct = []
    for k in range(12):
        c, s = np.cos(np.pi * k / 12), np.sin(np.pi * k / 12)
        d = (c * c) * dxx + (2 * c * s) * dxy + (s * s) * dyy
        direct.append(float(np.mean(d.astype(np.float64) ** 2)))
    lo, hi = quality.directional_sharpness(g.astype(np.uint8))
    assert lo == pytest.approx(min(direct), rel=1e-4)
    assert hi == pytest.approx(max(direct), rel=1e-4)


def _wall_frames(sample_media: Path, n: int) -> list[np.ndarray]:
    """A plain, evenly lit wall filling most of the frame, a real face in the middle of it."""
    rng = np.random.default_rng(3)
    face = cv2.imread(str(sample_media / "messi5.jpg"))[40:190, 180:330]  # a real, detailed crop
    base = np.empty((144, 256, 3), np.uint8)
    base[:] = (172, 180, 190)
    base[40:100, 100:160] = cv2.resize(face, (60, 60), interpolation=cv2.INTER_AREA)
    return [np.clip(base + rng.normal(0, 0.6, base.shape), 0, 255).astype(np.uint8) for _ in range(n)]


def test_a_plain_wall_is_not_an_occlusion(sample_media: Path, tmp_path: Path) -> None:
    frames = camera_shot(texture(21), 30, "static", seed=21) + _wall_frames(sample_media, 36)
    r = scan_video(write_avi(tmp_path / "wall.avi", frames), VS, tmp_path / "work")
    assert [s.span.start for s in r.shots] == [0, 30]
    (wall,) = r.shots[1].keyframes
    assert wall.quality is not None and wall.quality.flat_share >= VS.occlusion_threshold
    # flat alone, out of its shot, it would be judged occluded; in a shot that is all wall it is valid
    assert quality.judge(wall.quality, VS.blur_threshold, VS.motion_blur_threshold, VS.occlusion_threshold).reason == "occlusion"
    assert wall.verdict == quality.Verdict(True, None)


def test_something_moving_in_front_of_the_lens_is_an_occlusion(tmp_path: Path) -> None:
    """A dark, featureless object slides in over 12 frames and covers 80 % of a textured shot."""
    frames = camera_shot(texture(22), 56, "static", seed=22)
    for i in range(20, 56):
        cover = int(256 * 0.8 * min(1.0, (i - 19) / 12))
        frames[i][:, :cover] = (28, 30, 34)
    r = scan_video(write_avi(tmp_path / "occluded.avi", frames), ScanSettings(keyframes_per_shot=2), tmp_path / "work")
    assert len(r.shots) == 1
    first, second = r.shots[0].keyframes
    assert first.frame_index < 28 and first.verdict == quality.Verdict(True, None)  # at most a sliver covered
    assert second.frame_index >= 32 and second.verdict == quality.Verdict(False, "occlusion")


def test_occlusion_rule_needs_a_rise_over_the_shot_or_a_blank_frame() -> None:
    rule = quality.OcclusionRule(0.6, rise=0.3, blank=0.97)
    assert not quality.is_occluded(0.5, rule, 0.0)  # not flat enough
    assert quality.is_occluded(0.8, rule, 0.1)  # flatter than its shot's clear frames
    assert not quality.is_occluded(0.8, rule, 0.7)  # the shot is like that (a wall)
    assert quality.is_occluded(0.98, rule, 0.98)  # nothing to see at all
    assert quality.is_occluded(0.8, rule, None)  # no shot to compare with: flatness decides
