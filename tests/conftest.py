"""Shared fixtures: settings on a temporary home, a step context on SQLite + local store, a
real Postgres database per test session, and the real sample media of NOTES.md.

Service fixtures (Postgres, the S3 server) live here so every test folder can use them;
integration tests are marked ``integration``.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

from skyscript.config import Settings
from skyscript.context import open_context
from skyscript.context import StepContext

if TYPE_CHECKING:
    from skyscript.devtools.s3server import SeaweedS3

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("SKYSCRIPT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test touch the user's ~/.skyscript or a SKYSCRIPT_* from the shell."""
    for key in list(os.environ):
        if key.startswith("SKYSCRIPT_") and key not in ("SKYSCRIPT_SAMPLES", "SKYSCRIPT_TEST_PG"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SKYSCRIPT_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture
def ctx(settings: Settings) -> Iterator[StepContext]:
    """A step context on the embedded default (SQLite + local store) in a temporary home."""
    c = open_context(settings, "test-drama")
    yield c
    c.db.dispose()


@pytest.fixture(scope="session")
def sample_media() -> Path:
    """OpenCV's sample media from Debian's opencv-doc (Megamind.avi, vtest.avi, messi5.jpg, ...)."""
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "fetch_sample_media.sh")], check=True, capture_output=True, text=True
    ).stdout.strip().splitlines()[-1]
    path = Path(out)
    assert (path / "Megamind.avi").is_file(), f"sample media missing in {path}"
    return path


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session")
def pg_server() -> str:
    """Admin URL of the real Postgres on loopback. In CI it must be there (fail, don't skip)."""
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"Postgres not reachable at {PG_ADMIN_URL}")
        pytest.skip(f"Postgres not reachable at {PG_ADMIN_URL}")
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty Postgres database for one test, dropped afterwards."""
    import psycopg

    name = f"skyscript_test_{uuid.uuid4().hex[:10]}"
    admin = pg_server.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_ctx(tmp_path: Path, pg_url: str) -> Iterator[StepContext]:
    """A step context on real Postgres + a local store."""
    c = open_context(Settings(home=tmp_path / "home", database_url=pg_url), "test-drama")
    yield c
    c.db.dispose()


@pytest.fixture(scope="session")
def s3_server() -> Iterator["SeaweedS3"]:
    """A real S3 server (SeaweedFS ``weed mini``) on loopback for the whole session."""
    from skyscript.devtools.s3server import SeaweedS3

    try:
        srv = SeaweedS3().start()
    except FileNotFoundError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    yield srv
    srv.close()


@pytest.fixture
def s3_settings(tmp_path: Path, s3_server: "SeaweedS3") -> Settings:
    """Settings on the real S3 server with buckets unique to the test."""
    tag = uuid.uuid4().hex[:8]
    return Settings(
        home=tmp_path / "home",
        store_url=s3_server.url,
        store_access_key=s3_server.access_key,
        store_secret_key=s3_server.secret_key,
        private_bucket=f"priv-{tag}",
        public_bucket=f"pub-{tag}",
    )
