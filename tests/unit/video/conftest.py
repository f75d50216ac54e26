"""Image fixtures for the text / faces / privacy / shot-size tests: real photographs (the
astronaut portrait, messi5.jpg, Megamind frames) and real frames with text drawn on them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

# The astronaut's face (eyebrows to chin, cheek to cheek), measured by eye on skimage's image.
ASTRONAUT_FACE = (180.0, 65.0, 265.0, 170.0)
# Messi's face in messi5.jpg (hairline to chin), measured by eye.
MESSI_FACE = (222.0, 90.0, 266.0, 136.0)


@dataclass(frozen=True)
class DrawnText:
    image: np.ndarray
    text: str
    xyxy: tuple[int, int, int, int]  # the drawn glyphs' box


def draw_text(
    img: np.ndarray, text: str, org: tuple[int, int] | None = None, scale: float = 1.4, thickness: int = 3
) -> DrawnText:
    """Draw ``text`` like a subtitle (white, black outline); centred near the bottom when
    ``org`` (bottom-left of the text) is not given. Returns the image and the glyph box."""
    out = img.copy()
    h, w = out.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
    if org is None:
        org = ((w - tw) // 2, h - int(0.08 * h))
    cv2.putText(out, text, org, font, scale, (0, 0, 0), thickness + 4, cv2.LINE_AA)
    cv2.putText(out, text, org, font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    x0, y1 = org
    return DrawnText(out, text, (x0, y1 - th, x0 + tw, y1 + base))


def megamind_frame(samples: Path, index: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(samples / "Megamind.avi"))
    try:
        for i in range(index + 1):
            ok, frame = cap.read()
            if not ok:
                raise RuntimeError(f"Megamind.avi has no frame {i}")
        return frame
    finally:
        cap.release()


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
def megamind_at(sample_media: Path):  # type: ignore[no-untyped-def]
    """Megamind.avi's frame at a decode index (read in order from the start)."""
    return lambda index: megamind_frame(sample_media, index)


@pytest.fixture(scope="session")
def subtitled_frame(film_frame: np.ndarray) -> DrawnText:
    return draw_text(film_frame, "I never said that to anyone")


@pytest.fixture(scope="session")
def text_drawer():  # type: ignore[no-untyped-def]
    """:func:`draw_text`, for tests that draw their own text."""
    return draw_text


@pytest.fixture(scope="session")
def astronaut_face() -> tuple[float, float, float, float]:
    return ASTRONAUT_FACE


@pytest.fixture(scope="session")
def messi_face() -> tuple[float, float, float, float]:
    return MESSI_FACE


@pytest.fixture(scope="session")
def ocr_engine():  # type: ignore[no-untyped-def]
    from skyscript.video.ocr import OcrEngine, resolve_ocr_models

    return OcrEngine(resolve_ocr_models(None), max_side=960, min_score=0.6)


@pytest.fixture(scope="session")
def face_detector():  # type: ignore[no-untyped-def]
    from skyscript.video.faces import FaceDetector

    return FaceDetector()
