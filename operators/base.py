"""What the local and the pod step operators share: the templated ids and the invocations.

A task runs its step for one drama (and a batch of its episodes), or, given ``targets`` (a list
of ``{"drama": ..., "sources": [...]}``), once per target in turn: the crawl ingests many dramas
in a bounded number of tasks that way.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from skyscript.orchestration.commands import StepInvocation, as_str_list

STEP_TEMPLATE_FIELDS: tuple[str, ...] = ("drama", "episodes", "sources", "skip", "targets")


def is_true(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class StepFieldsMixin:
    """Holds a step's ids as templated fields (rendered or resolved from XCom/mapping at run time)."""

    step_name: str
    drama: Any
    episodes: Any
    sources: Any
    skip: Any
    targets: Any

    def _init_step_fields(self, step_name: str, drama: Any, episodes: Any, sources: Any, skip: Any,
                          targets: Any = None) -> None:
        self.step_name = step_name
        self.drama = drama
        self.episodes = episodes
        self.sources = sources
        self.skip = skip
        self.targets = targets

    def invocation(self, context: Any | None) -> StepInvocation:
        run_id = None
        try_number = 1
        force = False
        if context is not None:
            run_id = context.get("run_id")
            ti = context.get("ti")
            try_number = int(getattr(ti, "try_number", None) or 1)
            force = bool((context.get("params") or {}).get("force", False))
        return StepInvocation(
            step=self.step_name,
            drama=str(self.drama or ""),
            episodes=as_str_list(self.episodes),
            sources=as_str_list(self.sources),
            dag_run_id=run_id,
            try_number=try_number,
            force=force,
        )

    def invocations(self, context: Any | None) -> list[StepInvocation]:
        """One invocation, or one per target (each target's drama and sources, no episodes)."""
        inv = self.invocation(context)
        if not self.targets:
            return [inv]
        return [replace(inv, drama=str(t["drama"]), sources=as_str_list(t.get("sources")), episodes=())
                for t in self.targets]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The step's inputs and outputs as OpenLineage datasets (``skyscript`` namespace,
        ``<drama>/<kind or table>``), read by the OpenLineage provider when it is configured."""
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage

        from skyscript.orchestration.lineage import step_datasets

        inputs, outputs = step_datasets(self.step_name, str(self.drama))
        return OperatorLineage(
            inputs=[Dataset(namespace=ns, name=name) for ns, name in inputs],
            outputs=[Dataset(namespace=ns, name=name) for ns, name in outputs],
        )

    def skip_reason(self) -> str | None:
        """Why this task has nothing to do: asked to skip, or an ingest with no sources."""
        if is_true(self.skip):
            return f"step {self.step_name} skipped as asked"
        if self.targets:
            return None
        if self.step_name == "ingest" and not as_str_list(self.sources):
            return "ingest skipped: no sources given (annotating the drama's registered episodes)"
        return None


def merge_template_fields(base: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*base, *STEP_TEMPLATE_FIELDS]))
