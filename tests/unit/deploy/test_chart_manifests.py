"""The chart rendered offline (Helm's own engine, see deploy_support) and its objects checked:
Kubernetes schemas of the supported versions, GPU pinning of the model servers, secrets never
in plain text, non-root read-only pods, network policies, hook order, bucket policies, quotas."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
from typing import Any

import pytest
import yaml

from deploy_support import BASE_VALUES, CHART, CI_VALUES, DIGEST, KUBE_VERSIONS, NAMESPACE, RELEASE, HelmFailure, merge, render, rendered

if importlib.util.find_spec("helm_python") is None:  # checked without loading its Go runtime here
    pytest.skip("helm-python-sdk not installed (dev extra)", allow_module_level=True)
kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate not installed (dev extra)")

CASES = [None, *(p.name for p in CI_VALUES)]
FULL = f"{RELEASE}-skyscript"
STEP_LABELS = {"app.kubernetes.io/name": "skyscript", "app.kubernetes.io/component": "step"}
USER_NAMES = {"store-access-key", "reviewer-access-key", "root-user"}  # account names, not secrets
SECRETISH = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY|DATABASE_URL|CONNECTION|FERNET)", re.I)


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kube", KUBE_VERSIONS)
def test_every_object_validates_against_the_kubernetes_schema(case: str | None, kube: str) -> None:
    objs = rendered(case).objects
    assert len(objs) >= 15
    for obj in objs:
        try:
            kubernetes_validate.validate(obj, kube, strict=True)
        except kubernetes_validate.ValidationError as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{case or 'defaults'} @ {kube}: {obj['kind']}/{obj['metadata']['name']}: {exc.message}")


def test_validation_catches_a_broken_manifest() -> None:
    """The check above can fail: a container port given as text is rejected."""
    deployment = json.loads(json.dumps(rendered().get("Deployment", f"{FULL}-vlm")))
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSIONS[0], strict=True)


@pytest.mark.parametrize("case", CASES)
def test_names_are_unique(case: str | None) -> None:
    keys = [(o["kind"], o["metadata"]["name"]) for o in rendered(case).objects]
    assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1]


def test_model_server_is_pinned_to_its_gpus() -> None:
    dep = rendered().get("Deployment", f"{FULL}-vlm")
    spec = dep["spec"]["template"]["spec"]
    (server,) = spec["containers"]
    assert server["resources"]["requests"]["nvidia.com/gpu"] == "1"
    assert server["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert spec["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert spec["priorityClassName"] == "skyscript-model-server"
    assert dep["spec"]["strategy"] == {"type": "Recreate"}
    # readiness on lmdeploy's health endpoint, with a start-up allowance for loading weights
    assert server["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert server["startupProbe"]["httpGet"]["path"] == "/health"
    assert server["startupProbe"]["periodSeconds"] * server["startupProbe"]["failureThreshold"] >= 600
    assert server["args"][:6] == ["/weights/model", "--model-name", "internvl2", "--backend", "turbomind", "--tp"]
    assert server["image"] == "registry.local/skyscript/skyscript-vlm:0.1.0"


def test_model_server_gpu_count_and_product_follow_values() -> None:
    r = rendered("production-a100.yaml")
    vlm = r.get("Deployment", f"{FULL}-vlm")["spec"]
    (server,) = vlm["template"]["spec"]["containers"]
    assert vlm["replicas"] == 2
    assert server["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert server["args"][server["args"].index("--tp") + 1] == "2"
    script = r.get("Deployment", f"{FULL}-script")["spec"]["template"]["spec"]
    assert "nodeSelector" not in script  # gpuProduct "": any GPU node
    assert script["containers"][0]["resources"]["requests"]["nvidia.com/gpu"] == "1"
    # a custom product label and node selector are merged
    r2 = render(merge(BASE_VALUES, {"steps": {"gpuProductLabel": "gpu.example.com/model"},
                                    "modelServers": {"vlm": {"gpuProduct": "H200", "nodeSelector": {"pool": "inference"}}}}))
    spec = r2.get("Deployment", f"{FULL}-vlm")["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"gpu.example.com/model": "H200", "pool": "inference"}


def test_weights_are_copied_then_digest_checked_before_the_server_starts() -> None:
    spec = rendered().get("Deployment", f"{FULL}-vlm")["spec"]["template"]["spec"]
    fetch, verify = spec["initContainers"]
    assert fetch["name"] == "fetch-weights" and verify["name"] == "verify-weights"
    script = fetch["args"][0]
    assert "src/skyscript-private/models/InternVL2-8B/ /weights/model" in script
    assert "${ACCESS_KEY}:${SECRET_KEY}" in script  # from the Secret, through the environment
    check = verify["args"][0]
    assert 'echo "${MANIFEST_SHA256}  SHA256SUMS" | sha256sum --check --strict -' in check
    assert "sha256sum --check --strict --quiet SHA256SUMS" in check
    assert check.index("${MANIFEST_SHA256}") < check.index("--quiet SHA256SUMS")  # the manifest first
    assert {"name": "MANIFEST_SHA256", "value": DIGEST} in verify["env"]
    assert spec["volumes"][0] == {"name": "weights", "emptyDir": {"sizeLimit": "40Gi"}}
    # from a volume: no copy, the same check, the claim read-only
    spec = rendered("external-services.yaml").get("Deployment", f"{FULL}-vlm")["spec"]["template"]["spec"]
    assert [c["name"] for c in spec["initContainers"]] == ["verify-weights"]
    assert spec["volumes"][0]["persistentVolumeClaim"] == {"claimName": "internvl2-weights", "readOnly": True}
    assert spec["containers"][0]["volumeMounts"][0]["subPath"] == "InternVL2-8B"


def test_a_model_server_without_a_weights_digest_does_not_render() -> None:
    with pytest.raises(HelmFailure, match=r"modelServers\.vlm\.weights\.manifestSha256 is required"):
        render({})


def _secret_values(objs: list[dict[str, Any]]) -> set[str]:
    out: set[str] = set()
    for o in objs:
        if o["kind"] == "Secret":
            data = {k: base64.b64decode(v).decode() for k, v in (o.get("data") or {}).items()}
            out |= {v for k, v in data.items() if k not in USER_NAMES}
    return {v for v in out if len(v) >= 12}


@pytest.mark.parametrize("case", CASES)
def test_no_secret_in_plain_text(case: str | None) -> None:
    objs = rendered(case).objects
    for obj, spec in rendered(case).pod_specs():
        for c in containers(spec):
            for env in c.get("env", []):
                if SECRETISH.search(env["name"]):
                    assert "value" not in env, f"{obj['metadata']['name']}/{c['name']}: {env['name']} is plain text"
                    assert "secretKeyRef" in env["valueFrom"], env
    # and no generated credential appears anywhere outside its Secret
    secrets = _secret_values(objs)
    if case != "secrets-managed-outside.yaml":
        assert secrets, "generated secrets expected"
    for obj in objs:
        if obj["kind"] == "Secret":
            continue
        text = yaml.safe_dump(obj)
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{obj['kind']}/{obj['metadata']['name']} carries a secret value"


def test_generated_credentials_agree_between_the_database_and_the_step_pods() -> None:
    r = rendered()
    data = {k: base64.b64decode(v).decode() for k, v in r.get("Secret", "skyscript-credentials")["data"].items()}
    pg = {k: base64.b64decode(v).decode() for k, v in r.get("Secret", f"{FULL}-postgresql")["data"].items()}
    meta = base64.b64decode(r.get("Secret", "skyscript-airflow-metadata")["data"]["connection"]).decode()
    assert data["database-url"] == f"postgresql://skyscript:{pg['skyscript-password']}@{FULL}-postgresql:5432/skyscript"
    assert meta == f"postgresql://airflow:{pg['airflow-password']}@{FULL}-postgresql:5432/airflow?sslmode=disable"
    assert len({pg["postgres-password"], pg["skyscript-password"], pg["airflow-password"], data["vlm-api-key"]}) == 4
    fernet = base64.b64decode(r.get("Secret", "skyscript-airflow-fernet")["data"]["fernet-key"])
    assert len(base64.urlsafe_b64decode(fernet)) == 32  # a valid Fernet key


@pytest.mark.parametrize("case", CASES)
def test_every_pod_is_non_root_with_a_read_only_root(case: str | None) -> None:
    for obj, spec in rendered(case).pod_specs():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] > 0, obj["metadata"]["name"]
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        for c in containers(spec):
            sc = c["securityContext"]
            where = f"{obj['metadata']['name']}/{c['name']}"
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert "resources" in c and c["resources"]["limits"]["memory"], where


def _policy(r: Any, suffix: str) -> dict[str, Any]:
    return r.get("NetworkPolicy", f"{FULL}-{suffix}")["spec"]


def _peer_components(rule: dict[str, Any]) -> set[str]:
    return {p["podSelector"]["matchLabels"].get("app.kubernetes.io/component", "") for p in rule["to"] if "podSelector" in p and "namespaceSelector" not in p}


def test_step_pods_reach_only_dns_store_database_and_model_servers() -> None:
    spec = _policy(rendered(), "steps")
    assert spec["podSelector"]["matchLabels"] == STEP_LABELS
    assert spec["policyTypes"] == ["Ingress", "Egress"] and spec["ingress"] == []
    dns, store, db, models = spec["egress"]
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}
    assert {p["port"] for p in dns["ports"]} == {53}
    assert _peer_components(store) == {"object-store"} and store["ports"] == [{"protocol": "TCP", "port": 9000}]
    assert _peer_components(db) == {"database"} and db["ports"] == [{"protocol": "TCP", "port": 5432}]
    assert _peer_components(models) == {"model-server"} and models["ports"] == [{"protocol": "TCP", "port": 23333}]
    for rule in spec["egress"]:
        assert all("ipBlock" not in p for p in rule["to"])  # nothing outside the cluster


def test_step_pods_reach_external_services_only_at_their_addresses() -> None:
    spec = _policy(rendered("external-services.yaml"), "steps")
    _, store, db, _ = spec["egress"]
    assert [p["ipBlock"]["cidr"] for p in store["to"]] == ["52.219.0.0/16", "3.5.0.0/16"]
    assert store["ports"] == [{"protocol": "TCP", "port": 443}]
    assert [p["ipBlock"]["cidr"] for p in db["to"]] == ["10.20.0.0/24"]


def test_model_servers_accept_only_step_pods() -> None:
    r = rendered("production-a100.yaml")
    spec = _policy(r, "model-servers")
    assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "model-server"
    (rule,) = spec["ingress"]
    assert [p["podSelector"]["matchLabels"] for p in rule["from"]] == [STEP_LABELS]
    assert rule["ports"] == [{"protocol": "TCP", "port": 23333}]
    # the selector matches both servers' pods
    for name in ("vlm", "script"):
        labels = r.get("Deployment", f"{FULL}-{name}")["spec"]["template"]["metadata"]["labels"]
        assert spec["podSelector"]["matchLabels"].items() <= labels.items()


def test_database_and_store_accept_only_skyscript_and_airflow_pods() -> None:
    r = rendered()
    db = _policy(r, "database")["ingress"][0]["from"]
    assert STEP_LABELS in [p["podSelector"]["matchLabels"] for p in db]
    assert {"tier": "airflow", "release": RELEASE} in [p["podSelector"]["matchLabels"] for p in db]
    migrate = r.get("Job", f"{FULL}-db-migrate")["spec"]["template"]["metadata"]["labels"]
    assert any(p["podSelector"]["matchLabels"].items() <= migrate.items() for p in db)
    store = _policy(r, "object-store")["ingress"][0]["from"]
    for job_or_server in (r.get("Job", f"{FULL}-buckets"), r.get("Deployment", f"{FULL}-vlm")):
        labels = job_or_server["spec"]["template"]["metadata"]["labels"]
        assert any(p["podSelector"]["matchLabels"].items() <= labels.items() for p in store)


def test_network_policies_can_be_switched_off() -> None:
    assert rendered("secrets-managed-outside.yaml").of_kind("NetworkPolicy") == []


def test_lineage_migration_runs_as_a_hook_before_airflows_own() -> None:
    job = rendered().get("Job", f"{FULL}-db-migrate")
    ann = job["metadata"]["annotations"]
    assert set(ann["helm.sh/hook"].split(",")) == {"post-install", "pre-upgrade"}
    # the Airflow chart's migrate-database job is a hook of weight 1; its components wait for it
    assert int(ann["helm.sh/hook-weight"]) < 1
    assert "hook-succeeded" in ann["helm.sh/hook-delete-policy"]
    spec = job["spec"]["template"]["spec"]
    assert spec["containers"][0]["args"] == ["db", "upgrade"]
    assert spec["containers"][0]["image"] == "registry.local/skyscript/skyscript-cpu:0.1.0"
    assert spec["initContainers"][0]["args"][1:] == [f"{FULL}-postgresql", "5432"]
    env = {e["name"]: e for e in spec["containers"][0]["env"]}
    assert env["SKYSCRIPT_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "skyscript-credentials", "key": "database-url"}
    # an external database: the URL from the Secret the operators named
    ext = rendered("external-services.yaml").get("Job", f"{FULL}-db-migrate")["spec"]["template"]["spec"]
    assert "initContainers" not in ext
    env = {e["name"]: e for e in ext["containers"][0]["env"]}
    assert env["SKYSCRIPT_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "skyscript-external-db", "key": "database-url"}


def test_airflow_values_wait_for_the_hooks() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())["airflow"]
    assert values["migrateDatabaseJob"] == {"enabled": True, "useHelmHooks": True}
    assert values["postgresql"]["enabled"] is False
    # the Airflow chart's pods (not rendered here: the subchart is fetched at install) run non-root
    # without privileges; their root stays writable (Airflow writes under AIRFLOW_HOME)
    assert values["securityContexts"]["pod"]["runAsNonRoot"] is True
    assert values["securityContexts"]["containers"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert values["executor"] in ("CeleryExecutor", "KubernetesExecutor") and values["allowPodLaunching"] is True


def test_buckets_job_keeps_private_private_and_public_read_only_to_reviewers() -> None:
    r = rendered()
    cm = r.get("ConfigMap", f"{FULL}-buckets")
    steps = json.loads(cm["data"]["steps-policy.json"])
    reviewer = json.loads(cm["data"]["reviewer-policy.json"])
    script = cm["data"]["setup.sh"]
    reviewer_resources = {res for st in reviewer["Statement"] for res in st["Resource"]}
    assert reviewer_resources == {"arn:aws:s3:::skyscript-public", "arn:aws:s3:::skyscript-public/*"}
    reviewer_actions = {a for st in reviewer["Statement"] for a in st["Action"]}
    assert reviewer_actions == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"}
    assert all(st["Effect"] == "Allow" for st in reviewer["Statement"] + steps["Statement"])
    steps_actions = {a for st in steps["Statement"] for a in st["Action"]}
    assert "s3:PutObject" in steps_actions
    assert not {a for a in steps_actions if "Policy" in a or a in ("s3:*", "s3:CreateBucket", "s3:DeleteBucket")}
    assert "mc anonymous set none store/skyscript-private" in script
    assert "mc anonymous set none store/skyscript-public" in script
    assert not re.search(r"anonymous set (download|upload|public)", script)
    assert "mc mb --ignore-existing store/skyscript-private store/skyscript-public" in script
    job = r.get("Job", f"{FULL}-buckets")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    assert int(cm["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert job["spec"]["template"]["spec"]["containers"][0]["image"].startswith("quay.io/minio/mc:RELEASE.")
    # no reviewer account when asked; no bucket job against an outside S3
    r2 = render(merge(BASE_VALUES, {"objectStore": {"reviewers": False}}))
    assert "skyscript-reviewer" not in r2.get("ConfigMap", f"{FULL}-buckets")["data"]["setup.sh"]
    assert f"{FULL}-buckets" not in rendered("external-services.yaml").names("Job")


def test_priority_classes_and_quotas_for_gpu_and_cpu_steps() -> None:
    r = rendered()
    classes = {o["metadata"]["name"]: o for o in r.of_kind("PriorityClass")}
    assert set(classes) == {"skyscript-gpu", "skyscript-cpu", "skyscript-model-server"}
    assert classes["skyscript-model-server"]["value"] > classes["skyscript-gpu"]["value"] > classes["skyscript-cpu"]["value"]
    assert classes["skyscript-cpu"]["preemptionPolicy"] == "Never"
    assert not any(c["globalDefault"] for c in classes.values())
    gpu = r.get("ResourceQuota", f"{FULL}-gpu-steps")["spec"]
    assert gpu["hard"]["requests.nvidia.com/gpu"] == "8"
    assert gpu["scopeSelector"]["matchExpressions"] == [{"scopeName": "PriorityClass", "operator": "In", "values": ["skyscript-gpu"]}]
    cpu = r.get("ResourceQuota", f"{FULL}-cpu-steps")["spec"]
    assert cpu["scopeSelector"]["matchExpressions"][0]["values"] == ["skyscript-cpu"]
    assert "requests.nvidia.com/gpu" not in cpu["hard"]
    off = rendered("no-airflow.yaml")
    assert off.of_kind("PriorityClass") == [] and off.of_kind("ResourceQuota") == []
    # the model server still asks for its class (made by another release)
    assert off.get("Deployment", f"{FULL}-vlm")["spec"]["template"]["spec"]["priorityClassName"] == "skyscript-model-server"


def test_settings_configmap_points_at_the_services_the_chart_made() -> None:
    r = rendered("production-a100.yaml")
    data = r.get("ConfigMap", "skyscript-config")["data"]
    assert data["SKYSCRIPT_MODE"] == "kubernetes"
    assert data["SKYSCRIPT_STORE_URL"] == f"s3://{FULL}-minio:9000"
    assert data["SKYSCRIPT_VLM__URL"] == f"http://{FULL}-vlm.{NAMESPACE}.svc:23333/v1"
    assert data["SKYSCRIPT_CORRECTION__URL"] == f"http://{FULL}-script.{NAMESPACE}.svc:23333/v1"
    assert data["SKYSCRIPT_CORRECTION__MODEL"] == "skyreels-script"
    assert data["SKYSCRIPT_THRESHOLDS__MAX_LOSS_RATE"] == "0.04"
    for url_key, port in (("SKYSCRIPT_VLM__URL", 23333),):
        svc = r.get("Service", f"{FULL}-vlm")
        assert svc["spec"]["ports"][0]["port"] == port and url_key in data
    ext = rendered("external-services.yaml").get("ConfigMap", "skyscript-config")["data"]
    assert ext["SKYSCRIPT_STORE_URL"] == "s3://s3.eu-central-1.amazonaws.com:443?secure=true"
    assert ext["SKYSCRIPT_STORE_REGION"] == "eu-central-1"


def test_secrets_managed_outside_renders_no_secret() -> None:
    r = rendered("secrets-managed-outside.yaml")
    assert r.of_kind("Secret") == []
    assert "skyscript-credentials" in yaml.safe_dump(r.get("ConfigMap", "skyscript-orchestration"))


def test_external_object_store_without_its_secret_is_a_clear_error() -> None:
    values = merge(BASE_VALUES, {"objectStore": {"mode": "external", "external": {"endpoint": "s3.example.com:443", "cidrs": ["1.2.3.0/24"]}}})
    with pytest.raises(HelmFailure, match="objectStore.external.existingSecret is required"):
        render(values)


def test_notes_name_the_objects_ops_look_for() -> None:
    notes = rendered().notes
    assert "ConfigMap skyscript-config, Secret skyscript-credentials" in notes
    assert f"logs job/{FULL}-db-migrate" in notes
    assert f"http://{FULL}-vlm:23333/v1" in notes


def test_a_release_named_skyscript_is_not_named_twice() -> None:
    r = render(BASE_VALUES, release="skyscript")
    assert "skyscript-postgresql" in r.names("StatefulSet")
    assert "skyscript-vlm" in r.names("Deployment")
    keys = [(o["kind"], o["metadata"]["name"]) for o in r.objects]
    assert len(keys) == len(set(keys))
    cfg = r.get("ConfigMap", "skyscript-config")["data"]
    assert cfg["SKYSCRIPT_VLM__URL"] == f"http://skyscript-vlm.{NAMESPACE}.svc:23333/v1"


@pytest.mark.parametrize("attached", [False, True])
def test_bucket_setup_script_runs_in_order_and_attaches_policies_once(tmp_path: Any, attached: bool) -> None:
    """The job's script against a recording `mc` (no MinIO server comes from the registries):
    buckets before policies, nothing public, a policy attached only when the user lacks it."""
    import os
    import subprocess

    script = tmp_path / "setup.sh"
    script.write_text(rendered().get("ConfigMap", f"{FULL}-buckets")["data"]["setup.sh"])
    log = tmp_path / "mc.log"
    policies = '"policyName":"consoleAdmin,skyscript-steps-rw"' if attached else '"policyName":"readwrite"'
    (tmp_path / "mc").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        f'case "$*" in "admin user info"*) echo \'{{"status":"success","accessKey":"skyscript-steps",{policies}}}\';; esac\n'
    )
    (tmp_path / "mc").chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "ROOT_USER": "admin", "ROOT_PASSWORD": "pw",
           "STEPS_ACCESS_KEY": "skyscript-steps", "STEPS_SECRET_KEY": "s1", "REVIEWER_ACCESS_KEY": "skyscript-reviewer",
           "REVIEWER_SECRET_KEY": "s2"}
    res = subprocess.run(["sh", str(script)], capture_output=True, text=True, env=env, timeout=30)
    assert res.returncode == 0, res.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "ready store"
    assert calls[1] == "mb --ignore-existing store/skyscript-private store/skyscript-public"
    assert calls.index("anonymous set none store/skyscript-private") < calls.index("admin policy create store skyscript-steps-rw /policies/steps-policy.json")
    attaches = [c for c in calls if c.startswith("admin policy attach")]
    if attached:
        assert attaches == ["admin policy attach store skyscript-reviewer-ro --user skyscript-reviewer"]
    else:
        assert attaches == ["admin policy attach store skyscript-steps-rw --user skyscript-steps",
                            "admin policy attach store skyscript-reviewer-ro --user skyscript-reviewer"]
    assert not [c for c in calls if c.startswith("anonymous set") and not c.startswith("anonymous set none")]
