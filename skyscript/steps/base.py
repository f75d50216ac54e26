"""What a step is: a named, versioned unit of work on one episode (or one drama) that receives
what it reads and returns what it writes.

Modelled on NeMo Curator's stages: a step class declares its name, version, scope, resource
profile, typed parameters and the data it reads and writes; ``setup`` loads its models once per
process and ``run`` turns a loaded view of its unit into records. The runner
(:mod:`skyscript.steps.runner`) loads the view, calls the step, validates and persists the
records in one transaction and writes lineage, so a step module holds only its own logic.

This module is light on purpose (no database, no store, no models): the registry and the DAG
files import it at parse time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from skyscript.errors import BadInput, StepError  # noqa: F401  (re-exported: what steps raise)
from skyscript.losses import LossRecord

if TYPE_CHECKING:
    from skyscript.config import Settings
    from skyscript.steps.view import DramaView, EpisodeView
    from skyscript.store import Area

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


CPU_LIGHT = Resources(cpu=0.5, memory_gi=1.0, image="skyscript-cpu")
CPU_VIDEO = Resources(cpu=2.0, memory_gi=4.0, image="skyscript-cpu")
GPU_MODEL = Resources(cpu=4.0, memory_gi=16.0, gpu=1, image="skyscript-gpu")


# --- annotation kinds ------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A kind of keyframe annotation: its name, payload model and version. The one step that
    owns it declares it in ``owns``; ``columns`` names the keyframe columns that follow the
    *current* version (a human correction included) and how to read them off the payload."""

    name: str
    payload: type[BaseModel]
    version: str = "1"
    description: str = ""
    columns: Callable[[Any], dict[str, Any]] | None = None
    column_names: tuple[str, ...] = ()

    def validate(self, payload: Any) -> BaseModel:
        """The payload checked against the kind's model: a stored dict, or a model instance
        (re-validated from its JSON form, so a hand-built instance cannot slip past)."""
        if isinstance(payload, BaseModel):
            payload = payload.model_dump(mode="json")
        return self.payload.model_validate(payload)


# --- what a step returns ---------------------------------------------------------------------


@dataclass
class ModelInfo:
    """What lineage records about the model a step used."""

    model_id: str | None = None
    weights_digest: str | None = None
    prompt_digest: str | None = None


@dataclass
class AnnotationRecord:
    """A keyframe annotation of a kind the step owns (the runner keeps a human correction)."""

    keyframe_id: str
    kind: str
    payload: BaseModel
    source: str


@dataclass
class RowUpdate:
    """Columns of one existing row to set (``table``: episode, shot or keyframe)."""

    table: Literal["episode", "shot", "keyframe"]
    id: str
    fields: dict[str, Any]


@dataclass
class RowSet:
    """Rows a step produces as a whole: ``replace`` swaps the unit's rows of ``table`` for these
    (scan: shots and keyframes), ``upsert`` inserts or updates them by id (ingest: episodes)."""

    table: Literal["source", "drama", "episode", "shot", "keyframe", "character"]
    rows: list[dict[str, Any]]
    mode: Literal["replace", "upsert"] = "upsert"


@dataclass
class ObjectRecord:
    """An object to put in the store: bytes or a local file (copied, never moved)."""

    area: "Area"
    key: str
    data: bytes | None = None
    path: Path | None = None
    content_type: str = "application/octet-stream"


@dataclass
class StepOutput:
    """Everything a step hands back for its unit. The runner writes the objects first, then the
    rows, annotations, column updates and losses in one transaction, then lineage."""

    annotations: list[AnnotationRecord] = field(default_factory=list)
    rows: list[RowSet] = field(default_factory=list)
    updates: list[RowUpdate] = field(default_factory=list)
    objects: list[ObjectRecord] = field(default_factory=list)
    losses: list[LossRecord] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    model: ModelInfo = field(default_factory=ModelInfo)
    params: dict[str, Any] = field(default_factory=dict)  # lineage extras beyond the step's params


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


# --- the step --------------------------------------------------------------------------------


class NoParams(BaseModel):
    """A step without parameters."""

    model_config = ConfigDict(extra="forbid")


P = TypeVar("P", bound=BaseModel)


class Step(ABC, Generic[P]):
    """Subclass, set the class attributes, implement :meth:`run` (and :meth:`setup` when the
    step loads models).

    ``reads``/``writes`` name what flows between steps: annotation kinds (``ocr``), table
    columns (``keyframe.text_area_ratio``; a table alone, ``keyframe``, means its rows) and store
    areas (``private:frames``). The pipeline graph is derived from them.

    ``params_model`` is a pydantic model; with ``settings_field`` its defaults come from that
    section of the settings (``SKYSCRIPT_<FIELD>__<NAME>``), overridden per run by ``--param``
    and DAG params. The effective values are recorded in lineage.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    scope: ClassVar[Scope] = "episode"
    resources: ClassVar[Resources] = CPU_LIGHT
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()
    owns: ClassVar[tuple[Kind, ...]] = ()
    params_model: ClassVar[type[BaseModel]] = NoParams
    settings_field: ClassVar[str | None] = None
    # the settings sections (besides where data is stored) the step's result depends on, for
    # resuming: a change in one of them redoes the step. None: any setting does.
    uses_settings: ClassVar[tuple[str, ...] | None] = None
    description: ClassVar[str] = ""

    def setup(self, settings: "Settings") -> None:
        """Load models and resolve weights; called once per process before the first unit."""

    def teardown(self) -> None:
        """Release what :meth:`setup` loaded (model servers' connections, GPU memory)."""

    @abstractmethod
    def run(self, view: "EpisodeView | DramaView", params: P) -> StepOutput:
        """Do the step's work on one unit and return what it writes. Raise
        :class:`~skyscript.errors.BadInput` for unusable input (the episode is quarantined)
        and anything else for failures worth a retry."""

    @classmethod
    def kind(cls, name: str) -> Kind:
        for k in cls.owns:
            if k.name == name:
                return k
        raise KeyError(f"step {cls.name} owns no annotation kind {name!r}")
