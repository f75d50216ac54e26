"""`helm lint` (through helm-sdkpy, the package the issue names, and helm-python-sdk with values
files and a target Kubernetes version) and the chart's values.schema.json."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from typing import Any

import pytest
import yaml

from deploy_support import BASE_VALUES, CHART, CI_VALUES, KUBE_VERSIONS, HelmFailure, helm, merge, values_file

if importlib.util.find_spec("helm_python") is None:  # checked without loading its Go runtime here
    pytest.skip("helm-python-sdk not installed (dev extra)", allow_module_level=True)

# The one finding allowed: the Airflow chart is a dependency fetched by `helm dependency build`
# at install time, never stored here (it sits behind `condition: airflow.enabled`).
MISSING_AIRFLOW = "chart directory is missing these dependencies: airflow"


def _findings(report: dict[str, Any]) -> list[str]:
    return [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= 2 and m["error"] != MISSING_AIRFLOW]


@pytest.mark.parametrize("ci_file", [None, *(p.name for p in CI_VALUES)])
def test_helm_lint_is_clean_with_every_values_file(ci_file: str | None) -> None:
    values = merge(BASE_VALUES, values_file(ci_file)) if ci_file else BASE_VALUES
    for kube in (KUBE_VERSIONS[0], KUBE_VERSIONS[-1]):
        report = helm("lint", values=values, kube_version=f"v{kube}")
        assert report["total_charts_linted"] == 1
        assert report["errors"] == [], report
        assert _findings(report) == [], report


def test_helm_lint_reports_a_broken_template(tmp_path: Any) -> None:
    """The lint above can fail: a template with a syntax error is an error."""
    import shutil

    broken = tmp_path / "skyscript"
    shutil.copytree(CHART, broken)
    (broken / "templates" / "broken.yaml").write_text("kind: ConfigMap\nmetadata:\n  name: {{ .Values.names.settingsConfigMap \n")
    from deploy_support import helm_at

    report = helm_at(broken, "lint", values=BASE_VALUES)
    assert report["errors"], report


def test_helm_sdkpy_lint_is_clean() -> None:
    """helm-sdkpy's Lint (Helm 3 SDK, default values) in its own process: two Go runtimes in one
    process do not mix, and helm-python-sdk is already loaded here."""
    pytest.importorskip("helm_sdkpy", reason="helm-sdkpy not installed (scripts/bootstrap.sh installs it with dev)")
    code = (
        "import asyncio, json, sys, helm_sdkpy\n"
        "cfg = helm_sdkpy.Configuration()\n"
        "r = asyncio.run(helm_sdkpy.Lint(cfg).run(sys.argv[1]))\n"
        "print(json.dumps({'linted': r['TotalChartsLinted'], 'severities': [m['Severity'] for m in r['Messages']],"
        " 'errors': r['Errors']}))\n"
    )
    res = subprocess.run([sys.executable, "-c", code, str(CHART)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["linted"] == 1
    assert report["errors"] in (None, [])
    # severities: 1 info (icon), 2 warning (the Airflow dependency not fetched); no 3 (error)
    assert max(report["severities"]) <= 2, report


def _schema_error(values: dict[str, Any]) -> str:
    with pytest.raises(HelmFailure) as info:
        helm("validate_schema", values=values)
    return info.value.message


def test_default_and_ci_values_satisfy_the_schema() -> None:
    schema = helm("schema")
    assert schema["title"] == "SkyScript chart values"
    helm("validate_schema", values=BASE_VALUES)
    for path in CI_VALUES:
        helm("validate_schema", values=yaml.safe_load(path.read_text()))


@pytest.mark.parametrize(
    ("override", "where"),
    [
        ({"database": {"mode": "mysql"}}, "database.mode"),
        ({"modelServers": {"vlm": {"gpus": 0}}}, "modelServers.vlm.gpus"),
        ({"modelServers": {"vlm": {"weights": {"manifestSha256": "not-a-digest"}}}}, "manifestSha256"),
        ({"images": {"tag": "bad tag"}}, "images.tag"),
        ({"objectStore": {"buckets": {"private": "Private_Bucket"}}}, "objectStore.buckets.private"),
        ({"networkPolicies": {"enabeld": True}}, "enabeld"),
        ({"migrations": {"hookWeight": 5}}, "migrations.hookWeight"),
        ({"settings": {"extra": {"AWS_SECRET": "x"}}}, "AWS_SECRET"),
        ({"database": {"external": {"cidrs": ["10.0.0.0"]}}}, "database.external.cidrs"),
    ],
)
def test_schema_rejects_bad_values_naming_the_key(override: dict[str, Any], where: str) -> None:
    message = _schema_error(merge(BASE_VALUES, override))
    assert where.split(".")[-1] in message, message


def test_render_refuses_values_the_schema_rejects() -> None:
    """`helm install`/`template` apply the schema too: a render with a bad mode fails."""
    from deploy_support import render

    with pytest.raises(HelmFailure, match="mode"):
        render(merge(BASE_VALUES, {"database": {"mode": "mysql"}}))
