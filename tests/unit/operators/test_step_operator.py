"""Step operator factory: pod specs rendered without a cluster, and the local operator running
the real ``skyscript step`` entry point."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client import ApiClient

from operators import step_operator
from operators.step_operator import pod_kwargs
from operators.local_step import SkyscriptStepOperator
from operators.pod_step import SkyscriptPodOperator
from skyscript.orchestration.config import KubernetesSettings, OrchestrationSettings
from skyscript.steps import registry
from skyscript.steps.base import Resources
from skyscript.steps.base import GPU_MODEL
from skyscript.steps.registry import StepSpec

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
RUN_ID = "manual__2026-11-25T04:48:26.093677+00:00"
A100 = "NVIDIA-A100-SXM4-80GB"


def _orch(**k8s: Any) -> OrchestrationSettings:
    return OrchestrationSettings(mode="kubernetes", kubernetes=KubernetesSettings(
        image_registry="registry.example.com/skyscript", image_tag="1.2.3", **k8s))


def _render(op: SkyscriptPodOperator, try_number: int = 2) -> dict[str, Any]:
    context = {"run_id": RUN_ID, "ti": SimpleNamespace(try_number=try_number)}
    op.render_template_fields(context)  # type: ignore[arg-type]
    pod = op.build_pod_request_obj(dry_run=True)  # no context: no cluster, no task instance
    return ApiClient().sanitize_for_serialization(pod)  # type: ignore[no-any-return]


def _pod(spec: StepSpec, orch: OrchestrationSettings, episodes: list[str] | None = None) -> dict[str, Any]:
    op = step_operator(spec, orch=orch, drama="love-in-shanghai", episodes=episodes or ["love-in-shanghai--ep01"])
    assert isinstance(op, SkyscriptPodOperator)
    # ids the way Airflow hands them: rendered, with the run and try from the context
    op.invocation = lambda context, _inv=op.invocation: _inv({"run_id": RUN_ID, "ti": SimpleNamespace(try_number=2)})  # type: ignore[method-assign]
    return _render(op)


GPU_SPEC = StepSpec("keyinfo", "skyscript.steps.keyinfo:KeyInfoStep", "episode",
                    Resources(cpu=4.0, memory_gi=16.0, gpu=1, image="skyscript-gpu", gpu_product=A100), "VLM key information")


def test_gpu_step_is_pinned_to_its_gpu_product_with_gpu_resources() -> None:
    pod = _pod(GPU_SPEC, _orch())
    spec = pod["spec"]
    (c,) = spec["containers"]
    assert c["image"] == "registry.example.com/skyscript/skyscript-gpu:1.2.3"
    assert c["command"] == ["skyscript"]
    assert c["args"] == ["step", "keyinfo", "--drama", "love-in-shanghai", "--episode", "love-in-shanghai--ep01",
                         "--dag-run-id", RUN_ID, "--try-number", "2"]
    assert c["resources"]["requests"] == {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}
    assert c["resources"]["limits"] == {"memory": "16Gi", "nvidia.com/gpu": "1"}
    assert spec["nodeSelector"] == {"nvidia.com/gpu.product": A100}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert spec["priorityClassName"] == "skyscript-gpu"
    assert spec["serviceAccountName"] == "skyscript-step"
    assert spec["restartPolicy"] == "Never"
    assert "affinity" not in spec or not spec["affinity"]


def test_gpu_step_without_product_uses_the_configured_default_or_any_gpu_node() -> None:
    pod = _pod(StepSpec("depth", "x:Y", "episode", GPU_MODEL, "depth"), _orch(gpu_product="NVIDIA-L4"))
    assert pod["spec"]["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    pod = _pod(StepSpec("depth", "x:Y", "episode", GPU_MODEL, "depth"), _orch())
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "Exists"}]}]


def test_cpu_step_is_kept_off_gpu_nodes() -> None:
    pod = _pod(registry.get("probe"), _orch())
    spec = pod["spec"]
    (c,) = spec["containers"]
    assert c["image"] == "registry.example.com/skyscript/skyscript-cpu:1.2.3"
    assert c["resources"]["requests"] == {"cpu": "0.5", "memory": "1Gi"}
    assert "nvidia.com/gpu" not in c["resources"]["limits"]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [
        {"key": "nvidia.com/gpu.product", "operator": "DoesNotExist"},
        {"key": "nvidia.com/gpu.present", "operator": "NotIn", "values": ["true"]},
    ]}]
    assert not spec.get("tolerations")
    assert not spec.get("nodeSelector")
    assert spec["priorityClassName"] == "skyscript-cpu"


def test_credentials_come_from_secrets_never_plain_env() -> None:
    pod = _pod(GPU_SPEC, _orch(env_from_secrets=["skyscript-extra"]))
    (c,) = pod["spec"]["containers"]
    env = {e["name"]: e for e in c["env"]}
    for name in ("SKYSCRIPT_DATABASE_URL", "SKYSCRIPT_STORE_ACCESS_KEY", "SKYSCRIPT_STORE_SECRET_KEY", "SKYSCRIPT_VLM__API_KEY"):
        assert "value" not in env[name], f"{name} is a plain value"
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "skyscript-credentials"
    assert env["SKYSCRIPT_STORE_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["key"] == "store-secret-key"
    plain = {e["name"]: e["value"] for e in c["env"] if "value" in e}
    assert plain == {"SKYSCRIPT_MODE": "kubernetes", "HOME": "/tmp", "SKYSCRIPT_HOME": "/tmp/skyscript"}
    assert {"secretRef": {"name": "skyscript-extra"}} in c["envFrom"]
    assert {"configMapRef": {"name": "skyscript-config"}} in c["envFrom"]


def test_step_pods_run_as_the_image_user_on_a_read_only_root_with_scratch_and_models() -> None:
    cpu = _pod(registry.get("probe"), _orch())
    spec = cpu["spec"]
    (c,) = spec["containers"]
    assert spec["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                                       "seccompProfile": {"type": "RuntimeDefault"}}
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                                    "capabilities": {"drop": ["ALL"]}}
    # the only writable place: a bounded scratch volume at /tmp, where HOME and SKYSCRIPT_HOME point
    assert spec["volumes"] == [{"name": "scratch", "emptyDir": {"sizeLimit": "20Gi"}}]
    assert c["volumeMounts"] == [{"name": "scratch", "mountPath": "/tmp"}]
    gpu = _pod(GPU_SPEC, _orch(models_claim="skyscript-models", scratch_size="50Gi"))
    spec = gpu["spec"]
    (c,) = spec["containers"]
    assert spec["volumes"] == [
        {"name": "scratch", "emptyDir": {"sizeLimit": "50Gi"}},
        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}},
        {"name": "models", "persistentVolumeClaim": {"claimName": "skyscript-models", "readOnly": True}},
    ]
    assert {"name": "models", "mountPath": "/models", "readOnly": True} in c["volumeMounts"]
    assert {"name": "shm", "mountPath": "/dev/shm"} in c["volumeMounts"]
    assert {"name": "SKYSCRIPT_MODEL_DIR", "value": "/models"} in c["env"]
    relaxed = _pod(registry.get("probe"), _orch(read_only_root=False, run_as_user=4242))
    assert relaxed["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is False
    assert relaxed["spec"]["securityContext"]["runAsUser"] == 4242


def test_labels_name_drama_episode_step_and_run_with_label_safe_values() -> None:
    long_ep = "love-in-shanghai--" + "a-very-long-episode-file-name-from-the-crawler-" * 2
    pod = _pod(GPU_SPEC, _orch(), episodes=[long_ep])
    labels = pod["metadata"]["labels"]
    assert labels["skyscript.io/drama"] == "love-in-shanghai"
    assert labels["skyscript.io/step"] == "keyinfo"
    assert labels["skyscript.io/try"] == "2"
    assert labels["skyscript.io/run"].startswith("manual__2026-11-25T04-48-26.093677-00-00")
    assert labels["skyscript.io/episode"].startswith("love-in-shanghai--a-very-long")
    for key, value in labels.items():
        assert len(value) <= 63 and LABEL_VALUE.match(value), (key, value)
    # the full episode list is kept in an annotation
    assert pod["metadata"]["annotations"]["skyscript.io/episodes"] == f'["{long_ep}"]'


def test_batch_of_episodes_becomes_repeated_episode_arguments() -> None:
    eps = [f"d--ep{i:02d}" for i in range(3)]
    pod = _pod(registry.get("probe"), _orch(), episodes=eps)
    args = pod["spec"]["containers"][0]["args"]
    assert args[:4] == ["step", "probe", "--drama", "love-in-shanghai"]
    assert [args[i + 1] for i, a in enumerate(args) if a == "--episode"] == eps
    assert pod["metadata"]["labels"]["skyscript.io/episodes"] == "3"
    assert "skyscript.io/episode" not in pod["metadata"]["labels"]


def test_pod_timeouts_and_cleanup() -> None:
    op = step_operator(GPU_SPEC, orch=_orch(schedule_timeout_s=3600, startup_timeout_s=300), drama="d")
    assert op.schedule_timeout_seconds == 3600
    assert op.startup_timeout_seconds == 300
    assert op.on_finish_action.value == "delete_pod"
    assert op.on_kill_action.value == "delete_pod"
    assert op.durable is True
    assert op.queue == "light"  # the worker only watches the pod


def test_local_mode_gives_the_local_operator() -> None:
    op = step_operator(registry.get("probe"), orch=OrchestrationSettings(mode="local"), drama="d", episodes=["d--e"])
    assert isinstance(op, SkyscriptStepOperator)
    assert op.queue == "default"
    inv = op.invocation({"run_id": RUN_ID, "ti": SimpleNamespace(try_number=3)})
    assert inv.args() == ["step", "probe", "--drama", "d", "--episode", "d--e", "--dag-run-id", RUN_ID, "--try-number", "3"]


def test_mode_falls_back_to_skyscript_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYSCRIPT_MODE", "kubernetes")
    assert isinstance(step_operator(registry.get("probe"), drama="d"), SkyscriptPodOperator)
    monkeypatch.setenv("SKYSCRIPT_ORCH_MODE", "local")
    assert isinstance(step_operator(registry.get("probe"), drama="d"), SkyscriptStepOperator)


@pytest.mark.parametrize("runner", ["subprocess", "inprocess"])
def test_local_operator_runs_the_step_entry_point(runner: str, sample_media: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from skyscript.config import Settings
    from skyscript.context import open_context
    from skyscript.db.models import StepRun

    monkeypatch.setenv("SKYSCRIPT_HOME", str(tmp_path / "home"))
    context = {"run_id": RUN_ID, "ti": SimpleNamespace(try_number=1)}
    orch = OrchestrationSettings(mode="local", local_runner=runner)
    ingest = step_operator(registry.get("ingest"), orch=orch, drama="mm", sources=[str(sample_media / "Megamind.avi")])
    out = ingest.execute(context)
    assert out["results"] == {"success": 1} and out["counts"]["new"] == 1
    probe = step_operator(registry.get("probe"), orch=orch, drama="mm", episodes=["mm--megamind"])
    assert probe.execute(context)["counts"] == {"frames": 270}
    bad = step_operator(registry.get("probe"), orch=orch, drama="mm", episodes=["mm--missing"])
    with pytest.raises(Exception, match="step probe for drama mm failed"):
        bad.execute(context)
    ctx = open_context(Settings(), "mm")
    with ctx.db.session() as s:
        runs = [(r.step, r.episode_id, r.status, r.dag_run_id) for r in s.query(StepRun).order_by(StepRun.id)]
    ctx.db.dispose()
    assert runs == [("ingest", None, "success", RUN_ID), ("probe", "mm--megamind", "success", RUN_ID)]


def test_ingest_without_sources_is_skipped() -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    op = step_operator(registry.get("ingest"), orch=OrchestrationSettings(mode="local"), drama="d", sources=[])
    with pytest.raises(AirflowSkipException, match="no sources"):
        op.execute({"run_id": RUN_ID, "ti": SimpleNamespace(try_number=1)})


def test_a_pod_with_several_targets_runs_each_drama_in_turn() -> None:
    targets = [{"drama": "drama-a", "sources": ["/v/a", "s3://b/it's here"]}, {"drama": "drama-b", "sources": ["/v/b"]}]
    op = SkyscriptPodOperator(task_id="ingest", step_name="ingest", targets=targets,
                              **{k: v for k, v in pod_kwargs(registry.get("ingest"), _orch().kubernetes).items()})
    op.invocation = lambda context, _inv=op.invocation: _inv({"run_id": RUN_ID, "ti": SimpleNamespace(try_number=1)})  # type: ignore[method-assign]
    pod = _render(op)
    (c,) = pod["spec"]["containers"]
    assert c["command"] == ["sh", "-c"]
    (script,) = c["args"]
    lines = script.splitlines()
    assert lines[0] == "status=0" and lines[-1] == "exit $status"
    runs = [shlex.split(line.removesuffix(" || status=1")) for line in lines[1:-1]]
    assert runs == [
        ["skyscript", "step", "ingest", "--drama", "drama-a", "--source", "/v/a", "--source", "s3://b/it's here",
         "--dag-run-id", RUN_ID, "--try-number", "1"],
        ["skyscript", "step", "ingest", "--drama", "drama-b", "--source", "/v/b", "--dag-run-id", RUN_ID, "--try-number", "1"],
    ]
    labels = pod["metadata"]["labels"]
    assert labels["skyscript.io/dramas"] == "2" and "skyscript.io/drama" not in labels


def test_local_operator_ingests_each_target_and_fails_after_all_ran(sample_media: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from skyscript.config import Settings
    from skyscript.context import open_context
    from skyscript.db import lineage

    monkeypatch.setenv("SKYSCRIPT_HOME", str(tmp_path / "home"))
    context = {"run_id": RUN_ID, "ti": SimpleNamespace(try_number=1)}
    orch = OrchestrationSettings(mode="local", local_runner="inprocess")
    targets = [{"drama": "one", "sources": [str(sample_media / "vtest.avi")]},
               {"drama": "Bad Id", "sources": [str(sample_media / "vtest.avi")]},  # refused: a usage error
               {"drama": "two", "sources": [str(sample_media / "Megamind.avi")]}]
    op = step_operator(registry.get("ingest"), orch=orch, drama=None, targets=targets)
    with pytest.raises(Exception, match="step ingest for drama Bad Id failed") as failed:
        op.execute(context)
    assert "drama one" not in str(failed.value) and "drama two" not in str(failed.value)
    ctx = open_context(Settings(), "one")
    with ctx.db.session() as s:  # the dramas after the bad one were ingested too
        assert {d: [e.id for e in lineage.episodes_of(s, d)] for d in ("one", "two")} == {
            "one": ["one--vtest"], "two": ["two--megamind"]}
    ctx.db.dispose()
    ok = step_operator(registry.get("ingest"), orch=orch, drama=None, targets=[targets[0], targets[2]])
    out = ok.execute(context)
    assert out["dramas"] == 2 and out["results"] == {"success": 2} and out["counts"]["unchanged"] == 2
