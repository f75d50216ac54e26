"""Airflow operators for SkyScript steps.

:func:`step_operator` turns a registry :class:`~skyscript.steps.registry.StepSpec` into a task:
a GPU-pinned (or GPU-avoiding) ``KubernetesPodOperator`` in Kubernetes mode, a local step
operator (subprocess or in-process) otherwise. Either way the task runs
``skyscript step NAME --drama D --episode E ... --dag-run-id RUN --try-number N``.
"""

from operators.step_operator import pod_kwargs, step_operator, step_operator_class

__all__ = ["pod_kwargs", "step_operator", "step_operator_class"]
