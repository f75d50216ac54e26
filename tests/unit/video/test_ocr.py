from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from skyscript.config import TextSettings
from skyscript.errors import MissingWeights
from skyscript.video.ocr import (
    DET_FILE,
    REC_FILE,
    TextLayout,
    TextLine,
    analyse,
    bundled_model_dir,
    classify_lines,
    ocr_frame,
    resolve_ocr_models,
    text_area_ratio,
)


def norm(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def rect(x0: float, y0: float, x1: float, y1: float, text: str = "hello there") -> TextLine:
    return TextLine(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), text, 0.99)


# --- OCR on real frames ----------------------------------------------------------------------


def test_reads_a_drawn_subtitle(ocr_engine, subtitled_frame: Any) -> None:
    img = subtitled_frame.image
    h, w = img.shape[:2]
    res = ocr_frame(ocr_engine, img, TextLayout())

    assert res.has_subtitle is True
    assert norm(res.subtitle_text) == norm(subtitled_frame.text)
    [sub] = [b for b in res.boxes if b.kind == "subtitle"]
    assert sub.mask is True
    assert sub.line.score > 0.8
    assert iou(sub.line.xyxy, subtitled_frame.xyxy) > 0.5
    drawn = (subtitled_frame.xyxy[2] - subtitled_frame.xyxy[0]) * (subtitled_frame.xyxy[3] - subtitled_frame.xyxy[1])
    # the detector's box hugs the glyphs: the ratio is about the drawn area over the frame
    assert 0.5 * drawn / (w * h) < res.text_area_ratio < 2.5 * drawn / (w * h)
    assert res.to_payload().boxes[0].xyxy == tuple(round(v, 1) for v in sub.line.xyxy)


def test_frame_without_text(ocr_engine, film_frame: np.ndarray) -> None:
    res = ocr_frame(ocr_engine, film_frame, TextLayout())
    assert res.boxes == []
    assert res.text_area_ratio == 0.0
    assert res.has_subtitle is False
    assert res.to_payload().subtitle_text == ""


def test_name_card_is_a_masked_caption_not_a_subtitle(ocr_engine, subtitled_frame: Any, text_drawer) -> None:
    card = text_drawer(subtitled_frame.image, "Li Wei", org=(40, 90), scale=1.2, thickness=2)
    res = ocr_frame(ocr_engine, card.image, TextLayout(mask_subtitles=False))

    cards = [b for b in res.boxes if norm(b.line.text) == "liwei"]
    assert len(cards) == 1
    assert cards[0].kind == "name_card" and cards[0].mask is True
    assert iou(cards[0].line.xyxy, card.xyxy) > 0.4
    subs = [b for b in res.boxes if b.kind == "subtitle"]
    assert [norm(b.line.text) for b in subs] == [norm(subtitled_frame.text)]
    assert all(b.mask is False for b in subs)  # subtitles kept in clear when asked
    assert res.mask_regions() == [cards[0].line.xyxy]


def test_ocr_scales_down_large_frames_and_maps_boxes_back(ocr_engine, subtitled_frame: Any) -> None:
    import cv2

    big = cv2.resize(subtitled_frame.image, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    res = ocr_frame(ocr_engine, big, TextLayout())
    [sub] = [b for b in res.boxes if b.kind == "subtitle"]
    expected = tuple(2.0 * v for v in subtitled_frame.xyxy)
    assert iou(sub.line.xyxy, expected) > 0.5  # full-frame coordinates, not the 960 px working copy


# --- geometry and classification --------------------------------------------------------------


def test_text_area_ratio_is_the_union() -> None:
    a = ((0.0, 0.0), (50.0, 0.0), (50.0, 50.0), (0.0, 50.0))
    b = ((25.0, 25.0), (75.0, 25.0), (75.0, 75.0), (25.0, 75.0))
    ratio = text_area_ratio([a, b], 100, 100)
    single = text_area_ratio([a], 100, 100)
    side = round((single * 10000) ** 0.5)  # cv2.fillPoly's pixel count for a 50 px square
    assert side in (50, 51)
    overlap = side - 25
    assert ratio == pytest.approx((2 * side * side - overlap * overlap) / 10000)
    assert text_area_ratio([a, a], 100, 100) == pytest.approx(single)
    assert text_area_ratio([], 100, 100) == 0.0


def test_subtitle_rules() -> None:
    w, h = 1000, 600
    layout = TextLayout(subtitle_band=0.3, centre_tolerance=0.15, min_subtitle_width=0.08)
    centred = rect(300, 520, 700, 560)
    left = rect(20, 520, 220, 560)  # same row as the subtitle, two line heights away
    top = rect(300, 40, 700, 80)
    tiny = rect(480, 520, 520, 560, "ok")  # centred, but 4% of the width
    kinds = {id(b.line): b.kind for b in classify_lines([centred, left, top], w, h, layout)}
    assert kinds[id(centred)] == "subtitle"
    assert kinds[id(left)] == "name_card"
    assert kinds[id(top)] == "name_card"
    assert [b.kind for b in classify_lines([tiny], w, h, layout)] == ["name_card"]
    # a line OCR split in two: each half is off-centre, the row is centred
    halves = [rect(300, 520, 490, 560, "first half"), rect(510, 522, 700, 558, "second half")]
    res = analyse(halves, w, h, layout)
    assert [b.kind for b in res.boxes] == ["subtitle", "subtitle"]
    assert res.has_subtitle


def test_long_text_and_mask_policy() -> None:
    w, h = 1000, 600
    sign = rect(100, 100, 600, 140, "Department of Motor Vehicles, opening hours")
    sub = rect(300, 520, 700, 560)
    res = analyse([sign, sub], w, h, TextLayout(mask_subtitles=False, name_card_max_chars=16))
    assert [(b.kind, b.mask) for b in res.boxes] == [("text", True), ("subtitle", False)]
    res = analyse([sign, sub], w, h, TextLayout(mask_subtitles=True))
    assert [b.mask for b in res.boxes] == [True, True]
    assert res.to_payload().mask_regions() == [(100.0, 100.0, 600.0, 140.0), (300.0, 520.0, 700.0, 560.0)]


def test_layout_from_settings() -> None:
    v = TextSettings(subtitle_band=0.25, subtitle_centre_tolerance=0.1, mask_subtitles=False)
    layout = TextLayout.from_settings(v)
    assert (layout.subtitle_band, layout.centre_tolerance, layout.mask_subtitles) == (0.25, 0.1, False)


# --- model resolution ------------------------------------------------------------------------


def test_models_resolve_to_the_wheel_without_a_model_dir(tmp_path: Path) -> None:
    models = resolve_ocr_models(tmp_path)  # no tmp_path/rapidocr: the wheel's files
    assert models.det == bundled_model_dir() / DET_FILE
    assert models.rec == bundled_model_dir() / REC_FILE
    assert models.digest().startswith("sha256:") and len(models.digest()) == 71


def test_model_dir_override_must_hold_the_files(tmp_path: Path) -> None:
    folder = tmp_path / "rapidocr"
    folder.mkdir()
    (folder / DET_FILE).symlink_to(bundled_model_dir() / DET_FILE)
    with pytest.raises(MissingWeights, match=REC_FILE):
        resolve_ocr_models(tmp_path)
    (folder / REC_FILE).symlink_to(bundled_model_dir() / REC_FILE)
    models = resolve_ocr_models(tmp_path)
    assert models.det.parent == folder and models.rec.parent == folder
