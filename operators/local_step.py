"""Local mode: the step runs on the worker, as a subprocess (default) or in-process, with the
same ``skyscript step`` arguments a pod gets."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from operators.base import STEP_TEMPLATE_FIELDS, StepFieldsMixin
from skyscript.orchestration.commands import summarise
from skyscript.orchestration.local import LocalStepRunner, StepProcessError


class SkyscriptStepOperator(StepFieldsMixin, BaseOperator):
    """Runs one registry step for a drama (and a batch of its episodes) on the worker."""

    template_fields = STEP_TEMPLATE_FIELDS
    ui_color = "#d9ecf2"

    def __init__(
        self,
        *,
        step_name: str,
        drama: Any,
        episodes: Any = None,
        sources: Any = None,
        skip: Any = False,
        runner: str = "subprocess",
        step_timeout_s: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._init_step_fields(step_name, drama, episodes, sources, skip)
        self.runner = runner
        self.step_timeout_s = step_timeout_s
        self._active: LocalStepRunner | None = None

    def execute(self, context: Any) -> dict[str, Any]:
        reason = self.skip_reason()
        if reason:
            raise AirflowSkipException(reason)
        inv = self.invocation(context)
        self.log.info("running skyscript %s", " ".join(inv.args()))
        self._active = LocalStepRunner(self.runner, self.step_timeout_s, on_line=lambda line: self.log.info("%s", line))
        try:
            outcome = self._active.run(inv)
        finally:
            self._active = None
        if not outcome.ok:
            raise StepProcessError(inv, outcome)
        return {"step": inv.step, "drama": inv.drama, "episodes": len(inv.episodes), **summarise(outcome.lines)}

    def on_kill(self) -> None:
        if self._active is not None:
            self._active.terminate()
