"""What a step is: a named, versioned unit of work on one episode (or one drama), with the
resources it needs, that reads and writes through the store and lineage database.

Modelled on NeMo Curator's stages: each step class declares its name, version, resource
profile and what it reads and writes; the runner (:mod:`skyscript.steps.runner`) opens the
step-run row, calls it, and records the outcome, so steps only do their own work.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from skyscript.config import Settings
from skyscript.db.engine import Database
from skyscript.store import ObjectStore

Scope = Literal["episode", "drama"]


@dataclass(frozen=True)
class Resources:
    """A step's resource profile: what its pod requests in Kubernetes mode."""

    cpu: float = 1.0
    memory_gi: float = 2.0
    gpu: int = 0
    image: str = "skyscript-cpu"
    gpu_product: str | None = None  # e.g. "NVIDIA-A100-SXM4-80GB"; None: any GPU

    @property
    def uses_gpu(self) -> bool:
        return self.gpu > 0


@dataclass
class ModelInfo:
    """What lineage records about the model a step used."""

    model_id: str | None = None
    weights_digest: str | None = None
    prompt_digest: str | None = None


class StepError(RuntimeError):
    """A step could not do its work for a reason that is not bad input (the run should retry)."""


class BadInput(RuntimeError):
    """The input itself is unusable (corrupt, empty, wrong format): quarantine, don't retry."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class StepContext:
    settings: Settings
    db: Database
    store: ObjectStore
    drama_id: str
    dag_run_id: str | None = None
    try_number: int = 1
    params: dict[str, Any] = field(default_factory=dict)

    def logger(self, step: str, episode_id: str | None = None) -> logging.LoggerAdapter[logging.Logger]:
        return logging.LoggerAdapter(
            logging.getLogger(f"skyscript.steps.{step}"),
            {"drama": self.drama_id, "episode": episode_id or "-", "step": step},
        )


@dataclass
class StepOutput:
    """What a step hands back: counts for lineage and the models it used."""

    counts: dict[str, int] = field(default_factory=dict)
    model: ModelInfo = field(default_factory=ModelInfo)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepResult:
    step: str
    drama_id: str
    episode_id: str | None
    status: Literal["success", "failed", "skipped"]
    step_run_id: int | None
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0


class Step(ABC):
    name: ClassVar[str]
    version: ClassVar[str] = "1"
    scope: ClassVar[Scope] = "episode"
    resources: ClassVar[Resources] = Resources()
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""

    @abstractmethod
    def run(self, ctx: StepContext, step_run_id: int, episode_id: str | None) -> StepOutput:
        """Do the step's work for one episode (or the drama when ``scope == 'drama'``).

        Write outputs keyed on natural ids, replacing this step's earlier outputs for the
        same episode. Raise :class:`BadInput` for unusable input and anything else for
        failures worth a retry.
        """
