from __future__ import annotations

from typing import Iterator

import pytest

from skyscript.config import Settings
from skyscript.db.engine import Database


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    d = Database(settings.database_url or "")
    d.upgrade()
    yield d
    d.dispose()
