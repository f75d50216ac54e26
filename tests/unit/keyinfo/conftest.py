"""Fixtures for the key-information tests: the OpenAI stand-in server and small real JPEGs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from openai_standin import StandinOpenAI  # noqa: E402


@pytest.fixture
def standin() -> Iterator[StandinOpenAI]:
    """A stand-in for lmdeploy's api_server (recorded answers, injected faults)."""
    server = StandinOpenAI().start()
    yield server
    server.stop()
