"""The step operator factory: a registry step's resource profile in, an Airflow task out.

Kubernetes mode (``SKYSCRIPT_ORCH_MODE`` or ``SKYSCRIPT_MODE`` = ``kubernetes``, or ``mode=``):

* image ``<registry>/<resources.image>:<tag>`` running the one entry point ``skyscript step``;
* CPU and memory requests (memory limit = request; no CPU limit, so no throttling);
* GPU steps: ``nvidia.com/gpu`` requests = limits, pinned by node selector on
  ``nvidia.com/gpu.product`` (the step's product, else the configured default, else any node
  that has the label), tolerating the ``nvidia.com/gpu`` NoSchedule taint, GPU priority class;
* CPU steps: a required node affinity that keeps them off GPU nodes, CPU priority class;
* credentials only from Secrets (``secretKeyRef`` env entries, ``envFrom`` Secrets) and
  settings from ConfigMaps, never as plain env values;
* a scheduling timeout separate from the start-up timeout, pods deleted when they finish, fail
  or are killed, and labels naming drama, episode, step and run.

Local mode: :class:`operators.local_step.SkyscriptStepOperator` runs the same arguments on the
worker. Heavy imports (the Kubernetes provider) happen only in Kubernetes mode.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from skyscript.config import ExecutionMode
from skyscript.orchestration.config import KubernetesSettings, OrchestrationSettings
from skyscript.orchestration.labels import dns_name
from skyscript.steps.base import Resources
from skyscript.steps.registry import StepSpec

GPU_PRESENT_LABEL = "nvidia.com/gpu.present"


def _qty(value: float, unit: str = "") -> str:
    text = str(int(value)) if float(value).is_integer() else f"{value:g}"
    return f"{text}{unit}"


def image_for(resources: Resources, k8s: KubernetesSettings) -> str:
    image = resources.image
    if "/" in image or ":" in image.rsplit("/", 1)[-1]:
        return image  # already a full reference
    return f"{k8s.image_registry.rstrip('/')}/{image}:{k8s.image_tag}"


def pod_kwargs(spec: StepSpec, k8s: KubernetesSettings) -> dict[str, Any]:
    """The KubernetesPodOperator arguments a step's resource profile implies."""
    from kubernetes.client import models as k

    from airflow.providers.cncf.kubernetes.secret import Secret

    r = spec.resources
    requests = {"cpu": _qty(r.cpu), "memory": _qty(r.memory_gi, "Gi")}
    limits = {"memory": _qty(r.memory_gi, "Gi")}
    node_selector: dict[str, str] = {}
    tolerations: list[Any] = []
    if r.uses_gpu:
        requests[k8s.gpu_resource] = str(r.gpu)
        limits[k8s.gpu_resource] = str(r.gpu)
        product = r.gpu_product or k8s.gpu_product
        if product:
            node_selector[k8s.gpu_product_label] = product
            affinity = None
        else:
            affinity = k.V1Affinity(node_affinity=k.V1NodeAffinity(
                required_during_scheduling_ignored_during_execution=k.V1NodeSelector(node_selector_terms=[
                    k.V1NodeSelectorTerm(match_expressions=[
                        k.V1NodeSelectorRequirement(key=k8s.gpu_product_label, operator="Exists"),
                    ]),
                ]),
            ))
        tolerations.append(k.V1Toleration(key=k8s.gpu_taint_key, operator="Exists", effect="NoSchedule"))
        priority = k8s.priority_class_gpu
    else:
        affinity = k.V1Affinity(node_affinity=k.V1NodeAffinity(
            required_during_scheduling_ignored_during_execution=k.V1NodeSelector(node_selector_terms=[
                k.V1NodeSelectorTerm(match_expressions=[
                    k.V1NodeSelectorRequirement(key=k8s.gpu_product_label, operator="DoesNotExist"),
                    k.V1NodeSelectorRequirement(key=GPU_PRESENT_LABEL, operator="NotIn", values=["true"]),
                ]),
            ]),
        ))
        priority = k8s.priority_class_cpu
    volumes, mounts, env = pod_storage(r, k8s)
    env_from = [k.V1EnvFromSource(secret_ref=k.V1SecretEnvSource(name=n)) for n in k8s.env_from_secrets]
    env_from += [k.V1EnvFromSource(config_map_ref=k.V1ConfigMapEnvSource(name=n)) for n in k8s.env_from_configmaps]
    kwargs: dict[str, Any] = dict(
        namespace=k8s.namespace,
        name=f"skyscript-{dns_name(spec.name)}",
        random_name_suffix=True,
        image=image_for(r, k8s),
        image_pull_policy=k8s.image_pull_policy,
        image_pull_secrets=[k.V1LocalObjectReference(name=k8s.image_pull_secret)] if k8s.image_pull_secret else None,
        cmds=["skyscript"],
        container_resources=k.V1ResourceRequirements(requests=requests, limits=limits),
        node_selector=node_selector or None,
        affinity=affinity,
        tolerations=tolerations or None,
        priority_class_name=priority,
        service_account_name=k8s.service_account,
        secrets=[Secret("env", s.env, s.secret, s.key) for s in k8s.secret_env],
        env_from=env_from or None,
        env_vars={"SKYSCRIPT_MODE": "kubernetes", **env},
        volumes=volumes,
        volume_mounts=mounts,
        security_context=k.V1PodSecurityContext(
            run_as_non_root=True, run_as_user=k8s.run_as_user, run_as_group=k8s.run_as_user, fs_group=k8s.run_as_user,
            seccomp_profile=k.V1SeccompProfile(type="RuntimeDefault"),
        ),
        container_security_context=k.V1SecurityContext(
            allow_privilege_escalation=False, read_only_root_filesystem=k8s.read_only_root, run_as_non_root=True,
            capabilities=k.V1Capabilities(drop=["ALL"]),
        ),
        schedule_timeout_seconds=k8s.schedule_timeout_s,
        startup_timeout_seconds=k8s.startup_timeout_s,
        active_deadline_seconds=k8s.active_deadline_s,
        termination_grace_period=k8s.termination_grace_s,
        on_finish_action=k8s.on_finish_action,
        on_kill_action="delete_pod",
        durable=True,  # a restarted worker re-attaches to the running pod instead of starting another
        get_logs=True,
        log_events_on_failure=True,
        do_xcom_push=False,
        deferrable=k8s.deferrable,
    )
    if k8s.in_cluster is not None:
        kwargs["in_cluster"] = k8s.in_cluster
    if k8s.kubernetes_conn_id:
        kwargs["kubernetes_conn_id"] = k8s.kubernetes_conn_id
    return kwargs


def pod_storage(r: Resources, k8s: KubernetesSettings) -> tuple[list[Any], list[Any], dict[str, str]]:
    """The step pod's writable places and model folder: a scratch emptyDir at /tmp (the only
    place a step writes to on a read-only root; HOME and SKYSCRIPT_HOME live there), a
    memory-backed /dev/shm for GPU steps, the model claim read-only at ``models_path``.
    Returns (volumes, volume mounts, plain env vars)."""
    from kubernetes.client import models as k

    volumes = [k.V1Volume(name="scratch", empty_dir=k.V1EmptyDirVolumeSource(size_limit=k8s.scratch_size))]
    mounts = [k.V1VolumeMount(name="scratch", mount_path="/tmp")]
    env = {"HOME": "/tmp", "SKYSCRIPT_HOME": "/tmp/skyscript"}
    if r.gpu and k8s.shm_size:
        volumes.append(k.V1Volume(name="shm", empty_dir=k.V1EmptyDirVolumeSource(medium="Memory", size_limit=k8s.shm_size)))
        mounts.append(k.V1VolumeMount(name="shm", mount_path="/dev/shm"))
    if k8s.models_claim:
        volumes.append(k.V1Volume(name="models", persistent_volume_claim=k.V1PersistentVolumeClaimVolumeSource(
            claim_name=k8s.models_claim, read_only=True)))
        mounts.append(k.V1VolumeMount(name="models", mount_path=k8s.models_path, read_only=True))
        env["SKYSCRIPT_MODEL_DIR"] = k8s.models_path
    return volumes, mounts, env


def resolved_mode(mode: ExecutionMode | str | None, orch: OrchestrationSettings) -> ExecutionMode:
    return ExecutionMode(mode) if mode is not None else orch.resolved_mode()


def step_operator_class(mode: ExecutionMode | str | None = None, orch: OrchestrationSettings | None = None) -> type:
    orch = orch or OrchestrationSettings()
    if resolved_mode(mode, orch) is ExecutionMode.kubernetes:
        from operators.pod_step import SkyscriptPodOperator

        return SkyscriptPodOperator
    from operators.local_step import SkyscriptStepOperator

    return SkyscriptStepOperator


def _task_kwargs(spec: StepSpec, mode: ExecutionMode, orch: OrchestrationSettings) -> dict[str, Any]:
    if mode is ExecutionMode.kubernetes:
        # the worker only launches and watches the pod: a light task
        return {**pod_kwargs(spec, orch.kubernetes), "queue": orch.light_queue}
    return {
        "runner": orch.local_runner,
        "step_timeout_s": orch.step_timeout_s,
        "queue": orch.step_queue,
        "execution_timeout": timedelta(seconds=orch.step_timeout_s + 60),
    }


def step_operator(
    spec: StepSpec,
    *,
    task_id: str | None = None,
    mode: ExecutionMode | str | None = None,
    orch: OrchestrationSettings | None = None,
    expand_kwargs: Any = None,
    drama: Any = "{{ params.drama }}",
    episodes: Any = None,
    sources: Any = None,
    skip: Any = False,
    **task_kwargs: Any,
) -> Any:
    """A task running ``spec`` for the drama (and episodes).

    With ``expand_kwargs`` (an XComArg of dicts with ``drama``/``episodes``/``sources``) the task
    is mapped over them; otherwise ids may be templates, XComArgs or mapped-group arguments.
    """
    orch = orch or OrchestrationSettings()
    m = resolved_mode(mode, orch)
    cls = step_operator_class(m, orch)
    kwargs = {**_task_kwargs(spec, m, orch), "task_id": task_id or spec.name, "step_name": spec.name,
              "doc_md": f"**{spec.name}** ({spec.scope} scope): {spec.description}", **task_kwargs}
    if expand_kwargs is not None:
        return cls.partial(**kwargs).expand_kwargs(expand_kwargs)
    return cls(drama=drama, episodes=episodes, sources=sources, skip=skip, **kwargs)
