"""Every DAG file imports cleanly, fast, without cycles, and touches no database, network or
heavy library while being parsed; the DAG processor's DagBag sees no import errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from skyscript.steps import registry

ROOT = Path(__file__).resolve().parents[3]
DAGS = ROOT / "dags"
DAG_FILES = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))
PROBE = Path(__file__).with_name("parse_probe.py")


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SKYSCRIPT_"))}
    env.update({
        "AIRFLOW_HOME": str(tmp / "airflow"), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "SKYSCRIPT_HOME": str(tmp / "home"),
        # a lineage database that cannot exist: parsing must not need it
        "SKYSCRIPT_DATABASE_URL": "postgresql+psycopg://nobody@203.0.113.1:5432/none",
        "PYTHONPATH": str(ROOT),
    })
    env.update(extra)
    return env


def _probe(path: Path, tmp: Path, **extra: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(PROBE), str(path)], env=_env(tmp, **extra), capture_output=True,
                          text=True, timeout=120, cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_there_are_dag_files() -> None:
    assert [p.name for p in DAG_FILES] == ["skyscript_calibration.py", "skyscript_crawl.py", "skyscript_drama.py"]


@pytest.mark.parametrize("mode", ["local", "kubernetes"])
@pytest.mark.parametrize("path", DAG_FILES, ids=[p.stem for p in DAG_FILES])
def test_dag_file_parses_fast_and_touches_nothing(path: Path, mode: str, tmp_path: Path) -> None:
    out = _probe(path, tmp_path, SKYSCRIPT_ORCH_MODE=mode)
    assert out["touched"] == []
    assert out["cycles"] == []
    heavy = set(out["heavy"])
    if mode == "kubernetes":
        heavy.discard("kubernetes")  # the pod operator needs the Kubernetes client models
    assert heavy == set(), f"heavy imports while parsing: {sorted(heavy)}"
    assert out["seconds"] < 5.0  # generous: about 0.1-0.3 s here after Airflow itself is loaded
    (dag_id,) = out["dags"]
    assert dag_id == path.stem
    assert out["doc_md"][dag_id]
    assert all(desc for desc in out["params"][dag_id].values()), out["params"][dag_id]
    retries, backoff = out["retries"][dag_id]
    assert retries >= 1 and backoff > 0
    step_type = "SkyscriptPodOperator" if mode == "kubernetes" else "SkyscriptStepOperator"
    assert step_type in out["task_types"][dag_id]


def test_drama_dag_runs_every_registry_episode_step_in_order(tmp_path: Path) -> None:
    out = _probe(DAGS / "skyscript_drama.py", tmp_path)
    tasks = out["dags"]["skyscript_drama"]
    expected = [f"episodes.{s.name}" for s in registry.episode_steps()]
    assert sorted(t for t in tasks if t.startswith("episodes.")) == sorted(expected)
    assert {"ingest", "plan_batches", "loss_gate"} <= set(tasks)
    assert set(out["params"]["skyscript_drama"]) == {"drama", "sources", "skip_ingest", "force", "steps", "batch_size", "max_loss_rate"}


def test_episode_steps_follow_the_graph_and_drama_steps_run_after_them(tmp_path: Path) -> None:
    """With an extra episode step and an extra drama step (SKYSCRIPT_EXTRA_STEPS, the one line a
    new step needs), the DAG wires them from the registry's graph."""
    examples = "example_steps:BrightnessStep,example_steps:DramaBrightnessStep"
    out = _probe(DAGS / "skyscript_drama.py", tmp_path, SKYSCRIPT_EXTRA_STEPS=examples,
                 PYTHONPATH=f"{ROOT}:{ROOT / 'tests' / 'unit' / 'steps'}")
    up = {t: [u for u in ups if u != "plan_batches"] for t, ups in out["upstream"]["skyscript_drama"].items()}
    assert up["episodes.privacy"] == ["episodes.scan", "episodes.text"]
    assert up["episodes.shot_size"] == ["episodes.privacy", "episodes.scan"]
    assert up["episodes.keyinfo"] == ["episodes.privacy", "episodes.scan"]  # beside shot size, not after it
    assert up["episodes.brightness"] == ["episodes.scan"]
    leaves = {t for t in up if t.startswith("episodes.") and not any(t in u for u in up.values())}
    assert set(up["drama_brightness"]) >= leaves and "episodes.brightness" in up["drama_brightness"]
    assert "drama_brightness" in up["loss_gate"]


def test_dagbag_has_no_import_errors(tmp_path: Path) -> None:
    code = (
        "import json; from airflow.dag_processing.dagbag import DagBag; "
        f"b = DagBag(dag_folder={str(DAGS)!r}); "
        "print(json.dumps({'errors': {k: str(v) for k, v in b.import_errors.items()}, 'dags': sorted(b.dag_ids)}))"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"errors": {}, "dags": ["skyscript_calibration", "skyscript_crawl", "skyscript_drama"]}


PLAN_PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("skyscript_drama_dag", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
dag = module.dag
group = dag.task_group_dict["episodes"]
mapped_over = {k: v.operator.task_id for k, v in group._expand_input.value.items()}
batches = dag.get_task("plan_batches").python_callable(params={"drama": sys.argv[2], "batch_size": int(sys.argv[3])})
print(json.dumps({"mapped_over": mapped_over, "batches": batches}))
"""


@pytest.mark.parametrize(("episodes", "batch_size", "expected"), [(1_000, 50, 20), (10_000, 50, 200), (10_000, 1, 250)])
def test_drama_dag_maps_long_dramas_over_a_bounded_number_of_batches(tmp_path: Path, episodes: int, batch_size: int,
                                                                     expected: int) -> None:
    """The DAG's own plan_batches task, on 1,000 and 10,000 registered episodes: the episode group
    is mapped over its batches, at most 256 of them, every episode in exactly one."""
    from skyscript.config import Settings
    from skyscript.db import lineage
    from skyscript.db.engine import Database
    from skyscript.db.models import Episode

    drama = "long-drama"
    eps = [f"{drama}--ep{i:05d}" for i in range(episodes)]
    db = Database(Settings(home=tmp_path / "home").database_url or "")
    db.upgrade()
    with db.session() as s:
        lineage.ensure_drama(s, drama)
        lineage.upsert(s, Episode, [{"id": e, "drama_id": drama, "source_uri": f"/v/{e}", "source_name": e,
                                     "status": "pending"} for e in eps], ["id"])
    db.dispose()
    env = _env(tmp_path)
    env.pop("SKYSCRIPT_DATABASE_URL")  # the lineage database made above, under SKYSCRIPT_HOME
    proc = subprocess.run([sys.executable, "-c", PLAN_PROBE, str(DAGS / "skyscript_drama.py"), drama, str(batch_size)],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["mapped_over"] == {"episodes": "plan_batches"}
    batches = out["batches"]
    assert len(batches) == expected <= 256
    assert [e for b in batches for e in b] == eps
    assert max(len(b) for b in batches) == max(batch_size, -(-episodes // 256))


def test_drama_dag_claims_the_drama_first_and_gives_it_back_last(tmp_path: Path) -> None:
    out = _probe(DAGS / "skyscript_drama.py", tmp_path, SKYSCRIPT_ORCH_DRAMA_WAIT_S="120", SKYSCRIPT_ORCH_MAX_ACTIVE_RUNS="5")
    up = out["upstream"]["skyscript_drama"]
    assert up["claim_drama"] == []
    assert up["ingest"] == ["claim_drama"]
    assert "claim_drama" in up["loss_gate"]
    roots = [t for t, ups in up.items() if not ups]
    assert roots == ["claim_drama"]  # nothing runs before the drama is this run's
    claim = out["claim"]
    assert claim == {"mode": "reschedule", "retries": 0, "queue": "light", "timeout": 120 + 3 * 60.0, "max_active_runs": 5}


def test_crawl_dag_ingests_through_a_planned_bounded_number_of_tasks(tmp_path: Path) -> None:
    out = _probe(DAGS / "skyscript_crawl.py", tmp_path)
    up = out["upstream"]["skyscript_crawl"]
    assert up["plan_ingest"] == ["scan_sources"]
    assert up["ingest"] == ["plan_ingest"]
    assert up["select_dramas"] == ["ingest", "scan_sources"]
