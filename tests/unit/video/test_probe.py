from pathlib import Path

import pytest

from skyscript.errors import BadInput
from skyscript.video.probe import probe


def test_megamind_properties(sample_media: Path) -> None:
    info = probe(sample_media / "Megamind.avi")
    assert (info.width, info.height, info.frame_count) == (720, 528, 270)
    assert info.fps == pytest.approx(23.976, abs=1e-3)
    assert info.duration_s == pytest.approx(270 / 23.976, abs=0.01)
    assert info.start_pts_frames == 1.0  # the first frame's timestamp is 1, not 0


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty_file"), (b"this is plain text, not a video\n" * 50, "not_a_video")],
)
def test_bad_files_raise_bad_input_with_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    f = tmp_path / "ep.mp4"
    f.write_bytes(content)
    with pytest.raises(BadInput) as err:
        probe(f, "ep07.mp4")
    assert err.value.reason == reason
    assert "ep07.mp4" in err.value.detail


def test_an_image_is_not_a_video(sample_media: Path) -> None:
    # an image decodes as a single-frame "video" in FFmpeg; it must not count as an episode
    with pytest.raises(BadInput) as err:
        probe(sample_media / "messi5.jpg")
    assert err.value.reason in ("not_a_video", "no_frames", "too_short")


def test_unknown_codec_is_unreadable(tmp_path: Path) -> None:
    import cv2
    import numpy as np

    good = tmp_path / "good.avi"
    w = cv2.VideoWriter(str(good), cv2.VideoWriter_fourcc(*"MJPG"), 24, (64, 48))
    for i in range(10):
        w.write(np.full((48, 64, 3), i * 20, np.uint8))
    w.release()
    assert probe(good).frame_count == 10
    bad = tmp_path / "bad.avi"
    bad.write_bytes(good.read_bytes().replace(b"MJPG", b"ZZ9Q"))  # a fourcc no decoder knows
    with pytest.raises(BadInput) as err:
        probe(bad, "ep09.avi")
    assert err.value.reason == "unreadable_codec"
    assert "ep09.avi" in err.value.detail and "Decoder not found" in err.value.detail


def test_a_tiny_picture_is_too_small(tmp_path: Path) -> None:
    import numpy as np

    from fixtures.videos import write_avi

    frames = [np.full((16, 16, 3), 40 * i, np.uint8) for i in range(6)]
    f = write_avi(tmp_path / "tiny.avi", frames)
    assert probe(f).width == 16  # no minimum asked for: it is a video
    with pytest.raises(BadInput) as err:
        probe(f, "ep09.avi", min_side=64)
    assert err.value.reason == "too_small"
    assert err.value.detail == "ep09.avi is 16x16, under 64 px on its shorter side"
