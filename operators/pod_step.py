"""Kubernetes mode: each step task is a pod running the step image with
``skyscript step NAME --drama D --episode E ... --dag-run-id RUN --try-number N``; a task with
several ``targets`` (the crawl's ingest) runs that command for each of them in turn in one pod
(``sh -c``; every target runs, the pod fails if one failed)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk.exceptions import AirflowSkipException

from operators.base import StepFieldsMixin, merge_template_fields
from skyscript.orchestration.labels import label_value


class SkyscriptPodOperator(StepFieldsMixin, KubernetesPodOperator):
    """A step pod whose arguments and labels are completed from the rendered ids."""

    template_fields = merge_template_fields(KubernetesPodOperator.template_fields)

    def __init__(
        self, *, step_name: str, drama: Any = None, episodes: Any = None, sources: Any = None, skip: Any = False,
        targets: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._init_step_fields(step_name, drama, episodes, sources, skip, targets)

    def execute(self, context: Any) -> Any:
        reason = self.skip_reason()
        if reason:
            raise AirflowSkipException(reason)
        return super().execute(context)

    def build_pod_request_obj(self, context: Any | None = None, *, dry_run: bool = False) -> Any:
        invs = self.invocations(context)
        inv = invs[0]
        if len(invs) == 1:
            self.cmds, self.arguments = ["skyscript"], inv.args()
        else:
            script = "status=0\n" + "".join(
                f"skyscript {shlex.join(i.args())} || status=1\n" for i in invs) + "exit $status\n"
            self.cmds, self.arguments = ["sh", "-c"], [script]
        labels = {
            "app.kubernetes.io/name": "skyscript",
            "app.kubernetes.io/component": "step",
            "skyscript.io/drama": label_value(inv.drama) if len(invs) == 1 else "",
            "skyscript.io/dramas": str(len(invs)) if len(invs) > 1 else "",
            "skyscript.io/step": label_value(inv.step),
            "skyscript.io/episode": label_value(inv.episodes[0]) if len(inv.episodes) == 1 else "",
            "skyscript.io/episodes": str(len(inv.episodes)),
            "skyscript.io/run": label_value(inv.dag_run_id),
            "skyscript.io/try": str(inv.try_number),
        }
        if len(inv.episodes) > 1:
            labels["skyscript.io/first-episode"] = label_value(inv.episodes[0])
        self.labels = {**(self.labels or {}), **{k: v for k, v in labels.items() if v}}
        self.annotations = {
            **(self.annotations or {}),
            "skyscript.io/episodes": json.dumps(list(inv.episodes)),
            "skyscript.io/dag-run-id": inv.dag_run_id or "",
        }
        return super().build_pod_request_obj(context, dry_run=dry_run)
