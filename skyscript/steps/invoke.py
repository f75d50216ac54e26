"""One step over a batch of units: what ``skyscript step NAME ...`` does, and what local mode
runs in-process. The step is set up once for the whole batch (its models load once) and torn
down at the end."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from skyscript.config import Settings
from skyscript.context import open_context
from skyscript.db import lineage
from skyscript.steps import registry
from skyscript.steps.base import StepResult
from skyscript.steps.runner import resolve_params, run_step, teardown


@dataclass
class Invocation:
    step: str
    drama_id: str
    episodes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    dag_run_id: str | None = None
    try_number: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    force: bool = False


@dataclass
class InvocationOutcome:
    results: list[StepResult]
    failed: bool  # a unit failed for a reason other than bad input: the task should retry

    def lines(self) -> list[str]:
        return [
            json.dumps({"step": r.step, "episode": r.episode_id, "status": r.status, "step_run_id": r.step_run_id,
                        "counts": r.counts, "error": r.error})
            for r in self.results
        ]


def run_invocation(settings: Settings, inv: Invocation) -> InvocationOutcome:
    """Run ``inv.step`` on each episode (or once on the drama). Raises KeyError for an unknown
    step, ValueError for a missing episode list, ParamsError for bad parameters: usage errors,
    before anything runs."""
    spec = registry.get(inv.step)
    if spec.scope == "episode" and not inv.episodes:
        raise ValueError(f"step {inv.step} runs per episode: give --episode")
    params = dict(inv.params)
    if inv.sources:
        params["sources"] = list(inv.sources)
    step = spec.load()
    resolve_params(step, settings, params)  # fail on a bad --param before any work
    ctx = open_context(settings, inv.drama_id, dag_run_id=inv.dag_run_id, try_number=inv.try_number, params=params)
    ctx.force = inv.force
    targets: list[str | None] = list(inv.episodes) if spec.scope == "episode" else [None]
    if spec.scope == "episode":
        from skyscript.db.models import Episode

        with ctx.db.session() as s:
            for ep in inv.episodes:
                row = s.get(Episode, ep)
                if row is None:
                    ctx.db.dispose()
                    raise ValueError(f"no episode {ep!r} in the lineage database (run ingest first)")
                if row.drama_id != inv.drama_id:
                    ctx.db.dispose()
                    raise ValueError(f"episode {ep!r} belongs to drama {row.drama_id!r}, not {inv.drama_id!r}")
    results: list[StepResult] = []
    failed = False
    try:
        for ep in targets:
            res = run_step(step, ctx, ep)
            results.append(res)
            if res.status == "failed":
                with ctx.db.session() as s:
                    failed |= not lineage.is_quarantined(s, ep)
    finally:
        teardown(step)
        ctx.db.dispose()
    return InvocationOutcome(results, failed)
