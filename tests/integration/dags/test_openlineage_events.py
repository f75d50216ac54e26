"""A drama run under ``airflow dags test`` with the OpenLineage provider writing to its file
transport: every step task's COMPLETE event names the drama-level datasets it read and wrote, so a
Marquez (or any OpenLineage backend) draws the drama's lineage from ingest to key information."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_harness import base_env, dags_test, migrate

pytest.importorskip("airflow.providers.openlineage")
pytestmark = pytest.mark.integration


def test_step_tasks_emit_their_datasets(tmp_path: Path, sample_media: Path) -> None:
    events_file = tmp_path / "openlineage.jsonl"
    env = base_env(tmp_path / "airflow", tmp_path / "home",
                   AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps({"type": "file", "log_file_path": str(events_file), "append": True}),
                   AIRFLOW__OPENLINEAGE__NAMESPACE="skyscript-test")
    migrate(env)
    dags_test(env, "skyscript_drama", {"drama": "megamind", "sources": [str(sample_media / "Megamind.avi")], "batch_size": 1})
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    done = {e["job"]["name"].split(".")[-1]: e for e in events if e.get("eventType") == "COMPLETE"}

    def names(step: str, side: str) -> set[str]:
        return {d["name"] for d in done[step].get(side, [])}

    assert all(d["namespace"] == "skyscript" for e in done.values() for d in e.get("inputs", []) + e.get("outputs", []))
    assert "megamind/private:raw" in names("ingest", "outputs") and "megamind/private:raw" in names("scan", "inputs")
    assert "megamind/private:frames" in names("scan", "outputs") & names("privacy", "inputs")
    assert "megamind/faces" in names("privacy", "outputs") & names("keyinfo", "inputs")
    assert "megamind/public:frames" in names("privacy", "outputs")
    assert "megamind/keyinfo" in names("keyinfo", "outputs")
