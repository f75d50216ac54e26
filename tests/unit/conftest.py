"""Fixtures the video and model tests share: Megamind frames, measured face boxes, the face detector."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.photos import ASTRONAUT_FACE, MESSI_FACE, megamind_frame


@pytest.fixture(scope="session")
def megamind_at(sample_media: Path):  # type: ignore[no-untyped-def]
    """Megamind.avi's frame at a decode index (read in order from the start)."""
    return lambda index: megamind_frame(sample_media, index)


@pytest.fixture(scope="session")
def astronaut_face() -> tuple[float, float, float, float]:
    return ASTRONAUT_FACE


@pytest.fixture(scope="session")
def messi_face() -> tuple[float, float, float, float]:
    return MESSI_FACE


@pytest.fixture(scope="session")
def face_detector():  # type: ignore[no-untyped-def]
    """The exhaustive search (every classic pass over the whole frame), whose agreement rules the
    face-detector tests document; the proposal search the steps use is tested beside it."""
    from skyscript.models.face_detect import FaceDetector

    return FaceDetector(search="exhaustive", neural="none")
