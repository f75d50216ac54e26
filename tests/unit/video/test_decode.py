"""The decoder's verdict on damaged files, the same on one decoder thread and on FFmpeg's frame
threads: a file cut off mid-packet is ``truncated``; junk inside the stream with data after it
is ``decode_error``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures import videos as V
from fixtures.odd_files import _frames

from skyscript.errors import BadInput
from skyscript.video.decode import iter_frames


@pytest.fixture(scope="module")
def faststart_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # the index first, so the frames before any damage still decode
    return V.write_h264(tmp_path_factory.mktemp("dec") / "whole.mp4", _frames(16, 72, move="pan_right"), faststart=True)


def _verdict(path: Path, threads: int) -> BadInput:
    with pytest.raises(BadInput) as exc:
        for _ in iter_frames(path, threads=threads):
            pass
    return exc.value


@pytest.mark.parametrize("threads", [1, 0])
def test_a_file_cut_mid_packet_is_truncated(faststart_mp4: Path, tmp_path: Path, threads: int) -> None:
    cut = V.truncated_copy(faststart_mp4, tmp_path / "cut.mp4", keep=0.5)
    err = _verdict(cut, threads)
    assert err.reason == "truncated"
    assert "the header promises 72" in err.detail
    if threads == 1:  # one thread reports the partial last packet; frame threads swallow it
        assert "its last packet is cut off" in err.detail


@pytest.mark.parametrize("threads", [1, 0])
def test_junk_inside_the_stream_is_a_decode_error(faststart_mp4: Path, tmp_path: Path, threads: int) -> None:
    data = bytearray(faststart_mp4.read_bytes())
    at = len(data) // 2
    data[at : at + 3000] = np.random.default_rng(1).bytes(3000)  # data follows the damage
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    err = _verdict(broken, threads)
    assert err.reason == "decode_error"
    assert "decoding failed after frame" in err.detail


def test_an_intact_file_decodes_every_frame_on_either_setting(faststart_mp4: Path) -> None:
    assert [i for i, _f, _info in iter_frames(faststart_mp4, threads=1)] == list(range(72))
    assert sum(1 for _ in iter_frames(faststart_mp4, threads=0)) == 72
