"""The one-machine stack (docker/compose.yaml) against the Compose Specification's JSON schema
(as check-jsonschema ships it) and for what it must hold: the Airflow components, Redis,
Postgres, MinIO, the step image, credentials only from docker/.env."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker" / "compose.yaml"
jsonschema = pytest.importorskip("jsonschema")


def _schema() -> dict[str, Any]:
    import importlib.util

    spec = importlib.util.find_spec("check_jsonschema")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("check-jsonschema not installed (dev extra)")
    path = Path(spec.submodule_search_locations[0]) / "builtin_schemas" / "vendor" / "compose-spec.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _doc() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def _errors(doc: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(_schema())
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_compose_file_validates_against_the_compose_schema() -> None:
    assert _schema()["title"] == "Compose Specification"
    assert _errors(_doc()) == []


def test_schema_catches_a_broken_compose_file() -> None:
    doc = copy.deepcopy(_doc())
    doc["services"]["postgres"]["restart_policy"] = "always"
    doc["services"]["minio"]["depends_on"] = {"redis": {"condition": "service_ready"}}
    errors = _errors(doc)
    assert any(e.startswith("services/postgres") and "restart_policy" in e for e in errors), errors
    assert any(e.startswith("services/minio/depends_on") for e in errors), errors


def test_check_jsonschema_cli_agrees() -> None:
    exe = Path(__import__("sys").executable).with_name("check-jsonschema")
    if not exe.exists():
        pytest.skip("check-jsonschema not installed")
    res = subprocess.run([str(exe), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_stack_holds_airflow_redis_postgres_minio_and_the_step_image() -> None:
    services = _doc()["services"]
    assert {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker", "redis", "postgres", "minio",
            "buckets", "migrate"} <= set(services)
    commands = {name: services[name]["command"] for name in services if name.startswith("airflow-")}
    assert commands["airflow-apiserver"][:2] == ["airflow", "api-server"]
    assert commands["airflow-worker"][:3] == ["airflow", "celery", "worker"]
    assert services["migrate"]["image"].endswith("/skyscript-cpu:${SKYSCRIPT_IMAGE_TAG:-0.1.0}")
    assert services["migrate"]["command"] == ["db", "upgrade"]
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker"):
        svc = services[name]
        assert svc["image"].endswith("/skyscript-airflow:${SKYSCRIPT_IMAGE_TAG:-0.1.0}")
        assert svc["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert "healthcheck" in svc
        # Airflow starts after the lineage schema, the buckets and its own schema
        deps = svc["depends_on"]
        assert deps["migrate"] == deps["buckets"] == deps["airflow-init"] == {"condition": "service_completed_successfully"}
    # one JWT secret and execution API URL for every component (NOTES: distributed mode needs them)
    jwt = {services[n]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] for n in commands}
    assert len(jwt) == 1
    assert services["vlm"]["profiles"] == ["gpu"]


def test_credentials_come_only_from_the_env_file() -> None:
    doc = _doc()
    secretish = re.compile(r"(PASSWORD|SECRET|FERNET|JWT|API_KEY|SQL_ALCHEMY_CONN|RESULT_BACKEND|DATABASE_URL)")
    for name, svc in doc["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if secretish.search(key) and not key.endswith("_FILE"):
                assert re.search(r"\$\{[A-Z_]+:[?-]", str(value)), f"{name}: {key} is not taken from docker/.env"
    text = COMPOSE.read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert {"POSTGRES_PASSWORD", "SKYSCRIPT_DB_PASSWORD", "AIRFLOW_DB_PASSWORD", "MINIO_ROOT_PASSWORD", "AIRFLOW_FERNET_KEY",
            "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY", "SKYSCRIPT_STORE_SECRET_KEY", "REVIEWER_SECRET_KEY"} <= required
    # make-env.sh writes every variable the file requires
    script = (ROOT / "docker" / "compose" / "make-env.sh").read_text()
    written = set(re.findall(r"^([A-Z_]+)=", script, re.M))
    assert required <= written, required - written
    assert "docker/.env" in (ROOT / ".gitignore").read_text().split()


def test_make_env_writes_fresh_private_credentials(tmp_path: Path) -> None:
    (tmp_path / "compose").mkdir()
    script = tmp_path / "compose" / "make-env.sh"
    script.write_text((ROOT / "docker" / "compose" / "make-env.sh").read_text())
    res = subprocess.run(["sh", str(script)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    env_file = tmp_path / ".env"
    assert env_file.stat().st_mode & 0o077 == 0
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert len(values["POSTGRES_PASSWORD"]) >= 24 and values["POSTGRES_PASSWORD"] != values["SKYSCRIPT_DB_PASSWORD"]
    import base64

    assert len(base64.urlsafe_b64decode(values["AIRFLOW_FERNET_KEY"])) == 32
    again = subprocess.run(["sh", str(script)], capture_output=True, text=True)
    assert again.returncode == 1 and "exists" in again.stderr


def test_bucket_policies_match_the_charts() -> None:
    steps = json.loads((ROOT / "docker" / "compose" / "steps-policy.json").read_text())
    reviewer = json.loads((ROOT / "docker" / "compose" / "reviewer-policy.json").read_text())
    assert {r for st in reviewer["Statement"] for r in st["Resource"]} == {"arn:aws:s3:::PUBLIC_BUCKET", "arn:aws:s3:::PUBLIC_BUCKET/*"}
    assert {a for st in reviewer["Statement"] for a in st["Action"]} == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"}
    assert "s3:PutObject" in {a for st in steps["Statement"] for a in st["Action"]}
    script = (ROOT / "docker" / "compose" / "buckets.sh").read_text()
    assert 'mc anonymous set none "store/$PRIVATE_BUCKET"' in script
    assert not re.search(r"anonymous set (download|upload|public)", script)
