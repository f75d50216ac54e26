"""Fixtures of the Airflow DAG integration tests (see airflow_harness.py)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from airflow_harness import Snapshot, reference  # noqa: E402

DRAMA = "megamind"


@pytest.fixture(scope="session")
def skyscript_run_reference(tmp_path_factory: pytest.TempPathFactory, sample_media: Path) -> Snapshot:
    """``skyscript run`` of Megamind.avi into its own SKYSCRIPT_HOME: what a DAG run must match."""
    return reference(tmp_path_factory.mktemp("reference"), sample_media / "Megamind.avi", DRAMA)


@pytest.fixture
def pg_database(pg_server: str) -> Iterator[Callable[[str], str]]:
    """Makes throwaway Postgres databases (dropped afterwards); returns their SQLAlchemy URLs."""
    import psycopg

    admin = pg_server.replace("+psycopg", "")
    made: list[str] = []

    def make(prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return pg_server.rsplit("/", 1)[0] + f"/{name}"

    yield make
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
