"""The chart and the step operator agree: a step pod built by the operator, from the settings the
chart's orchestration ConfigMap gives the Airflow components, names only Secrets, keys,
ConfigMaps, a service account and priority classes the chart creates, and images the chart's
registry and tag point at; the Airflow chart's values name the same objects."""

from __future__ import annotations

import base64
import importlib.util
import os
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from deploy_support import CHART, rendered

if importlib.util.find_spec("helm_python") is None:  # checked without loading its Go runtime here
    pytest.skip("helm-python-sdk not installed (dev extra)", allow_module_level=True)
pytest.importorskip("airflow.providers.cncf.kubernetes", reason="the airflow extra is not installed")

from kubernetes.client import ApiClient  # noqa: E402

from operators import step_operator  # noqa: E402
from operators.pod_step import SkyscriptPodOperator  # noqa: E402
from skyscript.config import Settings  # noqa: E402
from skyscript.orchestration.config import OrchestrationSettings  # noqa: E402
from skyscript.steps import registry  # noqa: E402

RUN_ID = "manual__2026-12-02T06:00:00+00:00"


def _pod(spec: Any, orch: OrchestrationSettings) -> dict[str, Any]:
    op = step_operator(spec, orch=orch, drama="d1", episodes=["d1--ep01"])
    assert isinstance(op, SkyscriptPodOperator)
    op.invocation = lambda context, _inv=op.invocation: _inv({"run_id": RUN_ID, "ti": SimpleNamespace(try_number=1)})  # type: ignore[method-assign]
    op.render_template_fields({"run_id": RUN_ID, "ti": SimpleNamespace(try_number=1)})  # type: ignore[arg-type]
    return ApiClient().sanitize_for_serialization(op.build_pod_request_obj(dry_run=True))  # type: ignore[no-any-return]


def _orch_from_chart(monkeypatch: pytest.MonkeyPatch, case: str | None, chart: Any = None) -> OrchestrationSettings:
    """The settings the Airflow components get from the chart's orchestration ConfigMap
    (``chart``: an already rendered chart, else the base values or a ci/ case)."""
    data = (chart or rendered(case)).get("ConfigMap", "skyscript-orchestration")["data"]
    for key in list(os.environ):
        if key.startswith("SKYSCRIPT_"):
            monkeypatch.delenv(key)
    for key, value in data.items():
        monkeypatch.setenv(key, value)
    return OrchestrationSettings()


def _secret_keys(objs: list[dict[str, Any]]) -> dict[str, set[str]]:
    return {o["metadata"]["name"]: set((o.get("data") or {})) for o in objs if o["kind"] == "Secret"}


@pytest.mark.parametrize("case", [None, "production-a100.yaml"])
def test_step_pods_name_only_objects_the_chart_creates(monkeypatch: pytest.MonkeyPatch, case: str | None) -> None:
    r = rendered(case)
    orch = _orch_from_chart(monkeypatch, case)
    chart_values = yaml.safe_load((CHART / "values.yaml").read_text())
    images = {**chart_values["images"], **(yaml.safe_load((CHART / "ci" / case).read_text()).get("images", {}) if case else {})}
    secrets = _secret_keys(r.objects)
    configmaps = set(r.names("ConfigMap"))
    accounts = set(r.names("ServiceAccount"))
    classes = set(r.names("PriorityClass"))
    seen_images = set()
    for spec in (registry.get("probe"), registry.get("keyinfo")):
        pod = _pod(spec, orch)["spec"]
        (c,) = pod["containers"]
        seen_images.add(c["image"])
        assert c["image"] == f"{images['registry']}/{spec.resources.image}:{images['tag']}"
        assert spec.resources.image in (images["cpu"], images["gpu"])
        assert pod["serviceAccountName"] in accounts
        assert pod["priorityClassName"] in classes
        refs = [e["valueFrom"]["secretKeyRef"] for e in c["env"] if "valueFrom" in e]
        assert {e["name"] for e in c["env"] if "valueFrom" in e} >= {
            "SKYSCRIPT_DATABASE_URL", "SKYSCRIPT_STORE_ACCESS_KEY", "SKYSCRIPT_STORE_SECRET_KEY", "SKYSCRIPT_VLM__API_KEY"}
        for ref in refs:
            assert ref["name"] in secrets and ref["key"] in secrets[ref["name"]], ref
        for src in c["envFrom"]:
            assert src["configMapRef"]["name"] in configmaps
        if spec.resources.uses_gpu:
            assert c["resources"]["limits"]["nvidia.com/gpu"] == "1"
            assert pod["priorityClassName"] == "skyscript-gpu"
            assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
            # the quota scoped to this class counts the pod
            quota = r.get("ResourceQuota", "prod-skyscript-gpu-steps")["spec"]
            assert quota["scopeSelector"]["matchExpressions"][0]["values"] == [pod["priorityClassName"]]
    assert len(seen_images) == 2
    if case == "production-a100.yaml":
        assert orch.kubernetes.gpu_product == "NVIDIA-A100-SXM4-80GB"
        assert orch.kubernetes.image_pull_secret == "registry-credentials"
        pod = _pod(registry.get("keyinfo"), orch)["spec"]
        assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
        assert pod["imagePullSecrets"] == [{"name": "registry-credentials"}]
        # the script server's key goes to the step pods too
        names = {s.env for s in orch.kubernetes.secret_env}
        assert "SKYSCRIPT_CORRECTION__API_KEY" in names


def test_the_operators_default_names_are_the_charts_defaults() -> None:
    """Without the ConfigMap (its defaults in skyscript/orchestration/config.py) the operator
    still names what the chart makes by default."""
    from skyscript.orchestration.config import KubernetesSettings

    k8s = KubernetesSettings()
    r = rendered()
    secrets = _secret_keys(r.objects)
    for s in k8s.secret_env:
        assert s.key in secrets[s.secret], s
    assert set(k8s.env_from_configmaps) <= set(r.names("ConfigMap"))
    assert k8s.service_account in r.names("ServiceAccount")
    assert {k8s.priority_class_gpu, k8s.priority_class_cpu} <= set(r.names("PriorityClass"))
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert k8s.gpu_product_label == values["steps"]["gpuProductLabel"]
    assert k8s.gpu_taint_key == values["steps"]["gpuTaintKey"]


def test_external_services_point_step_pods_at_the_operators_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    orch = _orch_from_chart(monkeypatch, "external-services.yaml")
    refs = {s.env: (s.secret, s.key) for s in orch.kubernetes.secret_env}
    assert refs["SKYSCRIPT_DATABASE_URL"] == ("skyscript-external-db", "database-url")
    assert refs["SKYSCRIPT_STORE_ACCESS_KEY"] == ("skyscript-external-s3", "access-key")
    assert refs["SKYSCRIPT_STORE_SECRET_KEY"] == ("skyscript-external-s3", "secret-key")
    assert refs["SKYSCRIPT_VLM__API_KEY"] == ("skyscript-credentials", "vlm-api-key")
    secrets = _secret_keys(rendered("external-services.yaml").objects)
    assert secrets["skyscript-credentials"] == {"vlm-api-key"}  # nothing the chart cannot know


def test_settings_configmap_and_credentials_load_into_the_settings_object(monkeypatch: pytest.MonkeyPatch) -> None:
    r = rendered()
    for key in list(os.environ):
        if key.startswith("SKYSCRIPT_"):
            monkeypatch.delenv(key)
    for key, value in r.get("ConfigMap", "skyscript-config")["data"].items():
        monkeypatch.setenv(key, value)
    cred = r.get("Secret", "skyscript-credentials")["data"]
    monkeypatch.setenv("SKYSCRIPT_DATABASE_URL", base64.b64decode(cred["database-url"]).decode())
    monkeypatch.setenv("SKYSCRIPT_STORE_ACCESS_KEY", base64.b64decode(cred["store-access-key"]).decode())
    monkeypatch.setenv("SKYSCRIPT_STORE_SECRET_KEY", base64.b64decode(cred["store-secret-key"]).decode())
    s = Settings()
    assert s.mode.value == "kubernetes"
    assert s.store_url == "s3://prod-skyscript-minio:9000"
    assert s.database_url is not None and s.database_url.startswith("postgresql://skyscript:")
    assert s.vlm.url == "http://prod-skyscript-vlm.skyscript.svc:23333/v1"
    assert s.thresholds.max_loss_rate == 0.04 and s.thresholds.min_accuracy == 0.9
    assert (s.private_bucket, s.public_bucket) == ("skyscript-private", "skyscript-public")


# Secrets the operators create themselves in the external-services example
OUTSIDE = {"skyscript-external-db": {"database-url", "connection"}, "skyscript-external-s3": {"access-key", "secret-key"}}


@pytest.mark.parametrize("case", [None, "external-services.yaml", "production-a100.yaml"])
def test_airflow_components_read_the_same_objects(monkeypatch: pytest.MonkeyPatch, case: str | None) -> None:
    from deploy_support import BASE_VALUES, merge, values_file

    r = rendered(case)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    airflow = merge(merge(defaults, BASE_VALUES), values_file(case) if case else {})["airflow"]
    env_from = yaml.safe_load(airflow["extraEnvFrom"])
    assert {e["configMapRef"]["name"] for e in env_from} == {"skyscript-orchestration", "skyscript-config"}
    assert {e["configMapRef"]["name"] for e in env_from} <= set(r.names("ConfigMap"))
    secrets = {**_secret_keys(r.objects), **OUTSIDE}
    for entry in airflow["secret"]:
        assert entry["secretKey"] in secrets[entry["secretName"]], entry
    assert "connection" in secrets[airflow["data"]["metadataSecretName"]]
    assert "fernet-key" in secrets[airflow["fernetKeySecretName"]]
    assert "api-secret-key" in secrets[airflow["apiSecretKeySecretName"]]
    assert "jwt-secret" in secrets[airflow["jwtSecretName"]]
    assert airflow["defaultAirflowRepository"].endswith("/skyscript-airflow")
    # Airflow reads the credentials from where the step pods read them
    orch = _orch_from_chart(monkeypatch, case)
    steps = {s.env: (s.secret, s.key) for s in orch.kubernetes.secret_env}
    for entry in airflow["secret"]:
        assert steps[entry["envName"]] == (entry["secretName"], entry["secretKey"]), entry


def test_orchestration_and_pod_settings_reach_the_operator_with_the_codes_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every orchestration setting the chart exposes arrives in OrchestrationSettings: its default
    is the code's default, and a value set in the chart lands in the step pod."""
    from deploy_support import BASE_VALUES, merge, render

    code = OrchestrationSettings(mode="kubernetes")
    chart = _orch_from_chart(monkeypatch, None)
    for name in ("drama_wait_s", "drama_poke_s", "max_active_runs", "max_batches", "crawl_max_tasks", "crawl_max_dramas", "batch_size"):
        assert getattr(chart, name) == getattr(code, name), name
    for name in ("run_as_user", "read_only_root", "scratch_size", "shm_size", "models_claim", "models_path"):
        assert getattr(chart.kubernetes, name) == getattr(code.kubernetes, name), name

    values = merge(BASE_VALUES, {"steps": {
        "drama": {"waitSeconds": 0, "maxActiveRuns": 4},
        "crawl": {"maxTasks": 8},
        "pod": {"modelsClaim": "skyscript-models", "scratchSize": "80Gi", "shmSize": "", "runAsUser": 20002},
    }})
    orch = _orch_from_chart(monkeypatch, None, render(values))
    assert (orch.drama_wait_s, orch.max_active_runs, orch.crawl_max_tasks) == (0, 4, 8)
    pod = _pod(registry.get("keyinfo"), orch)["spec"]
    (c,) = pod["containers"]
    assert pod["securityContext"]["runAsUser"] == 20002
    assert {"name": "models", "persistentVolumeClaim": {"claimName": "skyscript-models", "readOnly": True}} in pod["volumes"]
    assert {"name": "scratch", "emptyDir": {"sizeLimit": "80Gi"}} in pod["volumes"]
    assert not [v for v in pod["volumes"] if v["name"] == "shm"]  # "" turns the memory-backed /dev/shm off
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in c["volumeMounts"]
