from __future__ import annotations

import numpy as np
import pytest

from skyscript.imaging import decode_jpeg, encode_jpeg
from skyscript.video.privacy import mosaic, pad_box, pixelate


def cells(region: np.ndarray, block: int):  # type: ignore[no-untyped-def]
    h, w = region.shape[:2]
    for y in range(0, h, block):
        for x in range(0, w, block):
            yield region[y : y + block, x : x + block]


def test_pixelate_fills_each_cell_with_its_mean() -> None:
    region = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    out = pixelate(region, 4)
    assert out.shape == region.shape and out.dtype == np.uint8
    # cells: rows 0-3 / 4, columns 0-3 / 4-6 (the edge cells are smaller)
    for ys, xs in ((slice(0, 4), slice(0, 4)), (slice(0, 4), slice(4, 7)), (slice(4, 5), slice(0, 4)), (slice(4, 5), slice(4, 7))):
        expected = np.rint(region[ys, xs].reshape(-1, 3).mean(axis=0))
        assert np.array_equal(out[ys, xs].reshape(-1, 3), np.tile(expected, (out[ys, xs].size // 3, 1)))


def test_pad_box_grows_and_clips() -> None:
    assert pad_box((100, 100, 200, 150), 0.1, 640, 480) == (90, 95, 210, 155)
    assert pad_box((-20, 400, 50, 500), 0.0, 640, 480) == (0, 400, 50, 480)
    assert pad_box((700, 10, 800, 50), 0.1, 640, 480) is None


def test_mosaic_masks_inside_the_face_box_and_nothing_else(astronaut: np.ndarray, astronaut_face) -> None:
    block = 12
    before = astronaut.copy()
    masked, regions = mosaic(astronaut, [astronaut_face], [], block=block, padding=0.15)
    assert np.array_equal(astronaut, before)  # the input (the private frame) is untouched
    [region] = regions
    assert region.source == "face"
    x0, y0, x1, y1 = region.xyxy
    assert (x0, y0, x1, y1) == pad_box(astronaut_face, 0.15, 512, 512)
    inside = masked[y0:y1, x0:x1]
    # every mosaic cell is one colour ...
    for cell in cells(inside, block):
        assert np.ptp(cell.reshape(-1, 3), axis=0).max() == 0
    # ... the face is no longer there ...
    diff = np.abs(inside.astype(int) - astronaut[y0:y1, x0:x1].astype(int))
    assert diff.mean() > 8
    # ... and outside the padded box nothing changed
    outside = np.ones(astronaut.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(masked[outside], astronaut[outside])


def test_mosaic_text_and_faces_together(astronaut: np.ndarray) -> None:
    face = (180.0, 65.0, 265.0, 170.0)
    caption = (20.0, 440.0, 200.0, 480.0)
    masked, regions = mosaic(astronaut, [face], [caption], block=8, padding=0.0)
    assert [r.source for r in regions] == ["face", "text"]
    assert regions[1].xyxy == (20, 440, 200, 480)
    for cell in cells(masked[440:480, 20:200], 8):
        assert np.ptp(cell.reshape(-1, 3), axis=0).max() == 0
    untouched = masked.copy()
    untouched[65:170, 180:265] = astronaut[65:170, 180:265]
    untouched[440:480, 20:200] = astronaut[440:480, 20:200]
    assert np.array_equal(untouched, astronaut)


def test_mosaic_survives_jpeg(astronaut: np.ndarray, astronaut_face) -> None:
    """What is published is a JPEG: the cells stay flat and the face stays gone after encoding."""
    masked, [region] = mosaic(astronaut, [astronaut_face], [], block=12, padding=0.15)
    back = decode_jpeg(encode_jpeg(masked, 92)).astype(int)
    x0, y0, x1, y1 = region.xyxy
    inner = [c for c in cells(back[y0:y1, x0:x1], 12) if c.shape[:2] == (12, 12)]
    assert np.median([c.reshape(-1, 3).std(axis=0).max() for c in inner]) < 4
    original_std = np.median([c.reshape(-1, 3).std(axis=0).max() for c in cells(astronaut[y0:y1, x0:x1].astype(int), 12)])
    assert original_std > 2 * np.median([c.reshape(-1, 3).std(axis=0).max() for c in inner])


def test_bad_block_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        pixelate(np.zeros((4, 4, 3), np.uint8), 0)
