"""Image fixtures for the text / faces / privacy / shot-size tests: real photographs (the
astronaut portrait, messi5.jpg, Megamind frames) and real frames with text drawn on them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from fixtures.photos import ASTRONAUT_FACE, MESSI_FACE, DrawnText, draw_text, megamind_frame  # noqa: F401


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="session")
def messi(sample_media: Path) -> np.ndarray:
    img = cv2.imread(str(sample_media / "messi5.jpg"))
    assert img is not None
    return img


@pytest.fixture(scope="session")
def film_frame(sample_media: Path) -> np.ndarray:
    """Megamind decode frame 40: a real film frame, one face, no text."""
    return megamind_frame(sample_media, 40)


@pytest.fixture(scope="session")
def subtitled_frame(film_frame: np.ndarray) -> DrawnText:
    return draw_text(film_frame, "I never said that to anyone")


@pytest.fixture(scope="session")
def text_drawer():  # type: ignore[no-untyped-def]
    """:func:`draw_text`, for tests that draw their own text."""
    return draw_text


@pytest.fixture(scope="session")
def ocr_engine():  # type: ignore[no-untyped-def]
    from skyscript.video.ocr import OcrEngine, resolve_ocr_models

    return OcrEngine(resolve_ocr_models(None), max_side=960, min_score=0.6)
