"""Real photographs for the face-model tests."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from model_helpers import ASTRONAUT_FACE, MESSI_FACE  # noqa: F401


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())  # RGB portrait of a smiling adult woman


@pytest.fixture(scope="session")
def messi(sample_media: Path) -> np.ndarray:
    from skyscript.models.faces import load_rgb

    return load_rgb(sample_media / "messi5.jpg")


@pytest.fixture(scope="session")
def offline_faces():  # type: ignore[no-untyped-def]
    pytest.importorskip("dlib", reason="dlib-bin is not installed")
    pytest.importorskip("ai_edge_litert", reason="ai-edge-litert is not installed")
    from skyscript.models.faces import OfflineFaceBackend

    return OfflineFaceBackend()
