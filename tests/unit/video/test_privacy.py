from __future__ import annotations

import cv2
import numpy as np
import pytest

from skyscript.imaging import decode_jpeg, encode_jpeg
from skyscript.video.privacy import face_region, mosaic, obscure_face, pad_box, pixelate


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


@pytest.mark.parametrize(("h", "w", "block", "channels"), [(333, 251, 42, 3), (97, 131, 12, 3), (50, 40, 12, 1), (24, 36, 12, 3), (7, 5, 12, 3)])
def test_pixelate_matches_cell_means_on_any_shape(h: int, w: int, block: int, channels: int) -> None:
    rng = np.random.default_rng(h * w)
    region = rng.integers(0, 256, (h, w, channels) if channels > 1 else (h, w), dtype=np.uint8)
    out = pixelate(region, block)
    assert out.shape == region.shape
    for y in range(0, h, block):
        for x in range(0, w, block):
            cell = region[y : y + block, x : x + block].astype(np.float64)
            want = np.rint(cell.reshape(-1, channels).mean(axis=0)).astype(np.uint8)
            assert (out[y : y + block, x : x + block].reshape(-1, channels) == want).all(), (y, x)


def test_pad_box_grows_and_clips() -> None:
    assert pad_box((100, 100, 200, 150), 0.1, 640, 480) == (90, 95, 210, 155)
    assert pad_box((-20, 400, 50, 500), 0.0, 640, 480) == (0, 400, 50, 480)
    assert pad_box((700, 10, 800, 50), 0.1, 640, 480) is None


def _detail(img: np.ndarray) -> float:
    """Mean absolute Laplacian of the grey image: how much fine structure is left."""
    return float(np.abs(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F)).mean())


def test_mosaic_masks_inside_the_grown_face_box_and_nothing_else(astronaut: np.ndarray, astronaut_face) -> None:
    before = astronaut.copy()
    masked, regions = mosaic(astronaut, [astronaut_face], [], block=12, padding=0.15, face_cells=8)
    assert np.array_equal(astronaut, before)  # the input (the private frame) is untouched
    [region] = regions
    assert region.source == "face"
    x0, y0, x1, y1 = region.xyxy
    assert (x0, y0, x1, y1) == face_region(astronaut_face, 0.15, 0.35, 0.2, 512, 512)
    fx0, fy0, fx1, fy1 = astronaut_face
    assert y0 <= fy0 - 0.3 * (fy1 - fy0) and y1 >= fy1 + 0.15 * (fy1 - fy0)  # hair and chin covered
    inside = masked[y0:y1, x0:x1]
    assert _detail(inside) < 0.15 * _detail(astronaut[y0:y1, x0:x1])  # no fine structure left
    assert np.abs(inside.astype(int) - astronaut[y0:y1, x0:x1].astype(int)).mean() > 8
    outside = np.ones(astronaut.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(masked[outside], astronaut[outside])


def test_face_cells_are_sized_from_the_face() -> None:
    rng = np.random.default_rng(0)
    region = rng.integers(0, 255, (400, 320, 3), dtype=np.uint8)
    out = obscure_face(region, cells=8, min_block=12)  # 50 px cells, blurred
    assert np.abs(np.diff(out.astype(int), axis=0)).mean() < 3 < np.abs(np.diff(region.astype(int), axis=0)).mean()
    assert obscure_face(region[:40, :40], cells=8, min_block=12).shape == (40, 40, 3)


def test_mosaic_text_and_faces_together(astronaut: np.ndarray) -> None:
    face = (180.0, 65.0, 265.0, 170.0)
    caption = (20.0, 440.0, 200.0, 480.0)
    masked, regions = mosaic(astronaut, [face], [caption], block=8, padding=0.0)
    assert [r.source for r in regions] == ["face", "text"]
    assert regions[1].xyxy == (20, 440, 200, 480)
    for cell in cells(masked[440:480, 20:200], 8):  # text keeps its fixed cells, no blur
        assert np.ptp(cell.reshape(-1, 3), axis=0).max() == 0
    untouched = masked.copy()
    fx0, fy0, fx1, fy1 = regions[0].xyxy
    untouched[fy0:fy1, fx0:fx1] = astronaut[fy0:fy1, fx0:fx1]
    untouched[440:480, 20:200] = astronaut[440:480, 20:200]
    assert np.array_equal(untouched, astronaut)


def test_mosaic_survives_jpeg(astronaut: np.ndarray, astronaut_face) -> None:
    """What is published is a JPEG: the face stays without detail after encoding."""
    masked, [region] = mosaic(astronaut, [astronaut_face], [], block=12, padding=0.15)
    back = decode_jpeg(encode_jpeg(masked, 92))
    x0, y0, x1, y1 = region.xyxy
    assert _detail(back[y0:y1, x0:x1]) < 0.2 * _detail(astronaut[y0:y1, x0:x1])


def test_a_large_masked_face_defeats_the_detectors(astronaut: np.ndarray, astronaut_face) -> None:
    """The leak the fixed 12 px cell left: a face 335 px high. OpenCV's frontal cascade (minNeighbors
    5, min size frame height / 10) finds it before masking and not after (JPEG included); neither
    does BlazeFace outside the masked region."""
    from skyscript.models.blazeface import BlazeFace
    from skyscript.models.face_detect import FaceDetector

    scale = 335 / (astronaut_face[3] - astronaut_face[1])
    big = np.ascontiguousarray(cv2.resize(astronaut, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)[:1080, :1500])
    fx0, fy0, fx1, fy1 = (v * scale for v in astronaut_face)
    casc = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

    def haar_on_face(img: np.ndarray) -> int:
        g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        found = casc.detectMultiScale(g, 1.1, 5, minSize=(g.shape[0] // 10, g.shape[0] // 10))
        return sum(1 for x, y, w, h in found if fx0 <= x + w / 2 <= fx1 and fy0 <= y + h / 2 <= fy1)

    assert haar_on_face(big) == 1
    boxes = FaceDetector(neural="full").detect(big).mask_regions()
    masked, regions = mosaic(big, boxes, [], block=12, padding=0.15)
    assert haar_on_face(masked) == 0 and haar_on_face(decode_jpeg(encode_jpeg(masked, 92))) == 0
    from skyscript.steps.privacy import unmasked_faces

    assert unmasked_faces(BlazeFace("short", min_score=0.5).detect(masked), regions, 0.5, masked.shape) == []
