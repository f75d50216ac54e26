"""Fixtures for the keyinfo step tests: an episode seeded with real keyframes (the astronaut
portrait, messi5.jpg, Megamind frames) in the lineage DB and the store, and the OpenAI stand-in."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "keyinfo"))
from openai_standin import StandinOpenAI  # noqa: E402


@pytest.fixture
def standin() -> Iterator[StandinOpenAI]:
    """A stand-in for lmdeploy's api_server (recorded answers, injected faults)."""
    server = StandinOpenAI().start()
    yield server
    server.stop()
