"""The whole pass on a generated episode with every kind of boundary and camera move, and bad
input: truncated and corrupt files."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.clips import clip_dir, episode_clip_file  # noqa: F401
from fixtures.videos import Clip, truncated_copy

from skyscript.config import VideoSettings
from skyscript.steps.base import BadInput
from skyscript.video.decode import iter_frames, pure_decode
from skyscript.video.scan import scan_video


def test_episode_shots_transitions_cameras_and_quality(episode_clip_file: Clip, tmp_path: Path) -> None:
    clip = episode_clip_file
    r = scan_video(clip.path, VideoSettings(), tmp_path)
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
        scan_video(cut, VideoSettings(), tmp_path / "work")
    assert exc.value.reason == "truncated"
    assert "270" in exc.value.detail


def test_garbage_in_the_middle_is_bad_input(episode_clip_file: Clip, tmp_path: Path) -> None:
    data = bytearray(episode_clip_file.path.read_bytes())
    third = len(data) // 3
    data[third:] = bytes(len(data) - third)  # zeroed from a third on: frames vanish or fail
    broken = tmp_path / "broken.avi"
    broken.write_bytes(bytes(data))
    with pytest.raises(BadInput) as exc:
        scan_video(broken, VideoSettings(), tmp_path / "work")
    assert exc.value.reason in ("truncated", "decode_error")


def test_not_a_video_is_bad_input(tmp_path: Path) -> None:
    p = tmp_path / "x.avi"
    p.write_text("hello\n" * 100)
    with pytest.raises(BadInput) as exc:
        scan_video(p, VideoSettings(), tmp_path / "work")
    assert exc.value.reason == "not_a_video"
