"""The whole pass on a generated episode with every kind of boundary and camera move, and bad
input: truncated and corrupt files."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.clips import clip_dir, episode_clip_file  # noqa: F401
from fixtures.videos import Clip, truncated_copy

from skyscript.config import ScanSettings
from skyscript.errors import BadInput
from skyscript.video.decode import iter_frames, pure_decode
from skyscript.video.scan import scan_video


def test_episode_shots_transitions_cameras_and_quality(episode_clip_file: Clip, tmp_path: Path) -> None:
    clip = episode_clip_file
    r = scan_video(clip.path, ScanSettings(), tmp_path)
    assert r.frames == clip.frames
    assert [s.span.transition_in for s in r.shots] == clip.transitions
    got = [s.span.start for s in r.shots]
    for g, want, kind in zip(got, clip.shot_starts, clip.transitions):
        assert abs(g - want) <= (0 if kind in (None, "cut") else 3), (got, clip.shot_starts)
    assert [s.camera.label for s in r.shots] == clip.cameras
    assert [[k.verdict.valid for k in s.keyframes] for s in r.shots] == [[True]] * 5 + [[False]]
    assert r.shots[-1].keyframes[0].verdict.reason == "motion_blur"


def test_frames_are_counted_from_zero_whatever_the_timestamps(sample_media: Path) -> None:
    idx = [i for i, _f, _info in iter_frames(sample_media / "Megamind.avi")]
    assert idx == list(range(270))
    assert pure_decode(sample_media / "Megamind.avi") == 270


def test_truncated_file_is_bad_input(sample_media: Path, tmp_path: Path) -> None:
    cut = truncated_copy(sample_media / "Megamind.avi", tmp_path / "cut.avi", keep=0.5)
    with pytest.raises(BadInput) as exc:
        scan_video(cut, ScanSettings(), tmp_path / "work")
    assert exc.value.reason == "truncated"
    assert "270" in exc.value.detail


def test_garbage_in_the_middle_is_bad_input(episode_clip_file: Clip, tmp_path: Path) -> None:
    data = bytearray(episode_clip_file.path.read_bytes())
    third = len(data) // 3
    data[third:] = bytes(len(data) - third)  # zeroed from a third on: frames vanish or fail
    broken = tmp_path / "broken.avi"
    broken.write_bytes(bytes(data))
    with pytest.raises(BadInput) as exc:
        scan_video(broken, ScanSettings(), tmp_path / "work")
    assert exc.value.reason in ("truncated", "decode_error")


def test_not_a_video_is_bad_input(tmp_path: Path) -> None:
    p = tmp_path / "x.avi"
    p.write_text("hello\n" * 100)
    with pytest.raises(BadInput) as exc:
        scan_video(p, ScanSettings(), tmp_path / "work")
    assert exc.value.reason == "not_a_video"


def _vfr_clip(path: Path) -> tuple[Path, list[float]]:
    """Two shots, a hard cut at frame 24: 24 frames at 50 fps, then 24 at 12.5 fps (nominal 24)."""
    from fixtures.videos import camera_shot, texture, write_mkv_vfr

    frames = camera_shot(texture(31), 24, "static", seed=31) + camera_shot(texture(32), 24, "static", seed=32)
    durations = [20] * 24 + [80] * 24
    starts = [sum(durations[:i]) / 1000 for i in range(len(durations) + 1)]
    return write_mkv_vfr(path, frames, durations), starts


def test_variable_frame_rate_times_come_from_the_timestamps(tmp_path: Path) -> None:
    from skyscript.video.probe import probe

    path, starts = _vfr_clip(tmp_path / "phone.mkv")
    info = probe(path)
    assert info.frame_count == 48  # counted, not the header's 2.36 s x 24
    assert info.duration_s == pytest.approx(2.36, abs=0.01)
    r = scan_video(path, ScanSettings(), tmp_path / "work")  # no "truncated": 48 frames cover the whole duration
    assert r.frames == 48
    assert [(s.span.start, s.span.end) for s in r.shots] == [(0, 24), (24, 48)]
    assert [(s.start_s, s.end_s) for s in r.shots] == [
        pytest.approx((0.0, 0.48), abs=1e-3), pytest.approx((0.48, 2.40), abs=1e-3)  # 24/24 fps would say 1.0
    ]
    for k in r.keyframes:
        assert r.time_of(k.frame_index) == pytest.approx(starts[k.frame_index], abs=1e-3)


def test_truncated_matroska_is_found_by_its_duration(tmp_path: Path) -> None:
    path, _ = _vfr_clip(tmp_path / "phone.mkv")
    cut = truncated_copy(path, tmp_path / "cut.mkv", keep=0.7)
    with pytest.raises(BadInput) as exc:
        scan_video(cut, ScanSettings(), tmp_path / "work")
    assert exc.value.reason == "truncated"
    assert "s of the 2.36 s the header gives" in exc.value.detail


def test_frame_times_fall_back_to_the_nominal_rate() -> None:
    from skyscript.video.scan import frame_times

    assert frame_times([0.5, 0.54, 0.58, 0.7], 25.0).tolist() == pytest.approx([0.0, 0.04, 0.08, 0.2, 0.24])  # the last lasts like its neighbours (median)
    assert frame_times([0.0, None, 0.08], 25.0).tolist() == pytest.approx([0.0, 0.04, 0.08, 0.12])
    assert frame_times([0.0, 0.08, 0.04], 25.0).tolist() == pytest.approx([0.0, 0.04, 0.08, 0.12])
