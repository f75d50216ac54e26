"""The pipeline: its steps, one line each, and the graph derived from what they read and write.

A new step joins by one module and one line in :data:`STEPS`. The DAG files, the local runner and
the CLI read :data:`PIPELINE`. Step modules keep heavy imports inside ``setup``/``run``, so this
module (and every DAG parse) loads no database driver, no SQLAlchemy and no model runtime.

``SKYSCRIPT_EXTRA_STEPS`` (comma-separated ``module:Class``) appends steps from other packages,
for plugins and tests; they join the graph like the built-in ones.

What flows between steps (``Step.reads`` / ``Step.writes``):

* an annotation kind, e.g. ``ocr`` (its owner declares it in ``Step.owns``);
* a table's rows, ``keyframe``, or one column, ``keyframe.text_area_ratio``;
* a store area, ``private:frames``;
* ``source:...``: input from outside the pipeline (the files ingest is pointed at).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable, Iterator

from skyscript.steps.base import Kind, Resources, Scope, Step

STEPS: tuple[str, ...] = (
    "skyscript.steps.ingest:IngestStep",
    "skyscript.steps.probe:ProbeStep",
    "skyscript.steps.scan:ScanStep",
    "skyscript.steps.text:TextStep",
    "skyscript.steps.privacy:PrivacyStep",
    "skyscript.steps.shot_size:ShotSizeStep",
    "skyscript.steps.keyinfo:KeyInfoStep",
    "skyscript.steps.depth:DepthStep",
    "skyscript.steps.pose:PoseStep",
    "skyscript.steps.layout:LayoutStep",
    "skyscript.steps.emotion:EmotionStep",
    "skyscript.steps.characters:CharactersStep",
    "skyscript.steps.highlight:HighlightStep",
    "skyscript.steps.scenes:ScenesStep",
    "skyscript.steps.shooting_scripts:ShootingScriptsStep",
    "skyscript.steps.script_pairs:ScriptPairsStep",
    "skyscript.steps.relationships:RelationshipsStep",
)

EXTRA_ENV = "SKYSCRIPT_EXTRA_STEPS"


def load_class(target: str) -> type[Step[Any]]:
    module, _, cls = target.partition(":")
    try:
        step_cls = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise ImportError(f"step {target!r} cannot be imported: {exc}") from exc
    if not (isinstance(step_cls, type) and issubclass(step_cls, Step)):
        raise TypeError(f"{target} is not a Step subclass")
    return step_cls


def provides(item: str, writes: Iterable[str]) -> bool:
    """Whether a step writing ``writes`` provides ``item``: the same name, or the table whose
    column it is (``keyframe`` provides ``keyframe.private_key``)."""
    return any(item == w or (("." in item) and item.split(".", 1)[0] == w) for w in writes)


@dataclass(frozen=True)
class StepSpec:
    """One step of the pipeline as the DAGs and the CLI see it (read off the step class)."""

    name: str
    target: str
    scope: Scope
    resources: Resources
    description: str
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    after: tuple[str, ...] = ()  # the steps whose outputs it reads

    def load(self) -> Step[Any]:
        return load_class(self.target)()


class Pipeline:
    """The steps in data-flow order, with the dependencies between them."""

    def __init__(self, targets: Iterable[str]) -> None:
        self.targets = tuple(targets)
        self.classes = [load_class(t) for t in self.targets]
        names = [c.name for c in self.classes]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"step names used twice: {sorted(dupes)}")

    @classmethod
    def default(cls, environ: dict[str, str] | None = None) -> "Pipeline":
        extra = (os.environ if environ is None else environ).get(EXTRA_ENV, "")
        return cls(STEPS + tuple(t.strip() for t in extra.split(",") if t.strip()))

    @cached_property
    def specs(self) -> tuple[StepSpec, ...]:
        out: list[StepSpec] = []
        for target, c in zip(self.targets, self.classes):
            earlier = out
            after = tuple(
                s.name for s in earlier
                if any(provides(r, s.writes) for r in c.reads)
            )
            out.append(StepSpec(c.name, target, c.scope, c.resources, c.description, c.reads, c.writes, after))
        return tuple(out)

    def __iter__(self) -> Iterator[StepSpec]:
        return iter(self.specs)

    def get(self, name: str) -> StepSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(f"unknown step {name!r}; known steps: {', '.join(self.names())}")

    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    def episode_steps(self) -> list[StepSpec]:
        return [s for s in self.specs if s.scope == "episode"]

    def drama_steps(self) -> list[StepSpec]:
        """Drama-scope steps after ingest: they run once the episode steps are done."""
        return [s for s in self.specs if s.scope == "drama" and s.name != "ingest"]

    def kinds(self) -> dict[str, Kind]:
        out: dict[str, Kind] = {}
        for c in self.classes:
            for k in c.owns:
                if k.name in out:
                    raise ValueError(f"annotation kind {k.name!r} is owned by two steps")
                out[k.name] = k
        return out

    def owner(self, kind: str) -> str:
        for c in self.classes:
            if any(k.name == kind for k in c.owns):
                return c.name
        raise KeyError(f"no step owns annotation kind {kind!r}")

    def problems(self) -> list[str]:
        """What is wrong with the graph: an input no earlier step writes, a kind written but not
        owned, a step reading what only a later step writes."""
        out: list[str] = []
        kinds = self.kinds()
        for i, spec in enumerate(self.specs):
            cls = self.classes[i]
            owned = {k.name for k in cls.owns}
            for w in spec.writes:
                if w in kinds and w not in owned:
                    out.append(f"{spec.name} writes annotation kind {w!r}, owned by {self.owner(w)}")
            for k in owned:
                if k not in spec.writes:
                    out.append(f"{spec.name} owns kind {k!r} but does not list it in writes")
            for r in spec.reads:
                if r.startswith("source:") or r in owned:
                    continue
                before = [s for s in self.specs[:i] if provides(r, s.writes)]
                if not before:
                    later = [s.name for s in self.specs[i + 1:] if provides(r, s.writes)]
                    out.append(
                        f"{spec.name} reads {r!r}, which no earlier step writes"
                        + (f" (only {', '.join(later)}, later)" if later else "")
                    )
                if spec.scope == "episode" and all(s.scope == "drama" and s.name != "ingest" for s in before):
                    out.append(f"episode step {spec.name} reads {r!r} from a drama step, which runs after it")
        return out

    def describe(self) -> list[str]:
        """The graph, one line per step: what it reads and from whom, what it writes."""
        lines = []
        for spec in self.specs:
            r = spec.resources
            gpu = f" gpu={r.gpu}" if r.gpu else ""
            lines.append(f"{spec.name:<10} {spec.scope:<7} cpu={r.cpu} mem={r.memory_gi}Gi{gpu} image={r.image}  {spec.description}")
            lines.append(f"{'':<10} after: {', '.join(spec.after) or '-'}")
            lines.append(f"{'':<10} reads: {', '.join(spec.reads) or '-'}")
            lines.append(f"{'':<10} writes: {', '.join(spec.writes) or '-'}")
        return lines


PIPELINE = Pipeline.default()


def get(name: str) -> StepSpec:
    return PIPELINE.get(name)


def episode_steps() -> list[StepSpec]:
    return PIPELINE.episode_steps()


def drama_steps() -> list[StepSpec]:
    return PIPELINE.drama_steps()


def names() -> list[str]:
    return PIPELINE.names()
