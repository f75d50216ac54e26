"""Fixtures of the Airflow DAG integration tests (defined in airflow_harness.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from airflow_harness import pg_database, skyscript_run_reference  # noqa: E402,F401
