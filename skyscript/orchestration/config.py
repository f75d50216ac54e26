"""Orchestration settings: how the DAGs run steps (local or Kubernetes), which images, which
secrets, retries, the crawl schedule.

Environment prefix ``SKYSCRIPT_ORCH_`` (nested fields joined with ``__``). These are read when a
DAG file is parsed, so they come from the environment only (no database, no Airflow Variable
look-up at parse time). ``mode`` falls back to the platform's ``SKYSCRIPT_MODE``.
"""

from __future__ import annotations

from datetime import timedelta

import os
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from skyscript.config import ExecutionMode

OnFinish = Literal["delete_pod", "delete_succeeded_pod", "delete_active_pod", "keep_pod"]


class SecretEnv(BaseModel):
    """One environment variable of a step pod taken from a Kubernetes Secret key
    (rendered as ``valueFrom.secretKeyRef``, never as a plain value)."""

    env: str
    secret: str
    key: str


def _default_secret_env() -> list[SecretEnv]:
    name = "skyscript-credentials"
    return [
        SecretEnv(env="SKYSCRIPT_DATABASE_URL", secret=name, key="database-url"),
        SecretEnv(env="SKYSCRIPT_STORE_ACCESS_KEY", secret=name, key="store-access-key"),
        SecretEnv(env="SKYSCRIPT_STORE_SECRET_KEY", secret=name, key="store-secret-key"),
        SecretEnv(env="SKYSCRIPT_VLM__API_KEY", secret=name, key="vlm-api-key"),
    ]


class KubernetesSettings(BaseModel):
    """What every step pod gets in Kubernetes mode."""

    namespace: str = "skyscript"
    image_registry: str = Field("registry.local/skyscript", description="prefix of every step image")
    image_tag: str = Field("latest", description="tag of every step image (pin a release in production)")
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    image_pull_secret: str | None = None
    service_account: str = "skyscript-step"
    priority_class_gpu: str | None = "skyscript-gpu"
    priority_class_cpu: str | None = "skyscript-cpu"
    gpu_product: str | None = Field(
        None, description="default value of the nvidia.com/gpu.product label GPU steps are pinned to; a step's own wins"
    )
    gpu_product_label: str = "nvidia.com/gpu.product"
    gpu_resource: str = "nvidia.com/gpu"
    gpu_taint_key: str = "nvidia.com/gpu"
    secret_env: list[SecretEnv] = Field(default_factory=_default_secret_env)
    env_from_secrets: list[str] = Field(default_factory=list, description="whole Secrets exposed as env (envFrom)")
    env_from_configmaps: list[str] = Field(
        default_factory=lambda: ["skyscript-config"], description="ConfigMaps with the non-secret SKYSCRIPT_* settings"
    )
    schedule_timeout_s: int = Field(1800, ge=1, description="how long a pod may wait to be scheduled (GPU queue)")
    startup_timeout_s: int = Field(600, ge=1, description="how long a scheduled pod may take to start (image pull)")
    active_deadline_s: int | None = Field(None, ge=1, description="hard limit on a pod's run time")
    termination_grace_s: int = Field(30, ge=0)
    on_finish_action: OnFinish = "delete_pod"
    deferrable: bool = Field(False, description="wait for pods in the triggerer instead of a worker slot")
    in_cluster: bool | None = None
    kubernetes_conn_id: str | None = None
    # the pod's security and its writable places
    run_as_user: int = Field(10001, ge=1, description="uid (and gid, fsGroup) of the step container: the images' skyscript user")
    read_only_root: bool = Field(
        True, description="read-only root file system; the step writes only to its scratch volume (/tmp, also HOME)"
    )
    scratch_size: str = Field("20Gi", description="size limit of the scratch emptyDir at /tmp (work folders, spills)")
    shm_size: str | None = Field(
        "2Gi", description="GPU steps: a memory-backed /dev/shm of this size (torch workers); None: the runtime's 64 MiB"
    )
    models_claim: str | None = Field(
        None, description="PersistentVolumeClaim holding the model folders, mounted read-only at models_path"
    )
    models_path: str = Field("/models", description="where the model claim is mounted (SKYSCRIPT_MODEL_DIR)")


class OrchestrationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKYSCRIPT_ORCH_", env_nested_delimiter="__", extra="ignore")

    mode: ExecutionMode | None = Field(None, description="local or kubernetes; default SKYSCRIPT_MODE, else local")
    local_runner: Literal["subprocess", "inprocess"] = "subprocess"
    step_timeout_s: int = Field(6 * 3600, ge=1, description="local mode: kill a step process after this long")
    retries: int = Field(3, ge=0)
    retry_delay_s: float = Field(30.0, ge=0)
    retry_backoff: float = Field(2.0, ge=0, description="exponential back-off multiplier (0: constant delay)")
    max_retry_delay_s: float = Field(1800.0, ge=0)
    light_queue: str = Field("light", description="Celery queue for light tasks (planning, gates, triggers, pod watching)")
    step_queue: str = Field("default", description="Celery queue for step tasks run by local mode")
    batch_size: int = Field(50, ge=1, description="default episodes per mapped batch")
    max_batches: int = Field(
        256, ge=1, description="most mapped batches per drama run (also capped by Airflow's [core] max_map_length): "
                               "a longer drama gets bigger batches (docs/orchestration.md, batch size)"
    )
    max_active_runs: int = Field(
        16, ge=1, description="drama runs active at once, all dramas together (one per drama: see drama_wait_s)"
    )
    drama_wait_s: float = Field(
        6 * 3600, ge=0, description="how long a drama run waits for another run of the same drama to finish before "
                                    "it fails (0: fail at once)"
    )
    drama_poke_s: float = Field(60, gt=0, description="how often a waiting drama run looks again (no worker slot held)")
    crawl_max_tasks: int = Field(
        64, ge=1, description="most ingest tasks of one crawl: more dramas than this share tasks"
    )
    crawl_max_dramas: int = Field(
        1024, ge=1, description="most dramas one crawl takes (and annotation runs it starts), within Airflow's "
                                "[core] max_map_length; the others, scanned longest ago last, wait for the next crawl"
    )
    crawl_schedule: str | None = Field("@hourly", description="cron or preset of the crawl DAG; empty: manual only")
    crawl_sources: dict[str, list[str]] = Field(
        default_factory=dict, description="configured sources, {drama: [uri, ...]}, crawled besides the source table"
    )
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)

    def default_args(self) -> dict[str, Any]:
        """Airflow ``default_args`` for every SkyScript DAG: owner and retries with back-off."""
        return {
            "owner": "skyscript",
            "retries": self.retries,
            "retry_delay": timedelta(seconds=self.retry_delay_s),
            "retry_exponential_backoff": self.retry_backoff,
            "max_retry_delay": timedelta(seconds=self.max_retry_delay_s),
        }

    def resolved_mode(self) -> ExecutionMode:
        if self.mode is not None:
            return self.mode
        return ExecutionMode(os.environ.get("SKYSCRIPT_MODE", ExecutionMode.local.value))
