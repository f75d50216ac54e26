"""Keyframe candidates and choice: sharpest per stretch, inside the shot, no near-duplicates."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from fixtures.clips import clip_dir, cuts_clip_file  # noqa: F401
from fixtures.videos import Clip, texture

from skyscript.config import ScanSettings
from skyscript.video.keyframes import Candidate, dhash, hamming, select_keyframes
from skyscript.video.quality import FrameQuality, Verdict
from skyscript.video.scan import scan_video
from skyscript.video.shots import ShotSpan


def _cand(i: int, sharp: float, h: int, valid: bool = True) -> Candidate:
    q = FrameQuality(sharp, sharp, sharp, 0.0, 100.0, 40.0)
    return Candidate(i, sharp, 10, 10, q, Verdict(valid, None if valid else "motion_blur"), h, Path(f"f{i}.jpg"))


def test_dhash_sees_near_duplicates_and_different_pictures() -> None:
    a = cv2.cvtColor(texture(1, (320, 180)), cv2.COLOR_BGR2GRAY)
    noisy = np.clip(a.astype(int) + np.random.default_rng(0).normal(0, 3, a.shape), 0, 255).astype(np.uint8)
    b = cv2.cvtColor(texture(2, (320, 180)), cv2.COLOR_BGR2GRAY)
    assert hamming(dhash(a), dhash(noisy)) <= 6
    assert hamming(dhash(a), dhash(b)) > 12


def test_choice_per_stretch_prefers_valid_sharp_and_drops_duplicates() -> None:
    shot = ShotSpan(0, 0, 90, None)
    cands = [
        _cand(10, 50, 0b1111), _cand(20, 90, 0b1111),  # first stretch: 20 is sharper
        _cand(35, 300, 0xFFFF0000, valid=False), _cand(50, 80, 0xFFFF0000),  # valid beats sharper invalid
        _cand(70, 120, 0b1110),  # third stretch: a near-duplicate of frame 20 (distance 1)
    ]
    chosen = select_keyframes([shot], cands, per_shot=3, duplicate_distance=6)
    assert [c.frame_index for c in chosen[0]] == [20, 50]
    one = select_keyframes([shot], cands, per_shot=1, duplicate_distance=6)
    assert [c.frame_index for c in one[0]] == [70]  # sharpest valid of the whole shot


def test_frames_inside_a_transition_or_at_the_edge_are_avoided() -> None:
    shots = [ShotSpan(0, 0, 40, None), ShotSpan(1, 40, 100, "dissolve", (34, 46))]
    cands = [_cand(36, 500, 1), _cand(20, 100, 2), _cand(44, 500, 3), _cand(98, 900, 4), _cand(70, 90, 5)]
    chosen = select_keyframes(shots, cands, per_shot=1, duplicate_distance=0)
    assert [c.frame_index for c in chosen[0]] == [20]
    assert [c.frame_index for c in chosen[1]] == [70]


def test_every_shot_gets_a_keyframe_jpeg_of_full_size(cuts_clip_file: Clip, tmp_path: Path) -> None:
    vs = ScanSettings(keyframes_per_shot=2)
    r = scan_video(cuts_clip_file.path, vs, tmp_path)
    for s in r.shots:
        assert 1 <= len(s.keyframes) <= 2
        for k in s.keyframes:
            assert s.span.start <= k.frame_index < s.span.end
            img = cv2.imread(str(k.jpeg_path))
            assert img.shape == (144, 256, 3)
    # one candidate per half-second window at most, plus the windows cut short by a cut
    assert len(r.candidates) <= 75 / 12 + 1 + len(r.cuts)


def test_candidates_are_assessed_only_as_far_as_the_choice_needs() -> None:
    """In rank order until a valid one turns up: the rest are never measured."""
    shot = ShotSpan(0, 0, 90, None)
    ranks = {20: 300.0, 40: 200.0, 60: 100.0, 30: 50.0}
    valid = {20: False, 40: True, 60: True, 30: True}
    cands = [Candidate(i, r, 10, 10) for i, r in ranks.items()]
    seen: list[int] = []

    def assess(c: Candidate) -> None:
        if c.verdict is None:
            seen.append(c.frame_index)
            q = FrameQuality(c.rank, c.rank, c.rank, 0.0, 100.0, 40.0)
            c.quality, c.verdict, c.dhash = q, Verdict(valid[c.frame_index], None if valid[c.frame_index] else "motion_blur"), c.frame_index

    chosen = select_keyframes([shot], cands, per_shot=1, duplicate_distance=0, assess=assess)
    assert [c.frame_index for c in chosen[0]] == [40]  # the sharpest is invalid, the next valid one wins
    assert seen == [20, 40]
    with_none = [Candidate(5, 1.0, 10, 10)]
    try:
        select_keyframes([ShotSpan(0, 0, 10, None)], with_none, per_shot=1, duplicate_distance=0)
    except ValueError as exc:
        assert "not been assessed" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("an unassessed candidate must not be chosen blind")


def test_a_small_memory_budget_spills_candidates_without_changing_the_choice(cuts_clip_file: Clip, tmp_path: Path) -> None:
    roomy = scan_video(cuts_clip_file.path, ScanSettings(keyframes_per_shot=2), tmp_path / "a")
    # 256x144 yuv420p pictures are 55 KB: a 0.1 MB budget holds one of them
    tight = scan_video(cuts_clip_file.path, ScanSettings(keyframes_per_shot=2, candidate_memory_mb=0.1), tmp_path / "b")
    assert roomy.spilled == 0 and len(roomy.candidates) >= 6
    assert tight.spilled == len(tight.candidates) - 1
    pick = lambda r: [(k.frame_index, k.verdict, k.dhash) for k in r.keyframes]  # noqa: E731
    assert pick(tight) == pick(roomy)
    for k in tight.keyframes:
        assert k.jpeg_path is not None and cv2.imread(str(k.jpeg_path)).shape == (144, 256, 3)
    # spilled pictures went to disk as raw planes and came back unchanged: the same JPEG bytes
    assert [k.jpeg_path.read_bytes() for k in tight.keyframes] == [k.jpeg_path.read_bytes() for k in roomy.keyframes]
    assert sorted(p.suffix for p in (tmp_path / "b" / "candidates").iterdir()) == [".jpg"] * len(tight.keyframes)
    # only chosen (or spilled) candidates carry a JPEG: the others were never encoded
    encoded = [c for c in roomy.candidates if c.jpeg_path is not None]
    assert sorted(c.frame_index for c in encoded) == sorted(k.frame_index for k in roomy.keyframes)
