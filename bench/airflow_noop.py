"""A step that does nothing, for measuring what orchestration costs around a step
(``bench/bench_airflow.py``). Joins the registry with ``SKYSCRIPT_EXTRA_STEPS=bench.airflow_noop:NoopStep``.

It still goes through the whole runner: the drama and step leases, the step_run row, the resume
digest. Only the step's own work is missing.
"""

from __future__ import annotations

from pydantic import BaseModel

from skyscript.steps.base import Step, StepOutput


class NoopStep(Step[BaseModel]):
    name = "noop"
    version = "1"
    reads = ("episode",)
    description = "does nothing (orchestration benchmark)"

    def run(self, view: object, params: BaseModel) -> StepOutput:  # type: ignore[override]
        return StepOutput(counts={"done": 1})
