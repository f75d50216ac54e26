"""Each step task declares its inputs and outputs for OpenLineage: drama-level datasets in the
``skyscript`` namespace, the same in local and Kubernetes mode."""

from __future__ import annotations

import pytest

pytest.importorskip("airflow.providers.openlineage")

from operators import step_operator  # noqa: E402
from skyscript.orchestration.config import KubernetesSettings, OrchestrationSettings  # noqa: E402
from skyscript.steps import registry  # noqa: E402


@pytest.mark.parametrize("mode", ["local", "kubernetes"])
def test_step_tasks_declare_their_datasets(mode: str) -> None:
    orch = OrchestrationSettings(mode=mode, kubernetes=KubernetesSettings(image_registry="r.example.com/s", image_tag="1"))
    names = {}
    for step in ("scan", "privacy", "keyinfo"):
        op = step_operator(registry.get(step), orch=orch, drama="love-in-shanghai", episodes=["love-in-shanghai--ep01"])
        lineage = op.get_openlineage_facets_on_complete(None)
        assert {d.namespace for d in lineage.inputs + lineage.outputs} == {"skyscript"}
        names[step] = ({d.name for d in lineage.inputs}, {d.name for d in lineage.outputs})
    # the chain a lineage backend draws: scan's frames feed privacy, whose faces feed keyinfo
    assert "love-in-shanghai/private:frames" in names["scan"][1] and "love-in-shanghai/private:frames" in names["privacy"][0]
    assert "love-in-shanghai/faces" in names["privacy"][1] and "love-in-shanghai/faces" in names["keyinfo"][0]
    assert "love-in-shanghai/keyinfo" in names["keyinfo"][1]
