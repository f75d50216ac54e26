"""Fixtures of the CeleryExecutor test, shared with tests/integration/dags (airflow_harness.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dags"))

from airflow_harness import pg_database, skyscript_run_reference  # noqa: E402,F401
