"""The repository's ``operators`` and ``dags`` folders are not installed packages: put the
repository root on the import path for these tests (Airflow does the same for ``dags/``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[3])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
