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
    """Runs one registry step for a drama (and a batch of its episodes) on the worker, or for each
    of its ``targets`` in turn (every target runs; the task fails after them if one failed)."""

    template_fields = STEP_TEMPLATE_FIELDS
    ui_color = "#d9ecf2"

    def __init__(
        self,
        *,
        step_name: str,
        drama: Any = None,
        episodes: Any = None,
        sources: Any = None,
        skip: Any = False,
        targets: Any = None,
        runner: str = "subprocess",
        step_timeout_s: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._init_step_fields(step_name, drama, episodes, sources, skip, targets)
        self.runner = runner
        self.step_timeout_s = step_timeout_s
        self._active: LocalStepRunner | None = None

    def execute(self, context: Any) -> dict[str, Any]:
        reason = self.skip_reason()
        if reason:
            raise AirflowSkipException(reason)
        invs = self.invocations(context)
        lines, failed = [], []
        for inv in invs:
            self.log.info("running skyscript %s", " ".join(inv.args()))
            self._active = LocalStepRunner(self.runner, self.step_timeout_s, on_line=lambda line: self.log.info("%s", line))
            try:
                outcome = self._active.run(inv)
            finally:
                self._active = None
            lines += outcome.lines
            if not outcome.ok:
                failed.append(StepProcessError(inv, outcome))
        if len(failed) == 1:
            raise failed[0]
        if failed:
            raise StepTargetsError(failed, len(invs))
        if len(invs) == 1:
            return {"step": invs[0].step, "drama": invs[0].drama, "episodes": len(invs[0].episodes), **summarise(lines)}
        return {"step": invs[0].step, "dramas": len(invs), **summarise(lines)}

    def on_kill(self) -> None:
        if self._active is not None:
            self._active.terminate()


class StepTargetsError(RuntimeError):
    """Several targets of one task failed: one line each."""

    def __init__(self, failed: list[StepProcessError], total: int) -> None:
        super().__init__(f"{len(failed)} of {total} targets failed: " + " | ".join(str(e) for e in failed))
